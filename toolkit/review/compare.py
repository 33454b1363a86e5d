"""Two runs of the same samples side by side: honest counts, a word diff, and A/B picks.

A row is *changed* when its output, its raw answer or its status differs between the runs, so
two runs that both failed, with different raw answers, count as changed (they are what a prompt
edit changed). The reviewer picks A better / B better / tie per row (a/b/t keys); picks go to
`<folder>/picks.json` (labels.py) and `export.preference_pairs` turns them into DPO data.

The frames hold each row's prompt *version* (`<step>.prompt_version`), not the rendered
messages, so the "prompt" section shows the two versions, and, once the widget is given the two
prompts (`set_prompts`), the word diff of the two rendered prompts for the shown row.

But: rows are matched by sample id; rows only one run has are counted in the summary, not shown.
"""

import numpy as np
import pandas as pd

from ..prompts import Prompt, load_prompt
from .diff import cell_text, segments
from .labels import (
    PICKS,
    find_pick,
    folder_of,
    load,
    output_hash,
    sample_ids,
    save,
    set_pick,
)
from .viewer import last_step, need_column, step_fields, text_panes
from .widget import Review

SHOW = ("all", "changed", "unchanged", "newly ok", "newly failed", "failed in both", "picked", "unpicked")
KEYS = {"A": "a", "B": "b", "tie": "t", "unpicked": "u"}
HELP = ("keys (click the comparison first): \u2190/\u2192 or j/k previous/next \u00B7 a A better \u00B7 "
        "b B better \u00B7 t tie \u00B7 u unpicked (each picks and goes on) \u00B7 / search")


def compare(df_a, df_b, column=None, *, left="text", step=None, id=None, folder=None):
    """The same samples from two runs: output `column` of each, diffed, the raw text above.

    Rows are matched by sample id (see `show`). `.counts` has how many shared rows changed
    (output, raw answer or status differs), are unchanged, newly ok, newly failed and failed in
    both. Picks are stored in `folder` (default: the run folder of df_b, else of df_a).
    """
    folder = folder_of(df_b, folder) or folder_of(df_a, None)
    return Comparison(df_a, df_b, column or last_step(df_b), left=left, step=step, id=id, folder=folder)


def match(df_a, df_b, id=None):
    """Positions of the shared samples in each frame and their ids: (ia, ib, ids)."""
    ids_a, ids_b = sample_ids(df_a, id), sample_ids(df_b, id)
    if not ids_b.is_unique:
        raise ValueError("sample ids of df_b are not unique: pass id=")
    in_b = pd.Index(ids_b).get_indexer(ids_a)
    ia = np.flatnonzero(in_b >= 0)
    return ia, in_b[ia], ids_a.to_numpy(dtype=object)[ia]


def picks(df_a, df_b, column=None, *, id=None, folder=None):
    """A copy of df_b with a `pick` column: "A", "B" or "tie" where a pick was stored for this
    exact pair of outputs, "" elsewhere (rows not in df_a, not picked, or whose outputs changed)."""
    column = column or last_step(df_b)
    folder = folder_of(df_b, folder) or folder_of(df_a, None)
    if folder is None:
        raise ValueError("picks: the frames do not say which run folder they came from; pass folder=")
    saved, out = load(folder, "picks.json"), df_b.copy()
    ia, ib, ids = match(df_a, df_b, id)
    found = np.full(len(df_b), "", dtype=object)
    for k in np.flatnonzero(pd.Series(ids, dtype=object).isin(saved.keys()).to_numpy(dtype=bool)):
        ha, hb = output_hash(df_a[column].iat[ia[k]]), output_hash(df_b[column].iat[ib[k]])
        found[ib[k]] = find_pick(saved, ids[k], ha, hb) or ""
    out["pick"] = found
    return out


def _texts(df, name, at):
    """Pane text of column `name` at positions `at` ("" for every row when there is no column)."""
    if name not in df:
        return np.full(len(at), "", dtype=object)
    values = pd.Series(df[name].to_numpy()[at], dtype=object)
    return values.map(cell_text).to_numpy(dtype=object)


