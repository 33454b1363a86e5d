"""The viewer in a real browser: JupyterLab on 127.0.0.1, driven by Debian's Chromium via Playwright.

The pure-Python tests cannot see what the frontend does with a widget's HTML (ipywidgets.HTML sets
innerHTML), nor whether a click reaches the kernel and comes back; this test can. In CI it fails
when the browser is missing instead of skipping, so a broken image cannot pass silently.
"""

import os
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests import jupyterlab
from tests.jupyterlab import (
    close_lab,
    kernel_caught_up,
    lab_page,
    launch,
    open_notebook,
    require_browser,
    start_lab,
    stop,
)
from toolkit.decisions import Store

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "test-output" / "browser"
XSS = '<img src=x onerror="window.__xss=1">'
DEMO = f"""\
import pandas as pd
from toolkit.review import compare, show

df = pd.DataFrame({{
    "chunk_id": ["first", "second", "third"],
    "source": ["demo.txt"] * 3,
    "text": ["The cat sat on the mat.", {XSS!r} + " raw second", "A third text."],
    "generic": ["The dog sat on the mat. " + {XSS!r}, "generated second " + {XSS!r}, None],
    "generic.status": ["ok", "ok", "skipped"],
    "generic.error": [None, None, "not selected by when="],
}})
show(df, right="generic", folder="run")
"""
COMPARE = """\
b = df.copy()
b["generic"] = ["The dog sat on a mat.", "generated second, better", None]
compare(df, b, "generic", folder="run")
"""
EDITOR = "# a cell to type into"
# Positive control: the same payload in a bare ipywidgets.HTML does run, so the check below can fail.
CONTROL = """\
import ipywidgets
ipywidgets.HTML('<img src=x onerror="window.__control=1">')
"""
def stored_labels(folder):
    """{sample id: label} as the run folder's review store holds them (read by a new reader)."""
    store = Store(folder)
    try:
        return {k: v["label"] for k, v in store.labels().items()}
    finally:
        store.close()



