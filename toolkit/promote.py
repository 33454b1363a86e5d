"""Promote a reviewed row to a few-shot example of its step's prompt: the loop's cheapest fix.

    tk.promote(out, ["c3"], prompt_file)   # c3's input and answer: a user/assistant turn pair

The user turn is the row's input exactly as the step rendered it (the prompt's template filled from
the row), the assistant turn its answer: your correction where one stands (tk.correct), else the
output as the viewer shows it. The pair goes into the step's draft (tk.draft's working copy, never
a file under prompts/) just before the final user template turn. The draft's version changes, so
the next run sends every row again with the example, and tk.compare(before, after) shows what it
did. Each promotion is a decision in the review store: the row is left out of that comparison's
results and of a judge's agreement (decisions/examples.py), which it would otherwise grade.

The rest of the file stays byte for byte: its comments, quoting and blank lines. The new turns are
emitted by ruamel.yaml in round-trip mode (a multi-line text becomes a literal block, any text is
quoted as YAML needs) and written in at the line where the template turn starts, found from
libyaml's node marks: a full ruamel round trip of a 200-turn draft costs about as much as our 50 ms
budget by itself, and re-emits lines the user laid out. A layout where that line cannot be found
(a flow-style list, a dash alone on its line) goes through ruamel's full round trip instead, which
keeps comments too. Either way the result is read back and must hold exactly the old messages plus
the new pairs, or nothing is written.

But: few-shot turns are sent as written (prompts.py formats only the template), so braces in an
example are text and are kept as they are, never doubled. A step whose parser reads part of a
longer answer (a regex) gets the output as the example's answer, not the whole answer it parsed.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import yaml

from . import drafts, frame
from .decisions import corrections
from .decisions.store import Store
from .frame import blank, last_step, need_folder, sample_ids, steps_in
from .outputs import cell_text, output_hash
from .prompts import LOADER, PromptError, load_prompt


def promote(df, ids, draft, *, column=None, id=None, constants=None) -> dict:
    """Write the rows `ids` (sample ids) of `df` into prompt draft `draft` as few-shot turn pairs,
    before its template, in the order given; record each as a promoted example. Returns what was
    done: the draft, its version before → after, the ids added and those already in it.

    `column`: the step whose prompt the draft is (default: the frame's last step); `id`: the
    sample-id column (see tk.labels); `constants`: the keywords the step's run() was given, if its
    template uses them. A row without an answer (failed or skipped, not corrected), an id not in
    the frame, a file that is not a draft, and a row the draft's template did not render (the draft
    was edited since, or belongs to another step) are errors that say what to do."""
    draft = Path(draft)
    prompt = _draft(draft)
    name = column or last_step(df)
    status, version = frame.column(name, "status"), frame.column(name, "prompt_version")
    if status not in df or name not in df:
        raise ValueError(f"promote: {name!r} is not a step's output column (no {status}); pass column= naming "
                         f"the step whose prompt {draft.name} is (steps here: {steps_in(df)})")
    wanted = list(dict.fromkeys([str(ids)] if isinstance(ids, (str, int)) else [str(i) for i in ids]))
    every = sample_ids(df, id).to_numpy(dtype=object)
    at = {sid: k for k, sid in reversed(list(enumerate(every)))}
    absent = [i for i in wanted if i not in at]
    if absent:
        raise KeyError(f"promote: no sample {', '.join(map(repr, absent[:5]))} in the frame (its ids are like "
                       f"{list(every[:3])}); pass id= naming the sample-id column if another column holds them")
    same = drafts.same_template(draft, prompt.version)
    with Store(need_folder(df, None, "promote")) as store:
        yours, _ = corrections.standing(df, name, store.corrections().get(name, {}), every)
        turns, items = [], []
        for sid in wanted:
            row = df.iloc[at[sid]]
            answer = yours[at[sid]] if yours[at[sid]] is not None else _output(row, name, status, sid)
            if row.get(version) not in same:
                raise ValueError(f"promote: row {sid!r} was made by version {row.get(version)} of its prompt, and "
                                 f"{draft} is version {prompt.version}, edited since (or another step's prompt): "
                                 "its input may not be what that version sent. Run the step on the draft again, "
                                 "then promote")
            try:
                user = prompt.render({**row.to_dict(), **(constants or {})})[-1]["content"]
            except PromptError as e:
                raise PromptError(f"promote: row {sid!r}: {e} (for promote: constants={{...}} as run() had them)") \
                    from None
            turns.append((user, answer))
            items.append((sid, output_hash(row[name])))
        had = {(a["content"], b["content"]) for a, b in zip(prompt.messages, prompt.messages[1:])
               if (a["role"], b["role"]) == ("user", "assistant")}
        new = [t for t in dict.fromkeys(turns) if t not in had]
        after = prompt.version
        if new:
            with open(draft, encoding="utf-8", newline="") as f:  # its line ends as they are
                text = with_turns(f.read(), new, draft)
            _write(draft, text, draft.stat().st_mode)
            after = load_prompt(draft).version
            drafts.promoted(draft, prompt.version, after)
        store.example(items, name, draft)
    return {"draft": str(draft), "version": f"{prompt.version} → {after}",
            "examples": [sid for sid, t in zip(wanted, turns) if t in new],
            "already in the draft": [sid for sid, t in zip(wanted, turns) if t not in new]}


def _draft(path: Path):
    """The prompt of draft `path`; an error when it is not a draft or not a prompt file."""
    if drafts.note_of(path) is None:
        raise ValueError(f"promote: {path} is not a prompt draft (tk.draft made no file of that name in "
                         f"{path.parent}). promote writes into a draft, the working copy a step reads, never into "
                         "a prompt under prompts/: make one with tk.draft(<prompt file>, <run folder>), run the "
                         "step on it, then promote")
    try:
        return load_prompt(path)
    except PromptError as e:
        raise PromptError(f"promote: the draft is not a prompt file the toolkit can read: {e}") from None


def _output(row, name, status, sid):
    """The row's output as the viewer shows it, or an error when the step gave none."""
    if row[status] == "ok" and not blank(row[name]):
        return cell_text(row[name])
    error = row.get(frame.column(name, "error"))
    why = "" if blank(error) else f" ({str(error).strip().splitlines()[0]})"
    raise ValueError(f"promote: row {sid!r} has no answer to make an example of: {status} is {row[status]!r}{why}. "
                     f"Correct it first (the viewer's edit key, or tk.correct(df, {sid!r}, text)), or promote "
                     "another row")