class Comparison(Review):
    """See `compare()`. Python API: next/prev/go/jump/pick/set_filter/set_prompts, `.counts`,
    `counter`, `progress`, `sample`."""

    def __init__(self, df_a, df_b, on, *, left="text", step=None, id=None, folder=None):
        super().__init__()
        self._a, self._b, self._on = df_a, df_b, need_column(df_a, on)
        self._left, self._step, self._folder = need_column(df_a, left), step or on, folder
        need_column(df_b, on)
        self._ia, self._ib, ids = match(df_a, df_b, id)
        self._out = [_texts(df_a, on, self._ia), _texts(df_b, on, self._ib)]
        raw = [_texts(df_a, f"{self._step}.raw", self._ia), _texts(df_b, f"{self._step}.raw", self._ib)]
        self._st = [_texts(df_a, f"{self._step}.status", self._ia), _texts(df_b, f"{self._step}.status", self._ib)]
        changed = (self._out[0] != self._out[1]) | (raw[0] != raw[1]) | (self._st[0] != self._st[1])
        a_ok, b_ok = self._st[0] == "ok", self._st[1] == "ok"
        a_failed, b_failed = self._st[0] == "failed", self._st[1] == "failed"
        self._masks = {"changed": changed, "unchanged": ~changed, "newly ok": b_ok & ~a_ok,
                       "newly failed": b_failed & ~a_failed, "failed in both": a_failed & b_failed}
        self.counts = {name.replace(" ", "_"): int(mask.sum()) for name, mask in self._masks.items()}
        self.counts["failed_both"] = self.counts.pop("failed_in_both")
        self._saved = load(folder, "picks.json") if folder is not None else None
        self._hashes, self._prompts = {}, None
        self._picked = sum(1 for k in np.flatnonzero(pd.Series(ids, dtype=object).isin(
            (self._saved or {}).keys()).to_numpy(dtype=bool)) if self._pick_of(k, ids[k]))
        self._show, self._search = "all", ""
        only_a, only_b = len(df_a) - len(ids), len(df_b) - len(ids)
        c = self.counts
        self._summary = (f"{len(ids):,} shared rows: {c['changed']:,} changed, {c['unchanged']:,} unchanged, "
                         f"{c['newly_ok']:,} newly ok, {c['newly_failed']:,} newly failed, "
                         f"{c['failed_both']:,} failed in both"
                         + (f" \u00B7 {only_a:,} rows only in A, {only_b:,} only in B" if only_a or only_b else ""))
        self._start(ids, len(ids))
        self._apply_filters()

    def _pair_hash(self, k):
        if k not in self._hashes:
            self._hashes[k] = (output_hash(self._out[0][k]), output_hash(self._out[1][k]))
        return self._hashes[k]

    def _pick_of(self, k, sid=None):
        if not self._saved or (sid or self._ids[k]) not in self._saved:
            return None
        return find_pick(self._saved, sid or self._ids[k], *self._pair_hash(k))

    # -- filters ------------------------------------------------------------------------------
    def set_filter(self, show="all", search=None):
        """Walk all shared rows or one kind (see SHOW), optionally only those whose text or either
        output contains `search` (case-insensitive). The shown row stays when it still matches."""
        if show not in SHOW:
            raise ValueError(f"show must be one of {SHOW}, not {show!r}")
        if show in ("picked", "unpicked") and self._saved is None:
            raise ValueError("picks are off: pass folder=<run folder> to compare()")
        self._show, self._search = show, search or ""
        self._apply_filters()

    def _filter_values(self):
        return {"show": self._show, "search": self._search}

    def _apply_filters(self):
        n = len(self._ids)
        if self._show in self._masks:
            mask = self._masks[self._show].copy()
        elif self._show in ("picked", "unpicked"):
            mask = np.array([self._pick_of(k) is not None for k in range(n)], dtype=bool)
            mask = mask if self._show == "picked" else ~mask
        else:
            mask = np.ones(n, dtype=bool)
        if self._search:
            hit = _texts(self._a, self._left, self._ia)
            texts = [pd.Series(t, dtype=object) for t in (hit, *self._out)]
            mask &= np.logical_or.reduce([t.str.contains(self._search, case=False, regex=False)
                                          .to_numpy(dtype=bool) for t in texts])
        self._set_rows(np.flatnonzero(mask))

    # -- picks --------------------------------------------------------------------------------
    def pick(self, value, advance=False):
        """Record A better / B better / tie for the shown row ("unpicked" removes it); saved at
        once to picks.json. With advance=True the next row is shown (what a/b/t/u do)."""
        if self._saved is None:
            raise ValueError("picks are off: pass folder=<run folder> to compare()")
        if value not in (*PICKS, "unpicked"):
            raise ValueError(f"pick must be one of {(*PICKS, 'unpicked')}, not {value!r}")
        if not len(self._rows):
            raise IndexError("no row is shown (the filters match nothing)")
        k = self._rows[self._pos]
        was = self._pick_of(k) is not None
        set_pick(self._saved, self._ids[k], *self._pair_hash(k), None if value == "unpicked" else value)
        save(self._folder, "picks.json", self._saved)
        self._picked += (value != "unpicked") - was
        message = f"saved {value} for {self._ids[k]}"
        if advance:
            return self._advance(message)
        self._message = message
        self._update()

    def _mark(self, value, advance):
        self.pick(value, advance=advance)

    def _note(self, text):
        pass  # compare has no notes; the front-end hides the box

    def set_prompts(self, prompt_a, prompt_b):
        """The prompts (Prompt objects or file paths) runs A and B used: the "prompt" section
        then diffs the two rendered prompts of the shown row."""
        self._prompts = [p if isinstance(p, Prompt) else load_prompt(p) for p in (prompt_a, prompt_b)]
        self._update()

    # -- what the page shows ------------------------------------------------------------------
    @property
    def sample(self):
        return self.view.get("sample")

    def _controls(self):
        picks_on = self._saved is not None
        shows = [s for s in SHOW if picks_on or s not in ("picked", "unpicked")]
        return {"filters": [["show", [[s, f"show: {s}"] for s in shows], self._show]],
                "search": self._search, "summary": self._summary, "note": None,
                "marks": [[v, KEYS[v]] for v in (*PICKS, "unpicked")] if picks_on else [],
                "progress": f"{self._picked:,} of {self._total:,} picked" if picks_on else "picks off: pass folder=",
                "help": HELP}

    def _list_entry(self, k):
        return [self._st[1][k] or "none", (self._pick_of(k) or "") if self._saved else ""]

    def _sample(self, k):
        a, b = self._a.iloc[self._ia[k]], self._b.iloc[self._ib[k]]
        fa, notice_a = step_fields(a, self._step)
        fb, notice_b = step_fields(b, self._step)
        head = [["id", str(self._ids[k])]] + [[c, cell_text(a[c])] for c in ("source",) if c in a]
        what = [n for n, x, y in (("output", *self._out), ("status", *self._st)) if x[k] != y[k]]
        head.append(["changed", ", ".join(what) if what else ("raw answer" if self._masks["changed"][k] else "no")])
        head += [[f"A {name}", value] for name, value in fa] + [[f"B {name}", value] for name, value in fb]
        texts, titles, notes = [], [], []
        for side, row, notice in (("A", a, notice_a), ("B", b, notice_b)):
            out = cell_text(row[self._on])
            raw = cell_text(row.get(f"{self._step}.raw"))
            # failed rows are diffed too: their raw answers, so a near-copy shows as one
            use_raw = not out and raw
            texts.append(raw if use_raw else out)
            titles.append(f"{side}: {self._step}.raw" if use_raw else f"{side}: {self._on}")
            notes.append(" \u00B7 ".join(filter(None, [notice and notice[1], "no parsed output; the raw answer:"
                                                       if use_raw else ("" if out else "no output")])) or None)
        panes = text_panes(texts[0], texts[1], titles, True)
        for p, note in zip(panes, notes):
            p["note"] = " \u00B7 ".join(filter(None, [note, p["note"]])) or None
        return {"id": str(self._ids[k]), "head": head, "notice": None, "panes": panes,
                "top": [{"title": self._left, "segments": [["=", cell_text(a[self._left])]], "note": None}],
                "sections": [self._prompt_section(a, b)] if self._has_prompts() else [],
                "mark": self._pick_of(k) or "unpicked"}

    def _has_prompts(self):
        version = f"{self._step}.prompt_version"
        return self._prompts is not None or version in self._a or version in self._b

    def _prompt_section(self, a, b):
        versions = [cell_text(r.get(f"{self._step}.prompt_version")) or "(not recorded)" for r in (a, b)]
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