def test_viewer_in_jupyterlab(tmp_path):
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    proc, port, root = start_lab(tmp_path, (DEMO, COMPARE, EDITOR, CONTROL))
    try:
        with sync_playwright() as pw:
            browser = launch(pw)
            try:
                page = open_notebook(browser, port)
                viewer, comparison = page.locator(".tkr").nth(0), page.locator(".tkr").nth(1)
                counter, progress = viewer.locator(".tkr-counter"), viewer.locator(".tkr-progress")
                expect(counter).to_have_text("1 of 3 filtered (3 total)")
                expect(viewer.locator(".tkr-ins")).to_have_text(["dog", " " + XSS])
                next_box = viewer.locator(".tkr-next").bounding_box()

                # Keys typed outside the widget do not move it: in a cell editor they are text...
                editor = page.locator(".jp-Cell", has_text="a cell to type into").locator(".cm-content")
                editor.click()
                page.keyboard.type("jjj")
                page.keyboard.press("ArrowRight")
                expect(editor).to_contain_text("jjj")
                # ...and on the page body they go to the notebook, not the viewer.
                page.evaluate("document.activeElement.blur()")
                page.keyboard.press("ArrowRight")
                page.keyboard.press("j")
                # The first key inside moves it by exactly one: had a key outside reached it, the
                # kernel would be further on (its messages are handled in order). Read once the
                # kernel has handled them all: the page draws the next sample before it answers.
                viewer.locator(".tkr-counter").click()
                page.keyboard.press("ArrowRight")
                kernel_caught_up(page)
                expect(counter).to_have_text("2 of 3 filtered (3 total)")
                expect(viewer.locator(".tkr-head")).to_contain_text("second")

                page.keyboard.press("b")  # label bad and go on
                expect(counter).to_have_text("3 of 3 filtered (3 total)")
                expect(progress).to_have_text("1 of 3 reviewed")
                assert stored_labels(root / "run") == {"second": "bad"}
                # the skipped row: neutral grey notice with its reason, no error
                expect(viewer.locator(".tkr-notice.tkr-skipped")).to_have_text("skipped: not selected by when=")
                assert viewer.locator(".tkr-next").bounding_box() == next_box  # controls never move

                page.keyboard.press("k")
                page.keyboard.press("g")  # relabel second good, go on
                expect(viewer.locator(".tkr-item", has_text="2. second").locator(".tkr-badge")).to_have_text("good")
                expect(viewer.locator(".tkr-item.tkr-cur")).to_have_text("3. third")
                expect(progress).to_have_text("1 of 3 reviewed")
                assert stored_labels(root / "run") == {"second": "good"}

                jump = viewer.locator(".tkr-jump")
                jump.fill("fir")
                jump.press("Enter")
                expect(counter).to_have_text("1 of 3 filtered (3 total)")
                viewer.locator(".tkr-item", has_text="2. second").click()
                expect(counter).to_have_text("2 of 3 filtered (3 total)")
                page.keyboard.press("/")
                expect(viewer.locator(".tkr-search")).to_be_focused()
                page.keyboard.type("MAT")
                page.keyboard.press("Enter")
                expect(counter).to_have_text("1 of 1 filtered (3 total)")
                expect(viewer.locator(".tkr-head")).to_contain_text("first")
                expect(viewer).to_be_focused()  # Enter in the box hands the keys back to the widget
                for side in (0, 1):  # search hits marked in both panes, case-insensitively
                    expect(viewer.locator(".tkr-cols .tkr-text").nth(side).locator("mark.tkr-hit")).to_have_text(
                        ["mat"])

                # compare: its counts, and a pick recorded with the a key
                expect(comparison.locator(".tkr-summary")).to_contain_text(
                    "3 shared rows: 2 changed, 1 unchanged, 0 newly ok, 0 newly failed, 0 failed in both")
                comparison.locator(".tkr-counter").click()
                page.keyboard.press("ArrowRight")
                expect(comparison.locator(".tkr-counter")).to_have_text("2 of 3 filtered (3 total)")
                page.keyboard.press("b")
                expect(comparison.locator(".tkr-progress")).to_have_text("1 of 3 picked")
                store = Store(root / "run")
                try:
                    assert {k: [p["pick"] for p in v] for k, v in store.picks().items()} == {"second": ["B"]}
                finally:
                    store.close()

                # hostile payloads stay inert; the same payload in a bare ipywidgets.HTML runs
                page.wait_for_function("window.__control === 1")
                assert page.evaluate("window.__xss") is None
                for widget in (viewer, comparison):
                    assert widget.locator("img").count() == 0
                viewer.locator(".tkr-search").fill("")
                viewer.locator(".tkr-search").press("Enter")
                viewer.locator(".tkr-jump").fill("second")
                viewer.locator(".tkr-jump").press("Enter")
                expect(viewer.locator(".tkr-head")).to_contain_text("id second")
                expect(viewer.locator(".tkr-cols")).to_contain_text(XSS)
                assert viewer.locator("img").count() == 0 and page.evaluate("window.__xss") is None
                # a search hit inside the payload is split into text nodes, never parsed
                viewer.locator(".tkr-search").fill("onerror")
                viewer.locator(".tkr-search").press("Enter")
                expect(viewer.locator(".tkr-cols mark.tkr-hit")).to_have_text(["onerror", "onerror"])
                expect(viewer.locator(".tkr-cols")).to_contain_text(XSS)
                assert viewer.locator("img").count() == 0 and page.evaluate("window.__xss") is None
                OUT.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=OUT / "viewer.png", full_page=True)
                comparison.screenshot(path=OUT / "compare.png")
            finally:
                browser.close()
    finally:
        stop(proc)


def test_missing_browser_fails_in_ci_and_skips_elsewhere(monkeypatch):
    monkeypatch.setattr(jupyterlab, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="missing"):
        require_browser()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="missing"):
        require_browser()


KEYS = """\
import pandas as pd
from toolkit.review import show

lines = "\\n".join(f"line {i} of the text" for i in range(200))  # taller than the text pane
df = pd.DataFrame({
    "chunk_id": [f"row-{i:02d}" for i in range(30)],
    "text": [f"text {i}\\n" + lines for i in range(30)],
    "generic": [f"output {i}\\n" + lines for i in range(30)],
    "generic.status": ["failed" if i % 3 == 0 else "ok" for i in range(30)],
})
show(df, right="generic", folder="run", labels=["good", "bad", "off-topic"])
"""
TALL = 'print("\\n".join(f"filler {i}" for i in range(300)))  # the notebook can scroll'
# scrollTop of the widget's every ancestor and of the window: what a key must not move
PAGE_SCROLL = """(root) => {
    const out = [window.scrollY];
    for (let e = root.parentElement; e; e = e.parentElement) out.push(e.scrollTop);
    return out;
}"""
FOCUSED = "(root) => document.activeElement === root"



