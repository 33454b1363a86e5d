"""What a reviewer is told, in a real JupyterLab and Chromium: a decision shown where the eyes are,
decisions made by other widgets on the same folder, bulk labels confirmed, filters that follow the
decisions, and messages that say what happened."""

import pytest

from tests.jupyterlab import close_lab, kernel_caught_up, lab_page, require_browser
from tests.test_browser import PID, kernel_held, stored_labels
from toolkit.decisions.store import Store
from toolkit.outputs import output_hash

ROWS = """\
import pandas as pd
from toolkit.review import compare, show

df = pd.DataFrame({"chunk_id": [f"s{i:02d}" for i in range(12)], "text": [f"text {i}" for i in range(12)],
                   "generic": [f"output {i}" for i in range(12)], "generic.status": "ok"})
"""
VIEWER = ROWS + 'show(df, right="generic", folder="run")\n'
TWO = (ROWS + 'show(df, right="generic", folder="run")\n', 'show(df, right="generic", folder="run")\n')
# The computed look of an element: what tells a chosen button from one that is not.
LOOK = "(e) => { const s = getComputedStyle(e); return [s.backgroundColor, s.color, s.borderColor]; }"


def test_a_decision_shows_where_the_eyes_are(tmp_path):
    """Point 5: a label key says so at once above the text (before the kernel answers), the
    kernel's word follows in a coloured line; a chosen button is filled and pressed; a fresh
    sample's "unreviewed" is not styled as a decision."""
    require_browser()
    from playwright.sync_api import expect

    proc, pw, browser, page, root = lab_page(tmp_path, (PID, VIEWER), widgets=1)
    try:
        viewer = page.locator(".tkr")
        msg, body = viewer.locator(".tkr-msg"), viewer.locator(".tkr-body")
        expect(viewer.locator(".tkr-counter")).to_have_text("1 of 12 filtered (12 total)")
        good, bad = viewer.locator(".tkr-mark[data-mark=good]"), viewer.locator(".tkr-mark[data-mark=bad]")
        unreviewed = viewer.locator(".tkr-mark[data-mark=unreviewed]")
        plain = bad.evaluate(LOOK)
        assert unreviewed.evaluate(LOOK) == plain  # a fresh sample: no decision looks made
        expect(unreviewed).not_to_have_attribute("aria-pressed", "true")
        viewer.locator(".tkr-counter").click()
        with kernel_held(root):
            page.keyboard.press("g")
            expect(msg).to_contain_text("good")
            expect(msg).to_contain_text("s00")
        expect(msg).to_have_text("saved good for s00")
        assert msg.bounding_box()["y"] + msg.bounding_box()["height"] <= body.bounding_box()["y"] + 1  # above the text
        assert msg.evaluate(LOOK)[0] not in ("rgba(0, 0, 0, 0)", "transparent")  # a coloured line, not grey text
        page.keyboard.press("k")
        expect(good).to_have_attribute("aria-pressed", "true")
        chosen = good.evaluate(LOOK)
        assert chosen[0] != plain[0] and chosen[1] != plain[1]  # filled, its text inverted
        expect(unreviewed).to_have_attribute("aria-pressed", "false")
        assert unreviewed.evaluate(LOOK) == plain
    finally:
        close_lab(proc, pw, browser)


def test_decisions_from_elsewhere_land_without_a_key(tmp_path):
    """Point 6: g in one viewer, a label from another process: the other viewer's counts, badges
    and its "unreviewed" filter follow, with no key pressed in it."""
    require_browser()
    from playwright.sync_api import expect

    proc, pw, browser, page, root = lab_page(tmp_path, TWO, widgets=2)
    try:
        first, second = page.locator(".tkr").nth(0), page.locator(".tkr").nth(1)
        for w in (first, second):
            expect(w.locator(".tkr-progress")).to_have_text("0 of 12 reviewed")
        second.locator("select[data-name=label]").select_option("unreviewed")
        kernel_caught_up(page)  # the counter read the same before the filter: read the kernel's answer
        expect(second.locator(".tkr-counter")).to_have_text("1 of 12 filtered (12 total)")
        first.locator(".tkr-counter").click()
        page.keyboard.press("j")
        page.keyboard.press("g")  # s01 good, in the first viewer
        expect(second.locator(".tkr-progress")).to_have_text("1 of 12 reviewed")
        expect(second.locator(".tkr-counter")).to_have_text("1 of 11 filtered (12 total)")
        expect(second.locator(".tkr-item", has_text="s01")).to_have_count(0)
        store = Store(root / "run")  # another process's reviewer
        try:
            store.label("s00", output_hash("output 0"), "bad", column="generic")
        finally:
            store.close()
        for w in (first, second):
            expect(w.locator(".tkr-progress")).to_have_text("2 of 12 reviewed")
        expect(first.locator(".tkr-item", has_text="s00").locator(".tkr-badge")).to_have_text("bad")
        # the sample shown in the filtered viewer stays until its reviewer moves on
        expect(second.locator(".tkr-head")).to_contain_text("s00")
        expect(second.locator(".tkr-counter")).to_have_text("1 of 11 filtered (12 total)")
        second.locator(".tkr-counter").click()
        page.keyboard.press("j")
        expect(second.locator(".tkr-head")).to_contain_text("s02")
        expect(second.locator(".tkr-counter")).to_have_text("1 of 10 filtered (12 total)")
    finally:
        close_lab(proc, pw, browser)


