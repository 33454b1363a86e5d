"""The review widgets where people spend hours: long passages on a laptop screen (1280×800 with
JupyterLab's file browser open) and on a 1920×1080 one, in a real JupyterLab and Chromium.

Each test reads what a reviewer would see: the lines of text inside the visible part of the page
(the viewport, the notebook's scrolling panel and the widget's own scrolling boxes), the boxes of
the controls, what a key moves. The screenshots in docs/img/ are made here (test_screenshots).
"""

from pathlib import Path

import pytest

from tests.jupyterlab import close_lab, lab_page, require_browser

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "img"
LAPTOP, DESKTOP = {"width": 1280, "height": 800, "file_browser": True}, {"width": 1920, "height": 1080}
SOURCE = "corpus/novels/the-long-title-of-the-book-that-goes-on-and-on/chapter-twelve-the-river-at-night.txt"
PASSAGES = f"""\
import random

import pandas as pd
from toolkit.review import compare, show

rng = random.Random(0)
WORDS = ["the", "of", "and", "river", "stone", "light", "night", "water", "a", "in", "was", "she", "he"]
WORDS += [f"w{{i}}" for i in range(300)]
SOURCE = {SOURCE!r}

def passage(words=2000):
    sentences = [" ".join(rng.choices(WORDS, k=rng.randint(8, 20))).capitalize() + "." for _ in range(words // 14)]
    return "\\n\\n".join(" ".join(sentences[i:i + 8]) for i in range(0, len(sentences), 8))

def rewrite(text):
    words = text.split(" ")
    for i in rng.sample(range(len(words)), len(words) // 10):
        words[i] = rng.choice(WORDS)
    return " ".join(words)

texts = [passage() for _ in range(6)]
a = pd.DataFrame({{"chunk_id": [f"{{SOURCE}}#{{i * 14000}}-{{i * 14000 + 14000}}" for i in range(6)],
                   "source": SOURCE, "text": texts, "out": [rewrite(t) for t in texts], "out.status": "ok"}})
b = a.assign(out=[rewrite(t) for t in texts])
"""
COMPARE = PASSAGES + 'compare(a, b, "out", folder="run")\n'
VIEWER = PASSAGES + 'show(a, right="out", folder="run", labels=["good", "needs-a-second-look", "off-topic"])\n'

# How many lines of an element's text a reader sees: its text's line boxes that fall inside the
# viewport and inside every box around it that clips (the widget's panes, the notebook's panel).
LINES = """(el) => {
    let top = 0, bottom = window.innerHeight, left = 0, right = window.innerWidth;
    for (let e = el; e && e !== document.body; e = e.parentElement) {
        const s = getComputedStyle(e);
        if (e === el || s.overflowY !== "visible" || s.overflowX !== "visible") {
            const r = e.getBoundingClientRect();
            top = Math.max(top, r.top); bottom = Math.min(bottom, r.bottom);
            left = Math.max(left, r.left); right = Math.min(right, r.right);
        }
    }
    const range = document.createRange();
    range.selectNodeContents(el);
    const lines = new Set();
    for (const q of range.getClientRects()) {
        if (q.width > 0 && q.top >= top - 1 && q.bottom <= bottom + 1 && q.right > left && q.left < right) {
            lines.add(Math.round(q.top));
        }
    }
    return lines.size;
}"""
TO_TOP = "(root) => root.scrollIntoView({block: 'start'})"
PAGE_SCROLL = """(root) => {
    const out = [window.scrollY];
    for (let e = root.parentElement; e; e = e.parentElement) out.push(e.scrollTop);
    return out;
}"""


def texts(widget):
    """{pane title: its text element} of the columns shown."""
    return {p.locator(".tkr-title").inner_text(): p.locator(".tkr-text") for p in widget.locator(".tkr-pane").all()
            if p.is_visible() and not p.locator("xpath=ancestor::details").count()}


def lines(element):
    return element.evaluate(LINES)


