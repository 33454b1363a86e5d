"""A sample's candidates side by side in a real JupyterLab and Chromium, at 1280×800 with the file
browser open (issue 32 point 3, UI): the three panes stand in one row, each scrolling on its own;
Shift+2 picks the second (a shifted digit, whatever character the layout gives it), its pane is
marked as your pick, another viewer on the folder shows it, z reverts it; a candidate's HTML is
shown as text. Five candidates wrap into rows of three."""

from tests.jupyterlab import close_lab, kernel_caught_up, lab_page, require_browser
from tests.test_browser import PID
from toolkit.decisions.store import Store
from toolkit.outputs import output_hash

CELL = """\
import pandas as pd
from toolkit.review import show

long = lambda i, c: " ".join(f"candidate {c} of sample {i}, sentence {w}." for w in range(150 * (c + 1)))
texts = [[long(i, c) for c in range(3)] for i in range(4)]
texts[0][2] = '<img src=x onerror="document.title=1"> ' + texts[0][2]
df = pd.DataFrame({"chunk_id": [f"s{i:02d}" for i in range(4) for _ in range(3)],
                   "text": [f"the text of sample {i}" for i in range(4) for _ in range(3)],
                   "say": [t for row in texts for t in row], "say.status": "ok",
                   "say.candidate": pd.array([0, 1, 2] * 4, dtype="Int64"),
                   "say.candidate_of": [f"s{i:02d}" for i in range(4) for _ in range(3)]})
"""


def test_candidates_side_by_side_pick_mark_sync_and_undo(tmp_path):
    require_browser()
    from playwright.sync_api import expect

    five = ('show(pd.DataFrame({"chunk_id": "s", "text": "t", "say": [f"answer {c}" for c in range(5)], '
            '"say.status": "ok", "say.candidate": pd.array(range(5), dtype="Int64"), "say.candidate_of": "s"}))\n')
    cells = (PID, CELL + 'show(df, folder="run")\n', 'show(df, folder="run")\n', five)
    proc, pw, browser, page, root = lab_page(tmp_path, cells, widgets=3, width=1280, height=800, file_browser=True)
    try:
        first, second = page.locator(".tkr").nth(0), page.locator(".tkr").nth(1)
        first.locator(".tkr-counter").click()
        expect(first.locator(".tkr-counter")).to_have_text("1 of 4 filtered (4 total)")  # one item per sample
        panes = first.locator(".tkr-cols > .tkr-pane")
        expect(panes).to_have_count(3)
        expect(panes.nth(0).locator(".tkr-title")).to_have_text("#1 \u00B7 s00/0 (Shift+1)")
        boxes = [panes.nth(i).bounding_box() for i in range(3)]
        widget = first.bounding_box()
        assert all(abs(b["y"] - boxes[0]["y"]) < 2 for b in boxes), "one row, side by side"
        assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
        assert all(b["width"] > 150 and b["height"] > 150 for b in boxes), boxes
        assert all(b["x"] >= widget["x"] and b["x"] + b["width"] <= widget["x"] + widget["width"] + 1 for b in boxes)
        assert boxes[2]["x"] + boxes[2]["width"] <= 1280
        # each pane scrolls on its own
        texts = [panes.nth(i).locator(":scope > .tkr-text") for i in range(3)]
        assert all(t.evaluate("e => e.scrollHeight > e.clientHeight") for t in texts)
        texts[1].evaluate("e => { e.scrollTop = 200; }")
        assert texts[1].evaluate("e => e.scrollTop") == 200 and texts[0].evaluate("e => e.scrollTop") == 0
        # a candidate's HTML is text
        expect(texts[2]).to_contain_text('<img src=x onerror="document.title=1">')
        assert first.locator(".tkr-cols img").count() == 0 and page.title() != "1"

        first.locator(".tkr-counter").click()
        page.keyboard.press("Shift+Digit2")  # what a keyboard sends: key "@", code Digit2
        msg = first.locator(".tkr-msg")
        expect(msg).to_have_text("picked #2 for s00 (z undoes it)")
        expect(first.locator(".tkr-counter")).to_have_text("2 of 4 filtered (4 total)")  # and goes on
        expect(first.locator(".tkr-item").first.locator(".tkr-badge")).to_have_text("#2")
        store = Store(root / "run")
        try:
            chosen = {e["a"] if e["pick"] == "A" else e["b"] for e in store.picks()["s00"]}
        finally:
            store.close()
        assert len(chosen) == 1 and chosen.pop() == output_hash(
            " ".join(f"candidate 1 of sample 0, sentence {w}." for w in range(300)))
        page.keyboard.press("k")
        picked = first.locator(".tkr-cols > .tkr-pane[data-pane='1']")
        expect(picked).to_have_attribute("data-picked", "person")
        expect(picked.locator(".tkr-pick-badge")).to_have_text("\u2713 your pick")
        expect(picked).to_have_css("outline-style", "solid")
        assert first.locator(".tkr-cols > .tkr-pane[data-picked]").count() == 1
        # the other viewer on the folder shows it, no key pressed there
        other = second.locator(".tkr-cols > .tkr-pane[data-pane='1']")
        expect(other).to_have_attribute("data-picked", "person")

        first.locator(".tkr-counter").click()
        page.keyboard.press("z")
        expect(msg).to_have_text("undid the pick for s00: no pick now")
        expect(first.locator(".tkr-cols > .tkr-pane[data-picked]")).to_have_count(0)
        expect(second.locator(".tkr-cols > .tkr-pane[data-picked]")).to_have_count(0)
        page.keyboard.press("2")  # an unshifted digit picks nothing here
        page.keyboard.press("n")  # the next sample with no pick after s00: s01
        # Both keys handled before anything is read: were 2 a pick key, the page would draw s01 ("2 of
        # 4") at once from its prefetch, and n's answer (s02) and the pick in the store would come later.
        kernel_caught_up(page)
        expect(first.locator(".tkr-counter")).to_have_text("2 of 4 filtered (4 total)")
        expect(first.locator(".tkr-progress")).to_have_text("0 of 4 picked")
        store = Store(root / "run")
        try:
            assert not any(store.picks().values()), "the unshifted 2 picked nothing"
        finally:
            store.close()
        # five candidates: rows of three, each pane still in the widget's width
        wrapped = page.locator(".tkr").nth(2).locator(".tkr-cols > .tkr-pane")
        expect(wrapped).to_have_count(5)
        wrapped.nth(4).scroll_into_view_if_needed()
        b = [wrapped.nth(i).bounding_box() for i in range(5)]
        assert abs(b[0]["y"] - b[2]["y"]) < 2 and b[3]["y"] > b[0]["y"] + 20 and abs(b[3]["x"] - b[0]["x"]) < 2
        assert all(x["width"] > 150 for x in b) and b[2]["x"] + b[2]["width"] <= 1280
    finally:
        close_lab(proc, pw, browser)
