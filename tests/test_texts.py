"""Loading: every format, and a clear error or a named warning for every bad input."""

import hashlib
import json
import sys

import docx
import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from toolkit.chunking import chunk
from toolkit.texts import COLUMNS, TextError, TextWarning, load_texts


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def make_pdf(path, line):
    """A one-page PDF whose text layer holds `line` (Helvetica, no embedded font needed)."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=612, height=792)
    helvetica = {NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                 NameObject("/BaseFont"): NameObject("/Helvetica")}  # fmt: skip
    fonts = DictionaryObject({NameObject("/F1"): DictionaryObject(helvetica)})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    content = DecodedStreamObject()
    content.set_data(f"BT /F1 12 Tf 72 720 Td ({line}) Tj ET".encode())
    page.replace_contents(content)
    writer.write(path)
    return path


def test_a_folder_loads_sorted_with_relative_posix_sources(tmp_path):
    write(tmp_path / "b.txt", "Bee.")
    write(tmp_path / "a.md", "# A\n\nAy.")
    write(tmp_path / "sub" / "c.txt", "Sea.")
    write(tmp_path / ".hidden" / "d.txt", "hidden folder")
    write(tmp_path / ".e.txt", "hidden file")
    write(tmp_path / "notes.csv", "not matched")
    df = load_texts(tmp_path)
    assert list(df.columns) == COLUMNS
    assert list(df["source"]) == ["a.md", "b.txt", "sub/c.txt"]
    assert list(df["text"]) == ["# A\n\nAy.", "Bee.", "Sea."]
    assert df["sha256"][1] == hashlib.sha256(b"Bee.").hexdigest()
    assert list(df["chars"]) == [8, 4, 4]
    assert list(load_texts(tmp_path, patterns="*.txt")["source"]) == ["b.txt", "sub/c.txt"]
    assert list(load_texts(tmp_path, patterns=["**/*.txt"])["source"]) == ["b.txt", "sub/c.txt"]
    assert list(load_texts(tmp_path, patterns=["sub/*.txt"])["source"]) == ["sub/c.txt"]


def test_a_single_file_is_named_by_its_file_name(tmp_path):
    df = load_texts(write(tmp_path / "deep" / "one.txt", "Only."))
    assert list(df["source"]) == ["one.txt"] and df["text"][0] == "Only."


def test_a_missing_path_is_named(tmp_path):
    with pytest.raises(TextError, match=r"nope: no such file or folder \(resolved to /"):
        load_texts(tmp_path / "nope")


def test_an_empty_folder_says_so(tmp_path):
    with pytest.raises(TextError, match=r"no files match .*it has no files.*patterns="):
        load_texts(tmp_path)


def test_a_folder_without_matching_files_says_what_it_holds(tmp_path):
    write(tmp_path / "photo.png", b"\x89PNG")
    write(tmp_path / "data.csv", "a,b")
    with pytest.raises(TextError, match=r"no files match \['\*.txt'\]; it holds .csv, .png files"):
        load_texts(tmp_path, patterns=["*.txt"])


def test_a_binary_file_is_refused_by_name(tmp_path):
    write(tmp_path / "good.txt", "fine")
    write(tmp_path / "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8")
    with pytest.raises(TextError, match=r"image.txt: looks like a binary file .*patterns="):
        load_texts(tmp_path)


def test_invalid_utf8_names_the_file_byte_offset_and_the_escape_hatch(tmp_path):
    path = write(tmp_path / "latin.txt", "first line\ncaf\xe9 au lait".encode("latin-1"))
    with pytest.raises(TextError, match=r"latin.txt: not valid utf-8 at byte offset 14 \(line 2.*encoding="):
        load_texts(path)
    assert load_texts(path, encoding="latin-1")["text"][0] == "first line\ncafé au lait"


def test_a_bom_is_stripped_and_counted_in_the_offset(tmp_path):
    bom = write(tmp_path / "bom.txt", b"\xef\xbb\xbfHello")
    df = load_texts(bom)
    assert df["text"][0] == "Hello" and df["chars"][0] == 5
    assert df["sha256"][0] == hashlib.sha256(b"\xef\xbb\xbfHello").hexdigest()  # of the raw bytes
    write(bom, b"\xef\xbb\xbfab\xff")
    with pytest.raises(TextError, match="at byte offset 5"):
        load_texts(bom)
    utf16 = write(tmp_path / "utf16.txt", "Wide text\r\n".encode("utf-16"))  # with its BOM
    assert load_texts(utf16)["text"][0] == "Wide text\n"


def test_line_ends_are_normalised_to_lf(tmp_path):
    df = load_texts(write(tmp_path / "crlf.txt", b"one\r\ntwo\rthree\n"))
    assert df["text"][0] == "one\ntwo\nthree\n" and df["chars"][0] == 14


def test_an_empty_file_is_kept_with_a_named_warning_and_gives_no_chunks(tmp_path):
    write(tmp_path / "empty.txt", "")
    write(tmp_path / "full.txt", "Some text.")
    with pytest.warns(TextWarning, match=r"empty.txt: no text; it is kept as a row but gives no chunks"):
        df = load_texts(tmp_path)
    assert list(df["source"]) == ["empty.txt", "full.txt"]
    assert list(chunk(df)["source"]) == ["full.txt"]


def test_html_gives_visible_text_only_one_paragraph_per_block(tmp_path):
    html = """<html><head><title>Tab title</title><style>p { color: red }</style>
    <script>var secret = "hidden";</script></head>
    <body><h1>Heading</h1><p>First   paragraph with <b>bold</b>
    text &amp; an entity.</p><!-- a comment --><noscript>enable js</noscript>
    <ul><li>one</li><li>two</li></ul><script>alert(1)</script></body></html>"""
    text = load_texts(write(tmp_path / "page.html", html))["text"][0]
    assert text == "Heading\n\nFirst paragraph with bold text & an entity.\n\none\n\ntwo"


def test_jsonl_gives_one_row_per_record(tmp_path):
    second = json.dumps({"id": 2, "body": "Second\r\nrecord\u2028."}, ensure_ascii=False)  # U+2028 is no line end
    lines = [json.dumps({"id": 1, "body": "First record."}), "", second]
    path = write(tmp_path / "data.jsonl", "\n".join(lines) + "\n")
    df = load_texts(path, text_field="body")
    assert list(df["source"]) == ["data.jsonl:1", "data.jsonl:3"]
    assert list(df["text"]) == ["First record.", "Second\nrecord\u2028."]
    assert df["sha256"][0] == hashlib.sha256(lines[0].encode()).hexdigest()


@pytest.mark.parametrize("content, message", [
    ('{"text": "ok"}\n{"body": "no text field"}\n',
     r"data.jsonl, line 2: no field 'text' \(fields: 'body'\).*text_field="),
    ('{"text": "ok"}\n{"text": 5}\n', r"data.jsonl, line 2: field 'text' is a JSON number, expected a string"),
    ('{"text": {"nested": "object"}}\n', r"data.jsonl, line 1: field 'text' is a JSON object, expected a string"),
    ('{"text": "ok"}\n\n{"text": "unterminated\n', r"data.jsonl, line 3: not valid JSON"),
    ('["a list"]\n', r"data.jsonl, line 1: a JSON array, expected an object"),
])
def test_jsonl_problems_name_the_line_and_field(tmp_path, content, message):
    with pytest.raises(TextError, match=message):
        load_texts(write(tmp_path / "data.jsonl", content))


def test_a_jsonl_file_of_blank_lines_warns_it_has_no_records(tmp_path):
    with pytest.warns(TextWarning, match=r"data.jsonl: no records \(only blank lines\)"):
        assert load_texts(write(tmp_path / "data.jsonl", "\n\n")).empty


def test_pdf_text_is_read(tmp_path):
    df = load_texts(make_pdf(tmp_path / "paper.pdf", "Hello from a PDF."))
    assert df["text"][0] == "Hello from a PDF."
    assert df["sha256"][0] == hashlib.sha256((tmp_path / "paper.pdf").read_bytes()).hexdigest()


def test_a_pdf_without_text_warns_and_a_damaged_one_is_named(tmp_path):
    writer = PdfWriter()
    writer.add_blank_page(width=100, height=100)
    writer.write(tmp_path / "scan.pdf")
    with pytest.warns(TextWarning, match=r"scan.pdf: no text \(a scanned PDF has no text layer"):
        load_texts(tmp_path / "scan.pdf")
    write(tmp_path / "broken.pdf", b"%PDF-1.4 this is not really a pdf")
    with pytest.raises(TextError, match=r"broken.pdf: pypdf could not read this PDF"):
        load_texts(tmp_path / "broken.pdf")


def test_docx_paragraphs_are_read(tmp_path):
    document = docx.Document()
    document.add_heading("Report", level=1)
    document.add_paragraph("First paragraph.")
    document.add_paragraph("")
    document.add_paragraph("Second paragraph.")
    document.save(tmp_path / "report.docx")
    assert load_texts(tmp_path / "report.docx")["text"][0] == "Report\n\nFirst paragraph.\n\nSecond paragraph."
    write(tmp_path / "broken.docx", b"PK not a zip")
    with pytest.raises(TextError, match=r"broken.docx: python-docx could not read this file"):
        load_texts(tmp_path / "broken.docx")


@pytest.mark.parametrize(("module", "name", "extra"), [("pypdf", "a.pdf", "pdf"), ("docx", "a.docx", "docx")])
def test_a_missing_extra_says_what_to_install(tmp_path, monkeypatch, module, name, extra):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail as if not installed
    message = rf"{name}: reading .{extra} files needs the {extra} extra: pip install 'toolkit\[{extra}\]'"
    with pytest.raises(TextError, match=message):
        load_texts(write(tmp_path / name, b"whatever"))