def test_compare_shows_both_outputs_from_the_first_paint_at_1280(tmp_path):
    """Point 1: six rows of 2,000-word passages, 1280×800 with the file browser open. A and B are
    side by side and in view at once; the source comes on s (and by itself at 1920 px); moving to a
    row of similar length keeps the place read to."""
    require_browser()
    from playwright.sync_api import expect

    proc, pw, browser, page, _ = lab_page(tmp_path, (COMPARE,), widgets=1, **LAPTOP)
    try:
        widget = page.locator(".tkr")
        expect(widget.locator(".tkr-counter")).to_have_text("1 of 6 filtered (6 total)")
        widget.evaluate(TO_TOP)
        shown = texts(widget)
        assert sorted(shown) == ["A: out", "B: out"]  # the source waits for s at this width
        assert lines(shown["A: out"]) >= 10 and lines(shown["B: out"]) >= 10
        widget.locator(".tkr-counter").click()
        page.keyboard.press("s")
        expect(widget.locator(".tkr-pane .tkr-title")).to_have_text(["text", "A: out", "B: out"])
        assert all(lines(t) >= 10 for t in texts(widget).values())
        page.keyboard.press("s")
        expect(widget.locator(".tkr-pane .tkr-title")).to_have_text(["A: out", "B: out"])

        page.keyboard.press("PageDown")
        page.keyboard.press("PageDown")
        read_to = texts(widget)["A: out"].evaluate("t => t.scrollTop")
        assert read_to > 0
        page.keyboard.press("j")  # a row of about the same length: the same place
        expect(widget.locator(".tkr-counter")).to_have_text("2 of 6 filtered (6 total)")
        expect(widget).not_to_have_attribute("data-pending", "1")
        shown = texts(widget)
        assert shown["A: out"].evaluate("t => t.scrollTop") == read_to
        assert lines(shown["A: out"]) >= 10 and lines(shown["B: out"]) >= 10

        page.set_viewport_size({"width": 1920, "height": 1080})
        expect(widget.locator(".tkr-pane .tkr-title")).to_have_text(["text", "A: out", "B: out"])
        widget.evaluate(TO_TOP)
        assert all(lines(t) >= 15 for t in texts(widget).values())
    finally:
        close_lab(proc, pw, browser)


UNEVEN = """\
import pandas as pd
from toolkit.review import compare

loop = "\\n".join(f"I will answer the question now, step {i}." for i in range(400))  # three screens and more
a = pd.DataFrame({"chunk_id": ["c0", "c1"], "text": ["Say it once.", "Again."], "out": [loop, loop],
                  "out.status": "ok"})
b = a.assign(out=["One short paragraph that says it once and stops.", "Short."])
compare(a, b, "out", folder="run")
"""


def test_one_long_side_never_blanks_the_other(tmp_path):
    """Point 2: A loops for screens, B is one paragraph; reading to A's end leaves B in view."""
    require_browser()
    from playwright.sync_api import expect

    proc, pw, browser, page, _ = lab_page(tmp_path, (UNEVEN,), widgets=1, **LAPTOP)
    try:
        widget = page.locator(".tkr")
        expect(widget.locator(".tkr-counter")).to_have_text("1 of 2 filtered (2 total)")
        widget.evaluate(TO_TOP)
        widget.locator(".tkr-counter").click()
        for key in ("PageDown", " ", "PageDown", "End"):
            page.keyboard.press(key)
            shown = texts(widget)
            assert lines(shown["A: out"]) >= 5 and lines(shown["B: out"]) >= 1, key
        assert "step 399" in shown["A: out"].inner_text()
        a = shown["A: out"]
        assert a.evaluate("t => Math.abs(t.scrollTop + t.clientHeight - t.scrollHeight) <= 1")  # at its end
    finally:
        close_lab(proc, pw, browser)


# The boxes of the controls per row, the header's height and what it shows, the list's and the
# panes' widths, and where the help line ends against the notebook's visible area.
GEOMETRY = """(root) => {
    const r = (e) => e.getBoundingClientRect();
    const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
    const rows = [...root.querySelectorAll(".tkr-bar")].filter(shown).map((bar) =>
        [...bar.querySelectorAll("button, input, select, .tkr-counter, .tkr-progress")].filter(shown)
            .map((e) => [e.className, (r(e).top + r(e).bottom) / 2, r(e).left, r(e).right]));
    const panel = root.closest(".jp-WindowedPanel-outer");
    const head = root.querySelector(".tkr-head");
    return {
        rows, right: r(root).right,
        head: {height: r(head).height, line: parseFloat(getComputedStyle(head).lineHeight), text: head.innerText,
               title: head.title},
        list: r(root.querySelector(".tkr-list")).width,
        panes: [...root.querySelectorAll(".tkr-cols > .tkr-pane")].map((p) => r(p).width),
        help: r(root.querySelector(".tkr-help")).bottom, visible: r(panel).bottom,
        cut: [...root.querySelectorAll(".tkr-button, .tkr-counter, .tkr-progress")].filter(shown)
            .filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.className),
    };
}"""