def test_keys_focus_and_scrolling(tmp_path):
    require_browser()
    from playwright.sync_api import expect

    proc, pw, browser, page, _ = lab_page(tmp_path, (KEYS, TALL), widgets=1)
    try:
        viewer = page.locator(".tkr")
        counter, progress = viewer.locator(".tkr-counter"), viewer.locator(".tkr-progress")
        status, pane = viewer.locator("select[data-name=status]"), viewer.locator(".tkr-cols .tkr-text").first
        expect(counter).to_have_text("1 of 30 filtered (30 total)")

        # every key is shown on its button
        keys = {b.get_attribute("data-mark"): b.locator(".tkr-key").inner_text()
                for b in viewer.locator(".tkr-mark").all()}
        assert keys == {"good": "1", "bad": "2", "off-topic": "3", "unreviewed": "u"}
        for cls, key in [("prev", "k"), ("next", "j"), ("unreviewed", "n"), ("undo", "z")]:
            expect(viewer.locator(f".tkr-{cls} .tkr-key")).to_have_text(key)

        # after a dropdown, keys belong to the widget again: j and → read on, the filter stays
        status.select_option("ok")
        expect(counter).to_have_text("1 of 20 filtered (30 total)")
        assert viewer.evaluate(FOCUSED)
        page.keyboard.press("j")
        expect(counter).to_have_text("2 of 20 filtered (30 total)")
        page.keyboard.press("ArrowRight")
        expect(counter).to_have_text("3 of 20 filtered (30 total)")
        top = pane.evaluate("p => p.scrollTop")
        page.keyboard.press("ArrowDown")  # the widget's: a line down in the text (the value read before
        assert pane.evaluate("p => p.scrollTop") > top  # would pass whether or not the key was handled)
        expect(status).to_have_value("ok")
        # a dropdown that still has focus (tabbed to, say) passes arrows on instead of changing
        status.focus()
        page.keyboard.press("ArrowRight")
        kernel_caught_up(page)  # a filter the arrow changed would have been sent and answered by now
        expect(counter).to_have_text("4 of 20 filtered (30 total)")
        expect(status).to_have_value("ok")
        assert viewer.evaluate(FOCUSED)

        # scrolling keys move the text pane, never the notebook
        before = viewer.evaluate(PAGE_SCROLL)
        assert pane.evaluate("p => p.scrollHeight > 2 * p.clientHeight")
        top = pane.evaluate("p => p.scrollTop")  # not 0: the ArrowDown above, kept on the next sample
        page.keyboard.press(" ")
        first = pane.evaluate("p => p.scrollTop")
        assert first > top
        page.keyboard.press("PageDown")
        assert pane.evaluate("p => p.scrollTop") > first
        page.keyboard.press("End")
        assert pane.evaluate("p => Math.abs(p.scrollTop + p.clientHeight - p.scrollHeight) <= 1")
        page.keyboard.press("PageUp")
        assert pane.evaluate("p => p.scrollTop + p.clientHeight < p.scrollHeight - 1")
        page.keyboard.press("Home")
        assert pane.evaluate("p => p.scrollTop") == 0
        # / goes to the search box without jumping the page; Esc comes back
        page.keyboard.press("/")
        expect(viewer.locator(".tkr-search")).to_be_focused()
        page.keyboard.press("Escape")
        assert viewer.evaluate(FOCUSED)
        assert viewer.evaluate(PAGE_SCROLL) == before

        # a number key labels and goes on; z undoes it and shows that sample again
        expect(viewer.locator(".tkr-head")).to_contain_text("row-05")
        page.keyboard.press(keys["off-topic"])
        expect(counter).to_have_text("5 of 20 filtered (30 total)")
        expect(progress).to_have_text("1 of 30 reviewed")
        expect(viewer.locator(".tkr-item[title*=\"row-05 \"]").locator(".tkr-badge")).to_have_text("off-topic")
        page.keyboard.press("z")
        expect(progress).to_have_text("0 of 30 reviewed")
        expect(counter).to_have_text("4 of 20 filtered (30 total)")
        expect(viewer.locator(".tkr-item[title*=\"row-05 \"]").locator(".tkr-badge")).to_have_count(0)
        # n: the next sample with no label, over labelled ones
        page.keyboard.press(keys["good"])  # row-05 good, on to row-07
        page.keyboard.press(keys["bad"])   # row-07 bad, on to row-08
        expect(progress).to_have_text("2 of 30 reviewed")
        page.keyboard.press("Home")
        for _ in range(3):
            page.keyboard.press("k")
        expect(counter).to_have_text("3 of 20 filtered (30 total)")  # row-04, unlabelled
        page.keyboard.press("j")  # row-05, labelled
        page.keyboard.press("n")
        expect(counter).to_have_text("6 of 20 filtered (30 total)")  # row-08: row-07 is labelled
        expect(viewer.locator(".tkr-head")).to_contain_text("row-08")

        # bulk: nothing happens until the confirm row's choice; cancel leaves everything as it was
        viewer.locator(".tkr-bulk").click()
        confirm = viewer.locator(".tkr-confirm")
        expect(confirm).to_contain_text("Label all 20 filtered samples as:")
        confirm.locator(".tkr-cancel").click()
        expect(confirm).to_be_hidden()
        kernel_caught_up(page)  # whatever the two clicks sent has been handled: the count is the kernel's
        expect(progress).to_have_text("2 of 30 reviewed")
        viewer.locator(".tkr-bulk").click()
        confirm.locator(".tkr-confirm-value[data-mark=bad]").click()  # then it says what would change
        expect(confirm).to_contain_text("Label all 20 filtered samples bad? This changes 19 of them")
        expect(progress).to_have_text("2 of 30 reviewed")
        confirm.locator(".tkr-confirm-yes").click()
        expect(progress).to_have_text("20 of 30 reviewed")
        expect(confirm).to_be_hidden()
        assert viewer.evaluate(FOCUSED)
        page.keyboard.press("z")  # one undo takes the whole bulk back
        expect(progress).to_have_text("2 of 30 reviewed")
    finally:
        close_lab(proc, pw, browser)


