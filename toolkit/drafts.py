"""A draft of a prompt: the working copy in the run folder that a step reads and you edit.

    prompt_file = tk.draft("../prompts/style_clone/generic_v1.yaml", folder, name="generic.yaml")

The files under prompts/ stay as they are; the draft is yours. The toolkit keeps a note of what
it last wrote into each draft (`<folder>/drafts.json`: the source and the hash of the text), so
it can tell your edits from its own copy:

- no draft yet: the source is copied in;
- the draft is as the toolkit wrote it, and the source (or the source named) has changed since:
  it is copied in again, so rerunning a notebook starts from its first draft as it did before;
- you edited the draft: it is kept as it is, whatever the source, and a warning says the source
  differs, so an edit is never overwritten. Delete the draft to start over from the source.

`tk.promote` adds few-shot turns to a draft; the note then also says which versions it made from
which (`promoted`), so a row made by an earlier version with the same template can still be
promoted. To `draft` those turns are your edit, and kept.

But: one file per draft (a prompt that includes other files is not followed), and the note is per
run folder, so a draft copied by hand into another folder counts as edited there.
"""

import hashlib
import json
import warnings
from pathlib import Path

NOTE = "drafts.json"


def draft(source, folder, name=None) -> Path:
    """The path of the draft of prompt file `source` in run folder `folder` (file name `name`,
    default the source's), made or refreshed from the source unless you edited it."""
    source, folder = Path(source), Path(folder)
    if not source.is_file():
        raise FileNotFoundError(f"draft: no prompt file {source}; name a file under prompts/")
    path = folder / (name or source.name)
    folder.mkdir(parents=True, exist_ok=True)
    note_path = folder / NOTE
    notes = json.loads(note_path.read_text(encoding="utf-8")) if note_path.exists() else {}
    text = source.read_text(encoding="utf-8")
    wrote = notes.get(path.name)
    if path.exists():
        now = path.read_text(encoding="utf-8")
        if now == text:
            pass  # already the source's text (also when made by hand): note it below
        elif wrote is None or _hash(now) != wrote["hash"]:
            warnings.warn(f"draft {path} has your edits and differs from {source}: kept as it is "
                          f"(delete it to start over from {source.name})", stacklevel=2)
            return path
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    notes[path.name] = {"source": str(source), "hash": _hash(text)}
    note_path.write_text(json.dumps(notes, indent=1), encoding="utf-8")
    return path


def note_of(path) -> dict | None:
    """What the toolkit noted of draft `path` ({"source", "hash", ...}), or None when `path` is not
    a draft (tk.draft made no file of that name in its folder)."""
    path = Path(path)
    note_path = path.parent / NOTE
    if not note_path.is_file():
        return None
    return json.loads(note_path.read_text(encoding="utf-8")).get(path.name)


def promoted(path, before: str, after: str) -> None:
    """Note that tk.promote turned version `before` of draft `path` into `after` by adding turns
    before its template (so rows of either version were rendered by the same template)."""
    path = Path(path)
    notes = json.loads((path.parent / NOTE).read_text(encoding="utf-8"))
    notes[path.name].setdefault("promoted", {})[after] = before
    (path.parent / NOTE).write_text(json.dumps(notes, indent=1), encoding="utf-8")


def same_template(path, version: str) -> list[str]:
    """`version` of draft `path` and the versions it was made from by tk.promote, newest first:
    those whose rows the draft's template rendered as it renders them now."""
    made = (note_of(path) or {}).get("promoted", {})
    chain = [version]
    while chain[-1] in made and made[chain[-1]] not in chain:
        chain.append(made[chain[-1]])
    return chain


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