def test_bulk_asks_first_and_filters_follow_decisions(tmp_path):
    """Point 7: every bulk label is confirmed with what it would change; a "label: good" filter
    drops a sample once it is no longer good (the one on screen stays until you move on)."""
    require_browser()
    from playwright.sync_api import expect

    proc, pw, browser, page, root = lab_page(tmp_path, (VIEWER,), widgets=1)
    try:
        viewer = page.locator(".tkr")
        counter, confirm = viewer.locator(".tkr-counter"), viewer.locator(".tkr-confirm")
        expect(counter).to_have_text("1 of 12 filtered (12 total)")
        counter.click()
        page.keyboard.press("g")
        page.keyboard.press("g")
        page.keyboard.press("g")  # s00, s01, s02 good
        expect(viewer.locator(".tkr-progress")).to_have_text("3 of 12 reviewed")
        viewer.locator("select[data-name=label]").select_option("good")
        expect(counter).to_have_text("1 of 3 filtered (12 total)")
        page.keyboard.press("b")  # s00 bad and on to s01: s00 leaves "label: good"
        expect(viewer.locator(".tkr-head")).to_contain_text("s01")
        expect(counter).to_have_text("1 of 2 filtered (12 total)")
        page.keyboard.press("u")  # s01 unreviewed, on to s02
        expect(counter).to_have_text("1 of 1 filtered (12 total)")

        viewer.locator(".tkr-bulk").click()
        confirm.locator(".tkr-confirm-value[data-mark=unreviewed]").click()
        expect(confirm).to_contain_text("Label all 1 filtered samples unreviewed?")
        expect(confirm).to_contain_text("This changes 1 of them (now 1 good)")
        assert stored_labels(root / "run") == {"s00": "bad", "s02": "good"}  # nothing written yet
        confirm.locator(".tkr-cancel").click()
        expect(confirm).to_be_hidden()
        assert stored_labels(root / "run") == {"s00": "bad", "s02": "good"}
        viewer.locator(".tkr-bulk").click()
        confirm.locator(".tkr-confirm-value[data-mark=unreviewed]").click()
        confirm.locator(".tkr-confirm-yes").click()
        expect(viewer.locator(".tkr-progress")).to_have_text("1 of 12 reviewed")
        assert stored_labels(root / "run") == {"s00": "bad"}
        expect(viewer.locator(".tkr-msg")).to_contain_text("no longer matches the filters")
        expect(viewer.locator(".tkr-head")).to_contain_text("s02")  # kept on screen
        page.keyboard.press("j")
        expect(viewer.locator(".tkr-cols")).to_contain_text("No sample matches the filters")
        page.keyboard.press("z")  # the bulk undone as a whole
        expect(viewer.locator(".tkr-progress")).to_have_text("2 of 12 reviewed")
        expect(counter).to_have_text("1 of 1 filtered (12 total)")
    finally:
        close_lab(proc, pw, browser)


JUDGED = ROWS + """\
b = df.assign(generic=[f"better output {i}" for i in range(12)])
pairs = pd.DataFrame({"plain": ["B", None], "plain.status": ["ok", "skipped"], "plain.sample": ["s00", "s01"],
                      "plain.a": [output_hash(f"output {i}") for i in range(2)],
                      "plain.b": [output_hash(f"better output {i}") for i in range(2)],
                      "plain.a_first": [True, None], "plain.reason": ["B is better", None],
                      "plain.reason_b_first": ["B again", None]})
compare(df, b, "generic", folder="run", judge=pairs)
"""


@pytest.mark.parametrize("case", ["undo", "judge"])
def test_messages_say_what_happened(tmp_path, case):
    """Point 8: z after another viewer overwrote the sample says its label now; a row the judge
    never judged says so; the comparison's button and help use one word (unpicked)."""
    require_browser()
    from playwright.sync_api import expect

    cells = TWO if case == "undo" else ("from toolkit.outputs import output_hash\n" + JUDGED,)
    proc, pw, browser, page, root = lab_page(tmp_path, cells, widgets=len(cells))
    try:
        first = page.locator(".tkr").first
        expect(first.locator(".tkr-counter")).to_contain_text("1 of 12 filtered")
        if case == "undo":
            second = page.locator(".tkr").nth(1)
            first.locator(".tkr-counter").click()
            page.keyboard.press("g")  # s00 good in the first viewer
            expect(second.locator(".tkr-progress")).to_have_text("1 of 12 reviewed")
            second.locator(".tkr-counter").click()
            page.keyboard.press("b")  # s00 bad in the second
            expect(first.locator(".tkr-item", has_text="s00").locator(".tkr-badge")).to_have_text("bad")
            first.locator(".tkr-counter").click()
            page.keyboard.press("z")
            expect(first.locator(".tkr-msg")).to_have_text("undid good for s00: its label is now bad")
            return
        section = first.locator("details.tkr-section[data-name='judge:plain']")
        expect(section).to_contain_text("B is better")
        first.locator(".tkr-counter").click()
        page.keyboard.press("j")
        expect(first.locator(".tkr-head")).to_contain_text("s01")
        expect(section).to_contain_text("not judged")
        expect(section).not_to_contain_text("A shown first")
        page.keyboard.press("j")
        expect(first.locator(".tkr-head")).to_contain_text("s02")
        expect(section).to_contain_text("not judged")
        expect(first.locator(".tkr-unreviewed")).to_contain_text("next unpicked")
        expect(first.locator(".tkr-help")).to_contain_text("n next unpicked")
        assert "unreviewed" not in first.locator(".tkr-help").inner_text()
    finally:
        close_lab(proc, pw, browser)