LAYOUT = """\
import pandas as pd
from toolkit.review import show

n = 100_000
df = pd.DataFrame({
    # ~55-character ids that differ only at the end, as real ones do
    "chunk_id": [f"corpus/novels/the-long-title-of-the-book/part-{i // 1000:03d}/para-{i:06d}" for i in range(n)],
    "text": "The cat sat on the mat. " * 30,
    "generic": "The dog sat on the mat. " * 30,
    "generic.status": "ok",
    "generic.attempts": 1,
    "generic.prompt_version": "rewrite-in-the-voice-of-the-author-with-examples-v12 " * 3,
})
v = show(df, right="generic", folder="run")
for i in range(54_270, 54_320):
    v.go(i)
    v.label("good")
v.go(54_320)
v
"""
# Rectangles of the controls in the widget's rows, and whether any text is cut.
BOXES = """(root) => {
    const r = (e) => { const b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
    const shown = (e) => e.getClientRects().length > 0;
    const controls = [...root.querySelectorAll(".tkr-bar > *, .tkr-bar > .tkr-marks > *, .tkr-selects > *")]
        .filter((e) => shown(e) && getComputedStyle(e).display !== "contents");
    return {
        root: r(root),
        controls: controls.map((e) => [e.className, r(e)]),
        cut: [...root.querySelectorAll(".tkr-counter, .tkr-progress, .tkr-button")]
            .filter((e) => shown(e) && e.scrollWidth > e.clientWidth + 1).map((e) => e.className),
        head: [root.querySelector(".tkr-head").getBoundingClientRect().height, root.querySelector(".tkr-head").title],
        items: [...root.querySelectorAll(".tkr-item")].map((e) => {
            const id = e.querySelector(".tkr-id"), text = id.firstChild.firstChild, end = document.createRange();
            end.setStart(text, text.length - 1);
            end.setEnd(text, text.length);
            const last = end.getBoundingClientRect(), box = r(id);  // a cut id keeps its tail in view
            const badge = e.querySelector(".tkr-badge");
            return {text: id.textContent, title: e.title, item: r(e), badge: badge && r(badge),
                    tail: last.left >= box[0] - 0.5 && last.right <= box[2] + 0.5};
        }),
    };
}"""


