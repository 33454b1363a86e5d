"""Raw text in: load a file or a folder into a DataFrame with one row per document.

Every bad input ends in a `TextError` naming the file and what to do, or a `TextWarning` naming
the file; nothing is skipped silently. Text is normalised so that offsets computed downstream mean
the same thing everywhere: a byte-order mark is stripped and CRLF or lone CR line ends become LF.
`sha256` is of the raw file bytes, so it changes exactly when the file on disk changes.

But: there is no OCR (a scanned PDF gives no text) and no guessing of encodings beyond a
byte-order mark: a file in another encoding needs `encoding=`.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import os
import warnings
from pathlib import Path, PurePosixPath

import pandas as pd
from bs4 import BeautifulSoup

DEFAULT_PATTERNS = ("*.txt", "*.md", "*.html", "*.htm", "*.jsonl", "*.pdf", "*.docx")
COLUMNS = ["source", "text", "sha256", "chars"]

_BOMS = [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")]
_INVISIBLE = ["head", "script", "style", "noscript", "template"]
_BLOCKS = [
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
    "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
]  # fmt: skip


class TextError(ValueError):
    """A document that cannot be loaded; the message names the file and what to do about it."""


class TextWarning(UserWarning):
    """A document that loaded but has no text, so it will produce no chunks."""


def load_texts(
    path: str | Path,
    patterns: str | list[str] | tuple[str, ...] = DEFAULT_PATTERNS,
    *,
    encoding: str = "utf-8",
    text_field: str = "text",
) -> pd.DataFrame:
    """Read a file, or every file under a folder matching `patterns`, as text.

    Patterns match the end of a file's path relative to the folder: "*.md" finds every Markdown
    file at any depth, "notes/*.md" those in any folder named notes.

    Columns: `source` (POSIX path relative to `path`; for a single file its name; a .jsonl record
    adds `:<line number>`), `text`, `sha256`, `chars`. Rows are in file-path order, .jsonl records
    in line order. Formats: .txt, .md and any other plain text; .html/.htm (visible text, one
    paragraph per block element); .jsonl (one row per line, text from `text_field`); .pdf and .docx
    (paragraph text) with the `pdf` / `docx` extras. Hidden files and folders are not searched.
    A byte-order mark overrides `encoding`.
    """
    root = Path(path)
    if not root.exists():
        raise TextError(
            f"{path}: no such file or folder (resolved to {root.resolve()}; "
            f"relative paths start from the working directory)."
        )
    if root.is_file():
        base, files = root.parent, [root]
    else:
        base, files = root, _find(root, [patterns] if isinstance(patterns, str) else list(patterns))
    rows = []
    for file in files:
        source = file.relative_to(base).as_posix()
        found = _read(file, source, encoding, text_field)
        if not found:
            warnings.warn(f"{source}: no records (only blank lines); it gives no rows.", TextWarning, stacklevel=2)
        rows += found
    for row in rows:
        if not row["text"].strip():
            scanned = row["source"].lower().endswith(".pdf")
            hint = " (a scanned PDF has no text layer: run OCR on it first)" if scanned else ""
            message = f"{row['source']}: no text{hint}; it is kept as a row but gives no chunks."
            warnings.warn(message, TextWarning, stacklevel=2)
    return pd.DataFrame(rows, columns=COLUMNS)


def _find(root: Path, patterns: list[str]) -> list[Path]:
    """The files under `root` matching any pattern, in source order, or a TextError saying what is there."""
    visible = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        relative = PurePosixPath(Path(folder).relative_to(root).as_posix())
        visible += [relative / name for name in names if not name.startswith(".")]
    patterns = [pattern.removeprefix("**/") for pattern in patterns]  # matching is from the right anyway
    found = sorted(str(rel) for rel in visible if any(rel.match(pattern) for pattern in patterns))
    if not found:
        suffixes = sorted({rel.suffix or rel.name for rel in visible})
        holds = f"it holds {', '.join(suffixes[:10])} files" if suffixes else "it has no files"
        raise TextError(
            f"{root}: no files match {patterns}; {holds} (hidden ones are not searched). "
            f"Choose files with patterns=, e.g. patterns=['*.txt']."
        )
    return [root / rel for rel in found]


def _read(file: Path, source: str, encoding: str, text_field: str) -> list[dict]:
    """One file to rows: the format is chosen by suffix, anything unknown is read as plain text."""
    raw, name, suffix = file.read_bytes(), str(file), file.suffix.lower()
    if suffix == ".pdf":
        text = _pdf_text(raw, name)
    elif suffix == ".docx":
        text = _docx_text(raw, name)
    else:
        text = _decode(raw, name, encoding)
        if suffix == ".jsonl":
            return _jsonl_rows(text, source, name, text_field)
        if suffix in (".html", ".htm"):
            text = _html_text(text)
    return [_row(source, text, hashlib.sha256(raw).hexdigest())]


def _row(source: str, text: str, sha256: str) -> dict:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return {"source": source, "text": text, "sha256": sha256, "chars": len(text)}


def _decode(raw: bytes, name: str, encoding: str) -> str:
    """Bytes to text; a text containing NUL is taken to be a binary file rather than loaded."""
    bom, codec = next(((bom, codec) for bom, codec in _BOMS if raw.startswith(bom)), (b"", encoding))
    try:
        text = raw[len(bom) :].decode(codec)
    except UnicodeDecodeError as e:
        if b"\0" in raw:
            raise _binary(name) from None
        offset = len(bom) + e.start
        line = raw[:offset].count(b"\n") + 1
        raise TextError(
            f"{name}: not valid {codec} at byte offset {offset} (line {line}, "
            f"bytes {raw[offset : offset + 4]!r}). If the file uses another encoding, pass it: "
            f"load_texts(..., encoding='cp1252')."
        ) from None
    if "\0" in text:
        raise _binary(name)
    return text


def _binary(name: str) -> TextError:
    return TextError(
        f"{name}: looks like a binary file (it contains NUL bytes), not text. Leave it out with patterns=, "
        f"or if it is UTF-16 text without a byte-order mark, pass encoding='utf-16'."
    )


def _html_text(markup: str) -> str:
    """The text a browser shows: no head, scripts or styles; each block element its own paragraph."""
    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(_INVISIBLE):
        tag.decompose()
    for tag in soup.find_all(_BLOCKS):  # NUL cannot occur in the text (see _decode): a safe marker
        tag.insert_before("\0")
        tag.insert_after("\0")
    blocks = (" ".join(block.split()) for block in soup.get_text().split("\0"))
    return "\n\n".join(block for block in blocks if block)


def _jsonl_rows(text: str, source: str, name: str, text_field: str) -> list[dict]:
    """One row per non-blank line; its sha256 is of the line (UTF-8), so records cache separately.
    Lines end at LF only: JSON strings may hold U+2028 and other characters splitlines() breaks at."""
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{name}, line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            problem = f"not valid JSON ({e.msg} at column {e.colno})"
            raise TextError(f"{where}: {problem}; each line must be one JSON object.") from None
        if not isinstance(record, dict):
            raise TextError(f"{where}: a JSON {_kind(record)}, expected an object with a {text_field!r} field.")
        if text_field not in record:
            raise TextError(
                f"{where}: no field {text_field!r} (fields: {', '.join(map(repr, record)) or 'none'}). "
                f"Name the field that holds the text with text_field=."
            )
        value = record[text_field]
        if not isinstance(value, str):
            raise TextError(f"{where}: field {text_field!r} is a JSON {_kind(value)}, expected a string.")
        rows.append(_row(f"{source}:{number}", value, hashlib.sha256(line.encode()).hexdigest()))
    return rows


def _kind(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
    return names.get(type(value), "null")


def _pdf_text(raw: bytes, name: str) -> str:
    try:
        from pypdf import PdfReader
    except ImportError:
        raise TextError(f"{name}: reading .pdf files needs the pdf extra: pip install 'toolkit[pdf]'") from None
    try:
        pages = PdfReader(io.BytesIO(raw)).pages
        return "\n\n".join(text for page in pages if (text := (page.extract_text() or "").strip()))
    except Exception as e:  # pypdf raises many types on damaged or encrypted files; name the file
        raise TextError(f"{name}: pypdf could not read this PDF ({type(e).__name__}: {e}).") from e


def _docx_text(raw: bytes, name: str) -> str:
    """The body paragraphs (not tables, headers or footers), one paragraph each."""
    try:
        import docx
    except ImportError:
        raise TextError(f"{name}: reading .docx files needs the docx extra: pip install 'toolkit[docx]'") from None
    try:
        paragraphs = docx.Document(io.BytesIO(raw)).paragraphs
    except Exception as e:  # python-docx raises zip, XML and key errors on damaged files; name the file
        raise TextError(f"{name}: python-docx could not read this file ({type(e).__name__}: {e}).") from e
    return "\n\n".join(text for p in paragraphs if (text := p.text.strip()))
