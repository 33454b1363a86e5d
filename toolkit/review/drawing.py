"""How the review widget's front-end draws a sample's parts: a text pane of diff segments with its
search hits, the one-line header, the sample list, a collapsible section.

Part of the ES module front.py builds (a Python string, for the same reason); these functions
only make elements, front.py places them. Every text from a model or a file becomes a text node
(`textContent`, split text nodes inside <mark> for a search hit), never HTML.

But: search hits are found with `toLowerCase`; where case folding changes a text's length (a few
scripts), that pane shows no hits rather than misplaced ones.
"""

DRAWING = r"""
function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

// The segments of a pane ([kind, text, marks?], kind "=", "-" or "+") as text nodes, <del>/<ins>
// and marked pieces (marks.py), in
// one block per paragraph (a blank line ends one; every character is kept, so the text reads the
// same): the browser lays out and paints only the paragraphs in view (content-visibility). The
// paragraphs past the first `first` characters are made later: fillText returns the function
// that adds them (null when none is left), so a long text's first screen is drawn at once.
function* paragraphs(segments) {
  let block = h("div", "tkr-par"), size = 0;
  for (const [kind, text, marks] of segments) {
    const parts = text.split(/(\n\n+)/);
    for (let i = 0; i < parts.length; i += 2) {
      const piece = parts[i] + (parts[i + 1] || "");
      if (piece) {
        block.append(markedPiece(kind, piece, marks));
        size += piece.length;
      }
      if (parts[i + 1]) { yield sized(block, size); block = h("div", "tkr-par"); size = 0; }
    }
  }
  if (block.childNodes.length) yield sized(block, size);
}

// A paragraph's height until it is drawn: its lines at about 60 characters each, so a pane's
// scroll height (and a place kept by scrolling) is close before the browser lays it out.
function sized(block, size) {
  block.style.containIntrinsicBlockSize = `auto ${(Math.ceil(size / 60) + 1) * 1.45}em`;
  return [block, size];
}

function fillText(box, segments, first = Infinity) {
  const blocks = paragraphs(segments);
  box.dataset.len = segments.reduce((n, [, text]) => n + text.length, 0);
  box.replaceChildren();
  const add = (limit) => {
    const part = document.createDocumentFragment();
    let shown = 0;
    for (let next = blocks.next(); !next.done; next = blocks.next()) {
      part.append(next.value[0]);
      shown += next.value[1];
      if (shown >= limit) { box.append(part); return () => add(Infinity); }
    }
    box.append(part);
    return null;
  };
  return add(first);
}

// Wrap every case-insensitive occurrence of `query` in <mark>, across segment boundaries, by
// splitting text nodes: the text itself is never parsed.
function highlight(box, query) {
  if (!query) return;
  const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  const full = nodes.map((n) => n.data).join("");
  const low = full.toLowerCase(), q = query.toLowerCase();
  if (low.length !== full.length) return;  // case folding changed lengths: offsets would drift
  const hits = [];
  for (let i = low.indexOf(q); i >= 0; i = low.indexOf(q, i + q.length)) hits.push([i, i + q.length]);
  let at = 0, k = 0;
  for (const node of nodes) {
    const start = at, end = at + node.data.length;
    at = end;
    while (k < hits.length && hits[k][1] <= start) k++;
    if (k >= hits.length || hits[k][0] >= end) continue;
    const parts = document.createDocumentFragment();
    let pos = start, j = k;
    for (; j < hits.length && hits[j][0] < end; j++) {
      const [a, b] = [Math.max(hits[j][0], start), Math.min(hits[j][1], end)];
      if (a > pos) parts.append(document.createTextNode(full.slice(pos, a)));
      parts.append(h("mark", "tkr-hit", full.slice(a, b)));
      pos = b;
    }
    if (pos < end) parts.append(document.createTextNode(full.slice(pos, end)));
    node.replaceWith(parts);
  }
}

// A text pane: its title and note stay put, its text scrolls on its own. `first`: characters
// drawn now (all of them when searching, to mark every hit); box.rest adds the others.
function pane(p, query, first = Infinity) {
  const box = h("div", "tkr-pane");
  box.append(legend(h("div", "tkr-title", p.title), p));
  if (p.note) box.append(h("div", "tkr-note", p.note));
  const text = h("div", "tkr-text");
  box.rest = fillText(text, p.segments, query ? Infinity : first);
  highlight(text, query);
  box.append(text);
  return box;
}

// The one-line header: each field a part; a long value (a path, a prompt version) gives way
// first, the source most, short ones never; the whole of every field is the tooltip.
function fillHead(head, s, v) {
  head.replaceChildren();
  if (!s) { head.append(h("i", null, v.empty || "No sample.")); return; }
  const all = [];
  for (const [k, val] of s.head) {
    const shown = k === "id" && s.shown_id ? s.shown_id : val;
    const part = h("span", `tkr-head-part tkr-head-${k.replace(/\W+/g, "-")}` + (shown.length > 24 ? " tkr-long" : ""));
    const value = h("span", k === "status" ? `tkr-val tkr-${val}` : "tkr-val");
    value.append(h("span", null, shown));
    part.append(h("b", null, k), " ", value);
    part.title = `${k} ${val}`;
    all.push(part.title);
    head.append(part, " ");
  }
  if (s.stale) { head.append(h("span", "tkr-head-part tkr-stale", s.stale)); all.push(s.stale); }
  head.title = all.join("\n");
}

// A sample list entry: position, the id's distinguishing part (cut at its start when it does not
// fit: its tail tells entries apart), the decision as a badge shown whole.
function listItem([pos, id, status, badge, short, tag], go) {
  const item = h("div", `tkr-item tkr-${status}`);
  const name = h("span", "tkr-id");
  name.append(h("span", "tkr-id-text", short || id));
  item.append(h("span", "tkr-pos", `${pos + 1}. `), name);
  if (badge) {
    const b = h("span", "tkr-badge" + (badge.startsWith("was ") ? " tkr-stale" : ""), badge);
    b.dataset.mark = badge;
    item.append(b);
  }
  if (tag) item.append(h("span", "tkr-badge tkr-tag", tag));
  item.title = `${pos + 1}. ${id} (${status}${badge ? ", " + badge : ""}${tag ? ", " + tag : ""})`;
  item.addEventListener("click", () => go(pos));
  return item;
}

// The sample list's window moves by one entry on j: entries kept are reused in place, only new
// ones are made (the reply to a prefetched draw usually changes nothing).
function fillList(list, v, go) {
  const want = v.list || [], keys = want.map((entry) => JSON.stringify(entry));
  const have = new Map([...list.children].map((e) => [e.dataset.key, e]));
  for (const [key, e] of have) if (!keys.includes(key)) e.remove();
  let at = list.firstElementChild;
  want.forEach((entry, i) => {
    let e = have.get(keys[i]);
    if (!e) { e = listItem(entry, go); e.dataset.key = keys[i]; }
    if (e === at) at = at.nextElementSibling;
    else list.insertBefore(e, at);
    e.classList.toggle("tkr-cur", entry[0] === v.pos);
  });
}

// A collapsible section (a judge's reason, a duplicate's original, the prompts, the reasoning).
function section(sec, query, toggled) {
  const d = h("details", "tkr-section");
  d.open = sec.open;
  d.dataset.name = sec.name;
  d.append(h("summary", null, sec.title));
  if (sec.open && sec.panes) {
    const grid = h("div", "tkr-grid");
    grid.append(...sec.panes.map((p) => pane(p, query)));
    d.append(grid);
  } else if (sec.open) {
    d.append(h("div", "tkr-text", sec.text));
  }
  d.addEventListener("toggle", () => { if (d.open !== sec.open) toggled(sec.name, d.open); });
  return d;
}
"""