def overlap(a, b):
    return min(a[2], b[2]) - max(a[0], b[0]) > 0.5 and min(a[3], b[3]) - max(a[1], b[1]) > 0.5


def test_layout_at_1280_px_with_100k_rows(tmp_path):
    require_browser()
    from playwright.sync_api import expect

    proc, pw, browser, page, _ = lab_page(tmp_path, (LAYOUT,), widgets=1, width=1280)
    try:
        viewer = page.locator(".tkr")
        expect(viewer.locator(".tkr-counter")).to_have_text("54,321 of 100,000 filtered (100,000 total)")
        expect(viewer.locator(".tkr-progress")).to_have_text("50 of 100,000 reviewed")
        boxes = viewer.evaluate(BOXES)
        controls = boxes["controls"]
        assert len(controls) >= 10
        for i, (name, box) in enumerate(controls):
            assert box[2] - box[0] > 0 and box[0] >= boxes["root"][0] and box[2] <= boxes["root"][2], name
            for other, box2 in controls[i + 1:]:
                assert not overlap(box, box2), (name, other, box, box2)
        assert boxes["cut"] == []  # counters and buttons show all their text
        height, title = boxes["head"]
        assert height < 25  # one line, all of it in its tooltip
        assert "rewrite-in-the-voice-of-the-author-with-examples-v12 " * 3 in title
        items = boxes["items"]
        assert len(items) == 25 and len({i["text"] for i in items}) == 25  # entries read apart
        assert all(i["tail"] for i in items)  # by the end of their ids, in view
        assert all(i["title"].split(". ", 1)[1].startswith("corpus/novels/") for i in items)
        badges = [i for i in items if i["badge"]]
        assert len(badges) == 12  # the labelled entries in the window (54,309 to 54,320)
        for i in badges:
            assert i["item"][0] <= i["badge"][0] and i["badge"][2] <= i["item"][2] + 0.5, i
        OUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=OUT / "layout-1280.png")
    finally:
        close_lab(proc, pw, browser)


BLIND = """\
import pandas as pd
from toolkit.review import compare

a = pd.DataFrame({"chunk_id": [f"s{i}" for i in range(8)], "text": [f"source {i}" for i in range(8)],
                  "gen": [f"answer of run A for {i}" for i in range(8)], "gen.status": "ok",
                  "gen.prompt_version": "v1"})
b = a.assign(gen=[f"answer of run B for {i}" for i in range(8)], **{"gen.prompt_version": "v2"})
compare(a, b, "gen", folder="run", blind=True)
"""


def test_blind_compare_hides_the_runs_and_stores_the_true_pick(tmp_path):
    """Each row shows the runs as left / right in a seeded order; pressing a (left) stores A or B
    according to which run was on the left, and nothing on the page names the runs."""
    require_browser()
    from playwright.sync_api import expect

    proc, pw, browser, page, root = lab_page(tmp_path, (BLIND,), widgets=1)
    try:
        widget = page.locator(".tkr")
        counter, progress = widget.locator(".tkr-counter"), widget.locator(".tkr-progress")
        expect(counter).to_have_text("1 of 8 filtered (8 total)")
        marks = {b.get_attribute("data-mark"): b.locator(".tkr-key").inner_text()
                 for b in widget.locator(".tkr-mark").all()}
        assert marks["left"] == "a" and marks["right"] == "b" and "A" not in marks and "B" not in marks
        widget.locator(".tkr-counter").click()
        left_was = {}
        for i in range(8):
            expect(counter).to_have_text(f"{i + 1} of 8 filtered (8 total)")
            titles = widget.locator(".tkr-cols .tkr-title").all_inner_texts()
            assert titles == ["left: gen", "right: gen"]
            for hidden in ("v1", "v2", "prompt", "A:", "B:"):  # no prompt versions, no run names
                assert hidden not in widget.locator(".tkr-head").inner_text() + " ".join(titles)
            left = widget.locator(".tkr-cols .tkr-text").first.inner_text()
            left_was[f"s{i}"] = "A" if "run A" in left else "B"
            page.keyboard.press("a")  # left is better
            expect(progress).to_have_text(f"{i + 1} of 8 picked")
        assert set(left_was.values()) == {"A", "B"}  # the order really is mixed
        assert widget.locator(".tkr-item .tkr-badge").all_inner_texts() == ["left"] * 8
        store = Store(root / "run")
        try:
            assert {k: [p["pick"] for p in v] for k, v in store.picks().items()} == {
                k: [v] for k, v in left_was.items()}
        finally:
            store.close()
    finally:
        close_lab(proc, pw, browser)


