"""One sample through every step that made it: what each step sent, what came back, what was said.

    tk.trace(out, "c3/1")          # in a notebook: each step in order, escaped HTML (text repr too)
    steps(out, "c3/1")             # the same as plain data (a list of dicts), for a viewer to show

The frame says which steps ran (`<step>.status` columns, in the order they ran) and, per row, where
the last answer of each step is in the run folder's cache (`<step>.call`). After a step that made
several rows of one (a list answer, candidates) a row still carries its parent's columns, so its
trace goes back through the call that made the parent. Everything else is read from the cache as
it was stored: the messages exactly as they were sent (not rendered again from a prompt file that
may have changed since), each attempt's answer and reasoning, its tokens and seconds, and the
feedback a refused answer got (the next request holds it, so one stored call gives the whole
exchange). What the parser and validator said is that feedback's problem, and for the last answer
the row's status and error.

But: only what the cache holds. A call that failed without an answer was never stored (its
error is in the row), a cache in mode "off" stores nothing, and a frame made before steps
recorded `<step>.call` says "not recorded" for those steps.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from .frame import column, folder_of, missing, sample_ids, steps_in
from .llm.cache import CANDIDATE, call_key, marked, reading, unmarked
from .outputs import cell_text
from .parsing import FEEDBACK

_BEFORE, _AFTER = FEEDBACK.split("{problem}")
_FEEDBACK = re.compile(re.escape(_BEFORE) + r"(?P<problem>.*)" + re.escape(_AFTER) + r"\Z", re.DOTALL)
EMPTY_TURN = "(no answer)"  # what steps.py sends back for an empty answer
SHORT = 400  # characters of a message the text repr shows


def steps(df, sample, *, id=None, folder=None) -> list[dict]:
    """Sample `sample`'s way through the steps of `df`, as plain data: one dict per step, in order —
    {"step", "status", "error", "prompt_version", "item", "candidate", "output", "model", "params",
    "messages" (the first request, as sent), "attempts": [{"answer", "reasoning", "finish_reason",
    "prompt_tokens", "completion_tokens", "seconds", "problem" (what the parser or validator said;
    None when it passed), "feedback" (the message sent back; None on the last)}], "note" (what is
    missing, or None)}. `id` names the id column (default: chunk_id, else the index: frame.sample_ids)."""
    ids = sample_ids(df, id)
    found = (ids == str(sample)).to_numpy().nonzero()[0]
    if not len(found):
        raise KeyError(f"trace: no sample {sample!r} in the frame; its ids look like {list(ids[:5])}"
                       + ("" if id else ". Pass id= naming the id column if the frame has another"))
    row = df.iloc[found[0]]
    where = folder_of(df, folder)
    cache = reading(Path(where) / "cache.sqlite") if where is not None else None
    return [_step(row, name, cache, where) for name in steps_in(df)]


def trace(df, sample, *, id=None, folder=None) -> Trace:
    """Sample `sample` (its id as the viewer shows it) through every step of `df`, in order: the
    messages each step sent, each attempt's answer and reasoning, what the parser and validator
    said and the feedback sent, tokens and seconds. Shown as HTML in a notebook (every model text
    escaped); it is a list of one dict per step (see `steps`)."""
    return Trace(steps(df, sample, id=id, folder=folder), str(sample))


def _step(row, name: str, cache, folder) -> dict:
    def get(field):
        value = row.get(column(name, field))
        return None if missing(value) else value.item() if hasattr(value, "item") else value

    output = row.get(name) if name in row.index else row.get(column(name, "raw"))
    out = {"step": name, "status": get("status"), "error": get("error"), "prompt_version": get("prompt_version"),
           "item": get("item"), "candidate": get("candidate"), "output": None if missing(output) else cell_text(output),
           "model": None, "params": None, "messages": [], "attempts": [], "note": None}
    key = get("call")
    if column(name, "call") not in row.index:
        return {**out, "note": "not recorded: the frame was made before steps recorded their calls; rerun the step"}
    if key is None:
        note = "no call was sent" if out["status"] == "skipped" else "no answer came back to store"
        return {**out, "note": note, "attempts": _failed(out)}
    stored = cache.stored(key) if cache is not None else None
    if stored is None:
        return {**out, "note": f"call {key[:12]}… is not in the cache of {folder} (another folder, or cache='off')"}
    messages, params = stored["messages"], stored["params"]
    base, turns = _split(messages)
    out.update(model=stored["model"], params=unmarked(params), messages=base)
    candidate, model, sent = params.get(CANDIDATE, 0), stored["model"], unmarked(params)
    for i, (answer, feedback) in enumerate(turns):
        text = "" if answer == EMPTY_TURN else answer
        earlier = _stored(cache, model, messages[:len(base) + 2 * i], sent, candidate, text) or {"text": text}
        out["attempts"].append(_attempt(earlier, feedback))
    raw, last = get("raw"), stored["response"]
    if raw is not None and raw != last.get("text"):
        last = _stored(cache, model, messages, sent, candidate, raw)
        out["note"] = ("asked again since: the cache's newest answer to this call is another (rerun the step to "
                       "get it)" if last else "the cache holds another answer to this call than the frame's (the "
                       "same call sent twice in one run): rerun the step to get the one it keeps")
        last = last or {"text": raw}
    out["attempts"].append(_attempt(last, None, out["error"] if out["status"] == "failed" else None))
    if out["status"] == "failed" and len(out["attempts"]) < (get("attempts") or 0):
        out["attempts"] += _failed(out)  # the next call failed without an answer
        out["attempts"][-2]["problem"] = None  # its problem was sent back; the error is the failed call's
    return out


def _split(messages: list[dict]) -> tuple[list[dict], list[tuple[str, str]]]:
    """The first request's messages, and (answer, feedback) for each earlier attempt: the trailing
    pairs of an assistant turn and a user turn in FEEDBACK's words."""
    end, turns = len(messages), []
    while end >= 3 and messages[end - 2].get("role") == "assistant" and messages[end - 1].get("role") == "user" \
            and _FEEDBACK.match(str(messages[end - 1].get("content"))):
        turns.append((messages[end - 2]["content"], messages[end - 1]["content"]))
        end -= 2
    return messages[:end], turns[::-1]