def test_fits_1280_with_the_file_browser_open(tmp_path):
    """Point 3: one header line (the source path once, cut from its left; a short id), rows of
    controls that do not wrap, panes taking what the list does not need (the list collapses on
    l), and the help line in view."""
    require_browser()
    from playwright.sync_api import expect

    proc, pw, browser, page, _ = lab_page(tmp_path, (VIEWER,), widgets=1, **LAPTOP)
    try:
        widget = page.locator(".tkr")
        expect(widget.locator(".tkr-counter")).to_have_text("1 of 6 filtered (6 total)")
        widget.evaluate(TO_TOP)
        g = widget.evaluate(GEOMETRY)
        for row in g["rows"]:  # every row of controls is one line, inside the widget
            middles = [middle for _, middle, _, _ in row]
            assert max(middles) - min(middles) <= 4, row
            assert all(right <= g["right"] for *_, right in row), row
        assert g["cut"] == []
        assert g["head"]["height"] <= 1.5 * g["head"]["line"]  # one line
        assert g["head"]["text"].count("chapter-twelve") == 1 and "#0-14000" in g["head"]["text"]
        assert f"id {SOURCE}#0-14000" in g["head"]["title"]  # the whole id in the tooltip
        assert g["help"] <= g["visible"]  # the key help is in view with the rest
        assert g["list"] <= 160 and min(g["panes"]) >= 300
        widget.locator(".tkr-counter").click()
        page.keyboard.press("l")
        wider = widget.evaluate(GEOMETRY)["panes"]
        assert min(wider) >= min(g["panes"]) + 60
        expect(widget.locator(".tkr-list")).to_be_hidden()
    finally:
        close_lab(proc, pw, browser)


BADGES = PASSAGES + """\
from toolkit.decisions.store import Store

store = Store("run")
store.label(a["chunk_id"][3], "hash-of-an-earlier-output", "good", column="draft")  # stale: another output
store.close()
show(a, right="out", folder="run", labels=["good", "needs-a-second-look", "off-topic"])
"""
WHOLE = """(root) => [...root.querySelectorAll(".tkr-badge")].map((b) => {
    const item = b.closest(".tkr-item").getBoundingClientRect(), box = b.getBoundingClientRect();
    return [b.textContent, b.scrollWidth <= b.clientWidth + 1 && box.left >= item.left - 0.5
            && box.right <= item.right + 0.5];
})"""


def test_badges_show_the_whole_label(tmp_path):
    """Point 4: a long label and a stale label read whole in the sample list at 1280 px."""
    require_browser()
    from playwright.sync_api import expect

    proc, pw, browser, page, _ = lab_page(tmp_path, (BADGES,), widgets=1, **LAPTOP)
    try:
        widget = page.locator(".tkr")
        expect(widget.locator(".tkr-counter")).to_have_text("1 of 6 filtered (6 total)")
        widget.locator(".tkr-counter").click()
        page.keyboard.press("2")
        expect(widget.locator(".tkr-counter")).to_have_text("2 of 6 filtered (6 total)")
        expect(widget.locator(".tkr-badge")).to_have_count(2)
        assert sorted(widget.evaluate(WHOLE)) == [["needs-a-second-look", True], ["was good on draft", True]]
    finally:
        close_lab(proc, pw, browser)


PANEL = 'root.closest(".jp-WindowedPanel-outer")'
ABOVE = f"(root) => {PANEL}.getBoundingClientRect().top - root.getBoundingClientRect().top"
TALL = 'print("\\n".join(f"filler {i}" for i in range(200)))  # the notebook can scroll'