BESIDE = f"""\
import pandas as pd
import toolkit as tk
from toolkit.outputs import output_hash

answers = ["The cat sat on the mat all day long.", "the cat  sat on the mat all day long.", "Other words.", None]
df = pd.DataFrame({{"chunk_id": ["c0", "c1", "c2", "c3"], "text": ["t0", "t1", "t2", "t3"], "gen": answers,
                   "gen.status": ["ok", "ok", "ok", "failed"], "gen.error": [None, None, None, "parse: no JSON"],
                   "right": ["pass", "fail", "pass", None], "right.status": ["ok", "ok", "ok", "skipped"],
                   "right.reason": ["fine", "judged " + {XSS!r}, "fine", None],
                   "right.judged": [output_hash(a) for a in answers]}})
df = tk.dedupe(df, "gen")
df.attrs["folder"] = "run"
tk.show(df)
"""


def test_judge_verdict_duplicate_and_drop_reason_drawn_as_text(tmp_path):
    """The judge's verdict shows in the header and its reason in an open section (a hostile reason
    stays text), the duplicate's section diffs it against its original, and the judge and
    drop-reason dropdowns filter from the page."""
    require_browser()
    from playwright.sync_api import expect

    proc, pw, browser, page, root = lab_page(tmp_path, (BESIDE, CONTROL), widgets=1)
    try:
        widget = page.locator(".tkr")
        counter, head = widget.locator(".tkr-counter"), widget.locator(".tkr-head")
        expect(counter).to_have_text("1 of 4 filtered (4 total)")
        expect(head).to_contain_text("judge right pass")
        widget.locator(".tkr-counter").click()
        page.keyboard.press("g")  # c0 good: the judge agrees
        expect(counter).to_have_text("2 of 4 filtered (4 total)")
        expect(head).to_contain_text("judge right fail")
        section = widget.locator("details.tkr-section[data-name='judge:right']")
        expect(section).to_have_attribute("open", "")
        expect(section.locator("summary")).to_contain_text("the judge's verdict, not your label")
        expect(section).to_contain_text("judged " + XSS)
        dup = widget.locator("details.tkr-section[data-name='dup:gen']")
        expect(dup.locator("summary")).to_contain_text("duplicate: gen repeats sample c0")
        expect(dup.locator(".tkr-title")).to_have_text(["c0 (the original)", "this sample"])
        page.keyboard.press("g")  # c1 good: the judge said fail
        page.wait_for_function("window.__control === 1")
        assert widget.locator("img").count() == 0 and page.evaluate("window.__xss") is None
        widget.locator("select[data-name=judge]").select_option("disagrees")
        expect(counter).to_have_text("1 of 1 filtered (4 total)")
        expect(head).to_contain_text("id c1")
        widget.locator("select[data-name=judge]").select_option("all")
        widget.locator("select[data-name=reason]").select_option("gen: parse")
        expect(head).to_contain_text("id c3")  # first: the counter read "1 of 1" before (the judge filter's)
        expect(counter).to_have_text("1 of 1 filtered (4 total)")
        expect(head).to_contain_text("judge right no verdict (skipped)")
        assert stored_labels(root / "run") == {"c0": "good", "c1": "good"}  # the judge wrote no label
    finally:
        close_lab(proc, pw, browser)



PID = 'import os, pathlib; pathlib.Path("kernel.pid").write_text(str(os.getpid()))'