def _stored(cache, model, messages, params, candidate, text) -> dict | None:
    """The stored answer `text` of a call: under its own key, or under an "earlier" one (a re-ask
    replaced it since); None when neither holds it."""
    for earlier in range(0, 1000):
        got = cache.stored(call_key(model, messages, marked(params, candidate, earlier)))
        if got is None and earlier:
            return None
        if got is not None and got["response"].get("text") == text:
            return got["response"]
    return None


def _attempt(response: dict, feedback: str | None, error: str | None = None) -> dict:
    problem = _FEEDBACK.match(feedback)["problem"] if feedback else error
    return {"answer": response.get("text"), "reasoning": response.get("reasoning") or None,
            "finish_reason": response.get("finish_reason"), "prompt_tokens": response.get("prompt_tokens"),
            "completion_tokens": response.get("completion_tokens"), "seconds": response.get("seconds"),
            "problem": problem, "feedback": feedback}


def _failed(out: dict) -> list[dict]:
    """A call that failed before an answer: its error, nothing else."""
    if out["status"] != "failed":
        return []
    return [{"answer": None, "reasoning": None, "finish_reason": None, "prompt_tokens": None,
             "completion_tokens": None, "seconds": None, "problem": out["error"], "feedback": None}]


class Trace(list):
    """`steps()`' list, shown as text (repr) and as escaped HTML in a notebook."""

    def __init__(self, found: list[dict], sample: str):
        super().__init__(found)
        self.sample = sample

    def _parts(self):
        """The trace as (kind, label, text) parts, in reading order; both renderings walk this.
        Kinds: step (label: its number), note, text (a message, an attempt's answer, the output)
        and said (under an attempt: what the parser said, what was sent back, the reasoning)."""
        for n, s in enumerate(self, 1):
            yield "step", n, _headline(s)
            if s["note"]:
                yield "note", None, s["note"]
            for m in s["messages"]:
                yield "text", str(m.get("role")), m.get("content")
            for k, a in enumerate(s["attempts"], 1):
                yield "text", f"attempt {k}{_figures(a)}", "(none)" if a["answer"] is None else a["answer"]
                for field, label in _SAID:
                    if a[field]:
                        yield "said", label, a[field]
            if s["status"] == "ok" and s["output"] is not None:
                yield "text", "output", s["output"]

    def _title(self) -> str:
        return f"{len(self)} step{'s' * (len(self) != 1)}"

    def __repr__(self) -> str:
        form = {"step": "\n{label}. {text}", "note": "   ({text})", "text": "   {label}: {text}",
                "said": "     {label}: {text}"}
        lines = [f"trace of sample {self.sample}: {self._title()}"]
        lines += [form[kind].format(label=label, text=text if kind in ("step", "note") else _short(text))
                  for kind, label, text in self._parts()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        parts = [f"<div><b>trace of sample {e(self.sample)}</b>: {self._title()}"]
        for kind, label, text in self._parts():
            if kind == "step":  # each step is a block: the one before it ends here
                parts.append("</div>" * (label > 1) + f"<div style='margin-top:8px'><b>{label}. {e(text)}</b>")
            elif kind == "note":
                parts.append(f"<div><i>{e(text)}</i></div>")
            elif label == "reasoning":  # long and seldom read: folded
                parts.append(f"<details><summary>reasoning</summary>{_box(text)}</details>")
            else:
                parts.append(f"<div>{e(label)}:</div>{_box(text)}")
        return "".join(parts) + ("</div>" if len(self) else "") + "</div>"


def _box(text) -> str:
    return f"<div style='{_BOX}'>{html.escape(cell_text(text))}</div>"


_SAID = (("reasoning", "reasoning"), ("problem", "problem"), ("feedback", "sent back"))
_BOX = "white-space:pre-wrap;margin:2px 0 6px;padding:4px;background:rgba(127,127,127,.08)"


def _headline(s: dict) -> str:
    where = "".join(f", {k} {s[k]}" for k in ("item", "candidate") if s[k] is not None)
    model = f", {s['model']}" if s["model"] else ""
    error = f": {s['error']}" if s["error"] and s["status"] != "ok" else ""
    return f"{s['step']} (prompt {s['prompt_version']}{model}{where}) — {s['status']}{error}"


def _figures(a: dict) -> str:
    if a["prompt_tokens"] is None:
        return ""
    return f" ({a['prompt_tokens']} + {a['completion_tokens']} tokens, {a['seconds']} s)"


def _short(text) -> str:
    text = cell_text(text).replace("\n", "\n     ")
    return text if len(text) <= SHORT else f"{text[:SHORT]}… ({len(text) - SHORT} more characters)"