def test_slash_brings_the_search_box_into_view_without_moving_the_page(tmp_path):
    """Point 9: the widget's top 250 px above the visible area; / gives a search box the reader
    sees, typing into it moves nothing, Enter filters."""
    require_browser()
    from playwright.sync_api import expect

    proc, pw, browser, page, _ = lab_page(tmp_path, (TALL, VIEWER, TALL), widgets=1, **LAPTOP)
    try:
        widget = page.locator(".tkr")
        expect(widget.locator(".tkr-counter")).to_have_text("1 of 6 filtered (6 total)")
        settled = 0
        for _ in range(40):  # the notebook re-lays out cells after a scroll: until two frames agree
            above = widget.evaluate(ABOVE)
            settled = settled + 1 if abs(above - 250) <= 1 else 0
            if settled == 2:
                break
            if not settled:
                widget.evaluate(f"(root) => {{ {PANEL}.scrollTop -= {above - 250}; }}")
            page.wait_for_function("() => new Promise((done) => requestAnimationFrame(() => done(true)))")
        assert settled == 2, above
        widget.evaluate("r => r.focus({preventScroll: true})")  # as a click on its text would, without scrolling
        before = widget.evaluate(PAGE_SCROLL)
        page.keyboard.press("/")
        box = page.locator(":focus")
        assert box.evaluate("e => e.tagName") == "INPUT" and "search" in box.get_attribute("class")
        panel = widget.evaluate("r => { const b = r.closest('.jp-WindowedPanel-outer').getBoundingClientRect();"
                                " return [b.top, b.bottom]; }")
        rect = box.bounding_box()
        assert panel[0] <= rect["y"] and rect["y"] + rect["height"] <= panel[1]  # the reader sees it
        page.keyboard.type("river")
        assert widget.evaluate(PAGE_SCROLL) == before
        page.keyboard.press("Enter")
        expect(widget.locator(".tkr-cols mark.tkr-hit, .tkr-panes mark.tkr-hit").first).to_be_visible()
        assert widget.evaluate("r => document.activeElement === r")
        assert widget.evaluate(PAGE_SCROLL) == before
    finally:
        close_lab(proc, pw, browser)


BIG = """\
import random

import numpy as np
import pandas as pd
import importlib
from toolkit.review import compare

columns, cmp = (importlib.import_module(f"toolkit.review.{m}") for m in ("columns", "compare"))

rng = random.Random(0)
words = [f"w{i}" for i in range(500)]
pool = [" ".join(rng.choices(words, k=2000)) for _ in range(50)]
n = 100_000
at = np.arange(n) % 50
def texts(shift):  # object columns of pooled strings: 100,000 rows in little memory
    return pd.Series(pd.Series(pool[shift:] + pool[:shift], dtype=object)[at].to_numpy(), dtype=object)
a = pd.DataFrame({"chunk_id": [f"doc-{i:06d}" for i in range(n)], "text": texts(0), "out": texts(7),
                  "out.status": "ok"})
b = a.assign(out=texts(9))
read = []
real = cmp.cell_text
columns.cell_text = cmp.cell_text = lambda value: read.append(1) or real(value)  # counts the texts read
c = compare(a, b, "out", folder="run")
print(f"texts read to open: {len(read):,}")
c
"""


def test_compare_opens_100k_rows_reading_only_the_rows_shown(tmp_path):
    """Point 10: 100,000 rows of 2,000-word passages: compare opens reading the texts of the rows
    it shows (and the one it prefetches), not every row's, and moves as show does."""
    require_browser()
    from playwright.sync_api import expect

    proc, pw, browser, page, _ = lab_page(tmp_path, (BIG,), widgets=1, **LAPTOP)
    try:
        widget = page.locator(".tkr")
        expect(widget.locator(".tkr-counter")).to_have_text("1 of 100,000 filtered (100,000 total)")
        said = page.locator(".jp-OutputArea-output", has_text="texts read to open").inner_text()
        assert int(said.split(": ")[1].replace(",", "")) < 100
        widget.evaluate(TO_TOP)
        widget.locator(".tkr-counter").click()
        page.keyboard.press("j")
        expect(widget.locator(".tkr-counter")).to_have_text("2 of 100,000 filtered (100,000 total)")
        assert all(lines(t) >= 5 for t in texts(widget).values())
    finally:
        close_lab(proc, pw, browser)


@pytest.mark.parametrize("size", ["1280", "1920"])
def test_screenshots(tmp_path, size):
    """docs/img/review-<size>.png and compare-<size>.png: what docs/review.md shows, made here."""
    require_browser()
    from playwright.sync_api import expect

    where = LAPTOP if size == "1280" else DESKTOP
    cells = (VIEWER.replace("show(a", "v = show(a") + "v.label('good', advance=True)\nv\n", COMPARE)
    proc, pw, browser, page, _ = lab_page(tmp_path, cells, widgets=2, **where)
    try:
        IMAGES.mkdir(parents=True, exist_ok=True)
        for widget, name in zip(page.locator(".tkr").all(), ("review", "compare")):
            expect(widget.locator(".tkr-counter")).to_contain_text("of 6 filtered")
            widget.evaluate(TO_TOP)
            widget.locator(".tkr-counter").click()
            expect(widget).not_to_have_attribute("data-pending", "1")
            page.evaluate("document.fonts.ready")
            page.screenshot(path=IMAGES / f"{name}-{size}.png")
    finally:
        close_lab(proc, pw, browser)
