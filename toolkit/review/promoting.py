"""Promote the shown row to a few-shot example: the promote key (f) of the viewer and the comparison.

The key calls tk.promote (toolkit/promote.py) on the shown row: its rendered input and its answer
(your correction where one stands) become a user/assistant turn pair in the step's prompt draft,
and the store records the promotion. The draft is the one given (`show(..., draft=)`,
`compare(..., draft=)`), else the run folder's one draft (tk.draft's file) whose template made the
row; with none, the message says how to give one. A promoted row is marked "example" in the sample
list and the header. tk.promote's refusals (a row with no answer, a file that is not a draft, a
placeholder the row cannot fill) are shown on the message line as they are.

But: undo (z) does not take a promotion back (tk.promote records it in its own session, and the
turns are in the draft): take the turns out of the draft by hand, as docs/loop.md says.
"""

from pathlib import Path

from .. import drafts
from ..frame import column, set_folder
from ..promote import promote
from ..prompts import PromptError, load_prompt
from .names import named


def find_draft(folder, version):
    """The draft in run folder `folder` whose template made rows of prompt version `version`, or
    None when there is not exactly one."""
    found = []
    for path in drafts.in_folder(folder):
        try:
            if version in drafts.same_template(path, load_prompt(path).version):
                found.append(path)
        except (PromptError, OSError):
            continue
    return found[0] if len(found) == 1 else None


class Promoting:
    """The promote action and the "example" marks; mixed into Viewer and Comparison, which say
    which frame and output column the shown row is promoted from (`_promoted(k)`)."""

    def _promoted(self, k):
        """(frame, output column, row position in the frame) of item `k`."""
        raise NotImplementedError

    def _update(self):
        self._example_ids = None  # read again once per update: promotions made anywhere show
        super()._update()

    def _is_example(self, k):
        if self._store is None:
            return False
        if self._example_ids is None:
            self._example_ids = set(self._store.examples().get(self._promoted(k)[1], {}))
        return str(self._ids[k]) in self._example_ids

    def _tag(self, k):
        return "example" if self._is_example(k) else ""

    def _example_head(self, k, sample):
        if self._is_example(k):
            sample["head"].append(["example", "promoted to a few-shot example"])

    def _do_promote(self, content):
        if self._store is None:
            raise ValueError("promote is off: pass folder=<run folder>")
        if not len(self._rows):
            raise IndexError("no sample is shown (the filters match nothing)")
        k = self._rows[self._pos]
        df, name, at = self._promoted(k)
        sid = str(self._ids[k])
        draft = self._draft
        if draft is None:
            version = df[column(name, "prompt_version")].iat[at] if column(name, "prompt_version") in df else None
            draft = find_draft(self._store.folder, version)
        if draft is None:
            raise ValueError(f"promote: which prompt draft should {named(sid)} go into? Pass draft=<the step's draft> "
                             f"to {'compare' if self.WHERE == 'compare' else 'show'}() (the file tk.draft made, that "
                             f"the step ran on): none in {self._store.folder} made this row's prompt version")
        one = set_folder(df.iloc[[at]].copy(), self._store.folder)
        done = promote(one, [sid], Path(draft), column=name, id=self._id)
        what = (f"promoted {named(sid)} into {Path(draft).name} as a few-shot example ({done['version']}); "
                "rerun the step to use it" if done["examples"] else
                f"{named(sid)} is already a few-shot example in {Path(draft).name}: nothing written")
        self.go(self._pos, what)
