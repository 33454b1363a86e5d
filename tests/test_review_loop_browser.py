"""The write-back keys in a real JupyterLab and Chromium (issue 32): e opens the shown output for
editing in its pane (keys typed there are text, Esc cancels, Ctrl+Enter saves a correction that
another viewer on the folder then shows, z undoes it), r shows the trace over the panes (escaped,
Esc closes), f promotes the shown row into the draft and marks it in the list."""

from tests.jupyterlab import close_lab, kernel_caught_up, lab_page, require_browser
from tests.test_browser import PID, stored_labels
from tests.test_review_loop import STEP
from toolkit.decisions.store import Store
from toolkit.outputs import output_hash

ROWS = """\
import pandas as pd
from toolkit.review import compare, show

df = pd.DataFrame({"chunk_id": [f"s{i:02d}" for i in range(6)], "text": [f"text {i}" for i in range(6)],
                   "generic": [f"output {i}" for i in range(6)], "generic.status": "ok"})
"""
TWO = (ROWS + 'show(df, right="generic", folder="run")\n', 'show(df, right="generic", folder="run")\n')


def test_edit_in_place_save_cancel_undo_and_a_second_viewer_sees_it(tmp_path):
    require_browser()
    from playwright.sync_api import expect

    proc, pw, browser, page, root = lab_page(tmp_path, (PID, *TWO), widgets=2)
    try:
        first, second = page.locator(".tkr").nth(0), page.locator(".tkr").nth(1)
        out = first.locator(".tkr-pane[data-pane='1']")
        msg = first.locator(".tkr-msg")
        first.locator(".tkr-counter").click()
        page.keyboard.press("e")
        editor = out.locator("textarea.tkr-editor")
        expect(editor).to_be_visible()
        expect(editor).to_be_focused()
        expect(editor).to_have_value("output 0")
        expect(msg).to_contain_text("Ctrl+Enter saves")
        page.keyboard.press("End")
        page.keyboard.type(" gjbzn")  # review keys, typed as text
        expect(editor).to_have_value("output 0 gjbzn")
        page.keyboard.press("Escape")
        expect(editor).to_have_count(0)
        expect(msg).to_have_text("edit cancelled: nothing saved")  # said by the page: the kernel is not asked
        kernel_caught_up(page)  # so a g or b that reached the widget has been handled, and stored, by now
        expect(first.locator(".tkr-counter")).to_have_text("1 of 6 filtered (6 total)")  # j moved nothing
        assert stored_labels(root / "run") == {}  # g / b labelled nothing
        expect(out.locator(".tkr-text")).to_have_text("output 0")
        expect(first).to_be_focused()  # keys act on the widget again

        page.keyboard.press("e")
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.type("The first output, <b>as a person wrote it</b>.")
        page.keyboard.press("Control+Enter")
        expect(msg).to_have_text("saved your correction of generic for s00 (z undoes it)")
        expect(out).to_have_attribute("data-correction", "corrected")
        expect(out.locator(":scope > .tkr-text")).to_have_text("The first output, <b>as a person wrote it</b>.")
        expect(out.locator(".tkr-title")).to_contain_text("your correction")
        out.locator(".tkr-model-text summary").click()
        expect(out.locator(".tkr-model-text .tkr-text")).to_have_text("output 0")  # the model's, a click away
        store = Store(root / "run")
        try:
            assert store.correction_of("s00", "generic") == {
                "text": "The first output, <b>as a person wrote it</b>.", "output": output_hash("output 0")}
        finally:
            store.close()
        # the other viewer on the folder shows it with no key pressed (its sync)
        other = second.locator(".tkr-pane[data-pane='1']")
        expect(other).to_have_attribute("data-correction", "corrected")
        expect(other.locator(":scope > .tkr-text")).to_have_text("The first output, <b>as a person wrote it</b>.")

        first.locator(".tkr-counter").click()
        page.keyboard.press("z")
        expect(msg).to_have_text("undid your correction of generic for s00: the model's output shows again")
        expect(out).to_have_attribute("data-correction", "")
        expect(out.locator(".tkr-text")).to_have_text("output 0")
        expect(other).to_have_attribute("data-correction", "")
    finally:
        close_lab(proc, pw, browser)


