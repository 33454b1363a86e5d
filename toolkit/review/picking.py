"""How the page lays out and marks a sample's candidates (candidates.py): part of the ES module
front.py builds, as a Python string like drawing.py.

Up to three candidates stand side by side (the source, when the widget is wide enough, a fourth
column); more wrap into rows of three, each pane scrolling on its own. The person's pick is
marked on its pane (a green frame and "your pick" in its title, where the eyes are) and a
judge's pick with a dashed badge of its own: never the same mark. Text goes in as textContent.
"""

PICKS = r"""
// The text columns' grid: every pane in one row, or for candidates at most three a row (plus the source).
function layout(cols, s, shown) {
  const across = s.candidates === undefined ? shown : Math.min(shown, shown > s.panes.length ? 4 : 3);
  cols.style.gridTemplateColumns = `repeat(${across}, minmax(0, 1fr))`;
  cols.style.gridTemplateRows = `repeat(${Math.ceil(shown / across)}, minmax(0, 1fr))`;
}

// A candidate's pane marked as picked: by the person (data-picked) and, apart, by judges (data-judges).
function marked(box, p) {
  const title = box.querySelector(".tkr-title");
  if (p.picked) {
    box.dataset.picked = p.picked;
    title.prepend(h("span", "tkr-pick-badge", "\u2713 your pick"), " ");
  }
  if (p.judges && p.judges.length) {
    box.dataset.judges = p.judges.join(" ");
    title.append(" ", h("span", "tkr-judge-badge", `judge ${p.judges.join(", ")}'s pick`));
  }
  return box;
}
"""