@contextmanager
def kernel_held(root):
    """The kernel stopped (SIGSTOP) for the block: the widget's messages wait in its queue, so the
    page shows only what it draws by itself; SIGCONT after, whatever happened."""
    pid = int((root / "kernel.pid").read_text())
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def test_prefetched_next_sample_drawn_before_the_kernel_replies(tmp_path):
    require_browser()
    from playwright.sync_api import expect

    proc, pw, browser, page, root = lab_page(tmp_path, (PID, KEYS), widgets=1)
    try:
        viewer = page.locator(".tkr")
        counter, head = viewer.locator(".tkr-counter"), viewer.locator(".tkr-head")
        pane = viewer.locator(".tkr-cols .tkr-text").first
        first_text = viewer.locator(".tkr-pane .tkr-text").first
        expect(counter).to_have_text("1 of 30 filtered (30 total)")
        counter.click()

        # j with the kernel held: the next sample's text is drawn from the prefetch alone
        with kernel_held(root):
            page.keyboard.press("j")
            expect(head).to_contain_text("row-01")
            expect(first_text).to_contain_text("text 1\nline 0")
            expect(counter).to_have_text("2 of 30 filtered (30 total)")
            expect(viewer).to_have_attribute("data-pending", "1")
            page.keyboard.press("PageDown")
            scrolled = pane.evaluate("p => p.scrollTop")
            assert scrolled > 0
        # the kernel's reply shows the same sample: drawn as it was, scroll kept
        expect(viewer).not_to_have_attribute("data-pending", "1")
        expect(viewer.locator(".tkr-msg")).to_have_text("")
        assert pane.evaluate("p => p.scrollTop") == scrolled
        expect(head).to_contain_text("row-01")

        # j then g before any reply: the second press has no prefetch, so it only sends; the label
        # lands on the sample the first press went to, by the kernel, never by the page
        good = viewer.locator(".tkr-mark[data-mark=good] .tkr-key").inner_text()
        with kernel_held(root):
            page.keyboard.press("j")
            page.keyboard.press(good)
            expect(head).to_contain_text("row-02")
            assert stored_labels(root / "run") == {}
        expect(viewer.locator(".tkr-msg")).to_have_text("saved good for row-02")
        expect(head).to_contain_text("row-03")
        expect(counter).to_have_text("4 of 30 filtered (30 total)")
        assert stored_labels(root / "run") == {"row-02": "good"}

        # k then j before any reply: k is not drawn ahead, so the prefetch the page holds (row-04) is
        # not where j takes the kernel (back to row-03): j only sends, and the page never shows a
        # sample the kernel is not on (nor names it in a label's pending line)
        with kernel_held(root):
            page.keyboard.press("k")
            page.keyboard.press("j")
            expect(viewer).not_to_have_attribute("data-pending", "1")
            expect(head).to_contain_text("row-03")
        kernel_caught_up(page)
        expect(head).to_contain_text("row-03")
        expect(counter).to_have_text("4 of 30 filtered (30 total)")

        # after a filter change the prefetch is the new filtered next sample
        viewer.locator("select[data-name=status]").select_option("failed")
        expect(counter).to_have_text("2 of 10 filtered (30 total)")  # row-03 is failed: it stays shown
        expect(head).to_contain_text("row-03")
        with kernel_held(root):
            page.keyboard.press("j")
            expect(head).to_contain_text("row-06")
            expect(first_text).to_contain_text("text 6\nline 0")
            expect(counter).to_have_text("3 of 10 filtered (30 total)")
        expect(viewer).not_to_have_attribute("data-pending", "1")
        expect(head).to_contain_text("row-06")

        # on the last sample j has nothing prefetched: the page stays, nothing is pending (read with
        # the kernel held: its reply cannot put back what the page drew before the checks read it)
        jump = viewer.locator(".tkr-jump")
        jump.fill("#10")
        jump.press("Enter")
        expect(counter).to_have_text("10 of 10 filtered (30 total)")
        expect(head).to_contain_text("row-27")
        with kernel_held(root):
            page.keyboard.press("j")
            expect(viewer).not_to_have_attribute("data-pending", "1")
            expect(counter).to_have_text("10 of 10 filtered (30 total)")
            expect(head).to_contain_text("row-27")
        kernel_caught_up(page)  # and the kernel's answer to j stays there too
        expect(counter).to_have_text("10 of 10 filtered (30 total)")
        expect(head).to_contain_text("row-27")
        assert stored_labels(root / "run") == {"row-02": "good"}
    finally:
        close_lab(proc, pw, browser)