def with_turns(raw: str, turns: list[tuple[str, str]], path="the draft") -> str:
    """The prompt file text `raw` with each (user, assistant) pair in `turns` added just before the
    final user template turn, all else as it was (see the module's docstring)."""
    old = yaml.load(raw, Loader=LOADER)
    pairs = [m for user, answer in turns for m in ({"user": user}, {"assistant": answer})]
    want = {**old, "messages": [*old["messages"][:-1], *pairs, old["messages"][-1]]}
    for style in STYLES:  # ruamel writes YAML 1.2, the toolkit reads 1.1: where a plain `no` or `1_000`
        for attempt in (_splice, _round_trip):  # would read back as another value, quote
            text = attempt(raw, pairs, style)
            if text is not None and _reads(text) == want:
                return text
    raise PromptError(f"{path}: the example could not be written in without changing the rest of the file; add "
                      f"these turns by hand just before the last user turn:\n{_emit(pairs, STYLES[-1])}")


def _splice(raw, pairs, style):
    """`raw` with the new turns written in at the line of the template turn's dash (and above the
    comment lines right over it, which belong to it); None when that line is not plain to find."""
    root = yaml.compose(raw, Loader=LOADER)
    seq = next((v for k, v in root.value if k.value == "messages"), None)
    if not isinstance(seq, yaml.SequenceNode) or seq.flow_style:
        return None
    lines = raw.splitlines(keepends=True)
    last, dash = seq.value[-1], seq.start_mark.column
    found = re.match(r"( *)- +", lines[last.start_mark.line])
    if not found or len(found[1]) != dash or found.end() != last.start_mark.column:
        return None
    at = last.start_mark.line
    while at > 0 and re.match(rf" {{{dash}}}#", lines[at - 1]):
        at -= 1
    chunk = "".join(" " * dash + line if line.strip() else line for line in _emit(pairs, style).splitlines(True))
    return "".join(lines[:at]) + chunk.replace("\n", "\r\n" if "\r\n" in raw else "\n") + "".join(lines[at:])


def _round_trip(raw, pairs, style):
    """`raw` loaded and dumped by ruamel.yaml's round-trip mode with the new turns inserted."""
    from ruamel.yaml.util import load_yaml_guess_indent

    try:
        _, indent, offset = load_yaml_guess_indent(raw)
    except Exception:  # its guess fails on some valid layouts (a dash alone on its line): take the defaults
        indent, offset = 2, 0
    data = _yaml(2, 2, 0).load(raw)
    messages = data["messages"]
    for pair in pairs:
        messages.insert(len(messages) - 1, {role: _scalar(text, style) for role, text in pair.items()})
    out = io.StringIO()
    _yaml(indent or 2, indent or 2, offset or 0).dump(data, out)  # as ruamel's docs pair guess and indent
    return out.getvalue()


def _emit(pairs, style) -> str:
    """The turns as a block sequence at column 0, by ruamel.yaml's round-trip emitter."""
    out = io.StringIO()
    _yaml(2, 2, 0).dump([{role: _scalar(text, style) for role, text in pair.items()} for pair in pairs], out)
    return out.getvalue()


def _yaml(mapping, sequence, offset):
    from ruamel.yaml import YAML  # imported when a draft is written, not with the toolkit

    y = YAML(typ="rt")
    y.indent(mapping=mapping, sequence=sequence, offset=offset)
    y.width = 1 << 30  # never fold a line: a prompt's lines are the user's
    return y


# how each text is written, tried in turn: a literal block for several lines (else as ruamel
# chooses), then double quotes for one line, then double quotes for every text
STYLES = ("literal", "quoted lines", "quoted")
BREAKS = "\r\x85\u2028\u2029"  # line breaks a literal block would turn into "\n"


def _scalar(text, style):
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

    if style != "quoted" and "\n" in text and not any(c in text for c in BREAKS):
        return LiteralScalarString(text)
    return text if style == "literal" else DoubleQuotedScalarString(text)


def _reads(text):
    try:
        return yaml.load(text, Loader=LOADER)
    except yaml.YAMLError:
        return None


def _write(path: Path, text: str, mode: int) -> None:
    """Replace the draft whole (temp file, rename) and keep its permissions."""
    tmp = path.with_name(f".{path.name}.promote.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