def test_edit_key_in_the_comparison_and_a_stale_correction(tmp_path):
    require_browser()
    from playwright.sync_api import expect

    cells = (ROWS + 'compare(df, df.assign(generic=[f"new {i}" for i in range(6)]), "generic", folder="run")\n',
             'show(df.assign(generic=[f"again {i}" for i in range(6)]), right="generic", folder="run")\n')
    proc, pw, browser, page, root = lab_page(tmp_path, cells, widgets=2)
    try:
        c, rerun = page.locator(".tkr").nth(0), page.locator(".tkr").nth(1)
        c.locator(".tkr-counter").click()
        page.keyboard.press("Shift+E")  # the left-hand output: run A's
        left = c.locator(".tkr-pane[data-pane='0']")
        expect(left.locator("textarea")).to_have_value("output 0")
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.type("Fixed A")
        page.keyboard.press("Control+Enter")
        expect(left).to_have_attribute("data-correction", "corrected")
        expect(c.locator(".tkr-pane[data-pane='1']")).to_have_attribute("data-correction", "")
        page.keyboard.press("t")  # the comparison's tie key still picks after an edit
        expect(c.locator(".tkr-msg")).to_have_text("saved tie for s00")
        # the viewer of a rerun: that correction was made on another output
        pane = rerun.locator(".tkr-pane[data-pane='1']")
        expect(pane).to_have_attribute("data-correction", "stale")
        expect(pane.locator(".tkr-note")).to_contain_text("not applied")
        expect(pane.locator(".tkr-text")).to_have_text("again 0")
    finally:
        close_lab(proc, pw, browser)


def test_trace_overlay_and_promote_key(tmp_path):
    require_browser()
    from playwright.sync_api import expect

    cell = ("import warnings\nwarnings.simplefilter('ignore')\nfolder = 'run'\n" + STEP
            + "out.loc[4, 'first'] = '<img src=x onerror=\"document.title=1\">'\n"
            + "from toolkit.review import show\nshow(out, right='first')\n")
    proc, pw, browser, page, root = lab_page(tmp_path, (PID, cell), widgets=1)
    try:
        v = page.locator(".tkr")
        msg = v.locator(".tkr-msg")
        v.locator(".tkr-counter").click()
        page.keyboard.press("r")
        overlay = v.locator(".tkr-overlay")
        expect(overlay).to_be_visible()
        expect(overlay.locator(".tkr-overlay-title")).to_have_text("trace of 00_front_matter.md#0-802")
        expect(msg).to_have_text("trace of 00_front_matter.md#0-802: 1 step (Esc closes)")
        body = page.frame_locator(".tkr-trace-frame").locator("body")
        expect(body).to_contain_text("trace of sample 00_front_matter.md#0-802")
        expect(body).to_contain_text("attempt 1")
        assert overlay.bounding_box()["height"] > 300  # over the panes, not a strip
        page.keyboard.press("Escape")
        expect(overlay).to_be_hidden()
        # a model text that is HTML shows as text in the trace, and runs nothing
        for _ in range(4):
            page.keyboard.press("j")
        expect(v.locator(".tkr-counter")).to_have_text("5 of 5 filtered (5 total)")
        page.keyboard.press("r")
        expect(overlay.locator(".tkr-overlay-title")).to_have_text("trace of 01_overview.md#2258-2815")
        expect(body).to_contain_text('<img src=x onerror="document.title=1">')
        assert page.frame_locator(".tkr-trace-frame").locator("img").count() == 0
        assert page.title() != "1"
        v.locator(".tkr-overlay-close").click()
        expect(overlay).to_be_hidden()

        v.locator(".tkr-counter").click()
        page.keyboard.press("k")
        page.keyboard.press("f")  # row 4 (01_overview.md#2258-2815 is row 5): failed, no answer
        expect(msg).to_contain_text("has no answer to make an example of")
        expect(msg).to_have_class("tkr-msg tkr-said tkr-alert")
        page.keyboard.press("j")
        page.keyboard.press("f")
        expect(msg).to_contain_text("promoted 01_overview.md#2258-2815 into first.yaml as a few-shot example")
        expect(v.locator(".tkr-item.tkr-cur .tkr-tag")).to_have_text("example")
        expect(v.locator(".tkr-head-example")).to_be_visible()
        assert '<img src=x onerror=\\"document.title=1\\">' in (root / "run" / "first.yaml").read_text() or \
            "<img src=x onerror=" in (root / "run" / "first.yaml").read_text()
    finally:
        close_lab(proc, pw, browser)
