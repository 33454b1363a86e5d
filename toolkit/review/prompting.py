"""The comparison's "prompt" section: the two runs' prompt versions, and once the widget is given
the two prompts (`set_prompts`), the word diff of the prompts rendered for the shown row.

The frames hold each row's prompt *version* (`<step>.prompt_version`), not the rendered messages,
so without the prompts the section can only name the versions. A blind comparison hides the
section (the versions would say which run is which; compare.py leaves it out).
"""

from ..frame import column
from ..outputs import cell_text
from ..prompts import Prompt, load_prompt
from .diff import segments


class Prompting:
    """Mixed into Comparison, which holds `_step`, `_a`, `_b`, `_open` and `_prompts` (None until
    set_prompts)."""

    def set_prompts(self, prompt_a, prompt_b):
        """The prompts (Prompt objects or file paths) runs A and B used: the "prompt" section
        then diffs the two rendered prompts of the shown row."""
        self._prompts = [p if isinstance(p, Prompt) else load_prompt(p) for p in (prompt_a, prompt_b)]
        self._update()

    def _has_prompts(self):
        version = column(self._step, "prompt_version")
        return self._prompts is not None or version in self._a or version in self._b

    def _prompt_section(self, a, b):
        versions = [cell_text(r.get(column(self._step, "prompt_version"))) or "(not recorded)" for r in (a, b)]
        title = f"prompt: A {versions[0]} \u00B7 B {versions[1]}" + (" (same)" if versions[0] == versions[1] else "")
        section = {"name": "prompt", "title": title, "open": "prompt" in self._open}
        if not section["open"]:
            return section
        if self._prompts is None:
            section["text"] = ("The frames record each row's prompt version, not the rendered messages. "
                               "Call .set_prompts(prompt_a, prompt_b) with the two prompts (objects or "
                               "files) to see the rendered prompts of this row diffed.")
            return section
        rendered = []
        for prompt, row in zip(self._prompts, (a, b)):
            try:
                rendered.append("\n\n".join(f"[{m['role']}]\n{m['content']}" for m in prompt.render(row.to_dict())))
            except (ValueError, KeyError, IndexError, AttributeError) as e:  # a placeholder this row lacks
                rendered.append(f"(cannot render: {e})")
        left, right, note = segments(*rendered)
        section["panes"] = [{"title": f"A prompt {versions[0]}", "segments": left, "note": note},
                            {"title": f"B prompt {versions[1]}", "segments": right, "note": note}]
        return section
