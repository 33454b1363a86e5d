"""The review widget's front-end: an anywidget ES module, as a Python string (its CSS is style.py).

A string rather than a package file so it ships inside the wheel with no packaging set-up and
nothing is fetched at run time. The module builds its DOM once (controls never move) and fills it
from the `view` trait, one sample at a time; the messages it sends are listed in widget.py. Model
and file text only ever reaches the page through `textContent` (search hits are split text nodes
inside <mark>), never `innerHTML`. Keys are handled on the widget's own element, which carries
`data-lm-suppress-shortcuts` (JupyterLab's command registry stops there), so they act only while
the widget has focus and notebook shortcuts keep working everywhere else. After a dropdown, box or
button is used, focus goes back to that element, so arrows and letters never change a filter by
accident; scrolling keys move the text pane, not the notebook.

But: keys are fixed (j/k/arrows, n, z, /, the `marks` keys); there is no key map to configure.
"""

from .style import CSS

__all__ = ["CSS", "ESM"]

ESM = r"""
function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function fillText(box, segments) {
  box.replaceChildren();
  for (const [kind, text] of segments) {
    box.append(kind === "=" ? document.createTextNode(text)
                            : h(kind === "-" ? "del" : "ins", kind === "-" ? "tkr-del" : "tkr-ins", text));
  }
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

function pane(p, query) {
  const box = h("div", "tkr-pane");
  box.append(h("div", "tkr-title", p.title));
  if (p.note) box.append(h("div", "tkr-note", p.note));
  const text = h("div", "tkr-text");
  fillText(text, p.segments);
  highlight(text, query);
  box.append(text);
  return box;
}

// What a sample-list entry shows of its id: the short form sent, else the id's tail.
function shortId(id, short) {
  if (short) return short;
  return id.length > 24 ? "\u2026" + id.slice(-23) : id;
}

function render({ model, el }) {
  const send = (msg) => model.send(msg);
  const root = h("div", "tkr");
  root.tabIndex = 0;
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  const home = () => root.focus({ preventScroll: true });

  const button = (label, key, cls, onclick) => {
    const b = h("button", "tkr-button " + cls, label);
    if (key) b.append(" ", h("kbd", "tkr-key", key));
    b.type = "button";
    b.addEventListener("click", () => { onclick(); home(); });
    return b;
  };
  const prev = button("\u25C0 Prev", "k", "tkr-prev", () => send({ do: "prev" }));
  const next = button("Next \u25B6", "j", "tkr-next", () => { send({ do: "next" }); forward(); });
  const marks = h("span", "tkr-marks");
  const unreviewed = button("next unreviewed", "n", "tkr-unreviewed", () => send({ do: "unreviewed" }));
  const undo = button("undo", "z", "tkr-undo", () => send({ do: "undo" }));
  const confirmRow = h("div", "tkr-bar tkr-confirm");
  confirmRow.hidden = true;
  const bulk = button("label all filtered\u2026", null, "tkr-bulk", () => openConfirm());
  const bar = h("div", "tkr-bar");
  bar.append(prev, next, marks, unreviewed, undo, bulk);

  const counter = h("span", "tkr-counter");
  const progress = h("span", "tkr-progress");
  const jump = h("input", "tkr-jump");
  jump.placeholder = "go to #pos or id prefix";
  const status = h("div", "tkr-bar tkr-status");
  status.append(counter, progress, jump);

  const search = h("input", "tkr-search");
  search.placeholder = "search (/)";
  const selects = h("span", "tkr-selects");
  const note = h("input", "tkr-note-input");
  note.placeholder = "note (Enter saves)";
  const filters = h("div", "tkr-bar");
  filters.append(search, selects, note);
  const onEnter = (box, act) => box.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { act(); home(); }
  });
  onEnter(jump, () => { send({ do: "jump", text: jump.value }); jump.value = ""; });
  onEnter(search, () => send({ do: "filter", name: "search", value: search.value }));
  onEnter(note, () => send({ do: "note", text: note.value }));

  const summary = h("div", "tkr-line tkr-summary");
  const head = h("div", "tkr-line tkr-head");
  const list = h("div", "tkr-list");
  const scroll = h("div", "tkr-scroll");
  const body = h("div", "tkr-body");
  body.append(list, scroll);
  const msg = h("div", "tkr-line tkr-msg");
  const help = h("div", "tkr-line tkr-help");
  root.append(bar, confirmRow, status, filters, summary, head, body, msg, help);
  el.append(root);

  function openConfirm() {
    const v = model.get("view") || {};
    const choices = (v.marks || []).map(([value]) => {
      const b = button(value, null, "tkr-confirm-value", () => { send({ do: "bulk", value }); closeConfirm(); });
      b.dataset.mark = value;
      return b;
    });
    confirmRow.replaceChildren(h("span", "tkr-confirm-text",
      `Label all ${(v.bulk ?? v.n ?? 0).toLocaleString("en-US")} filtered samples as:`), ...choices,
      button("cancel", "Esc", "tkr-cancel", closeConfirm));
    confirmRow.hidden = false;
  }
  function closeConfirm() { confirmRow.hidden = true; confirmRow.replaceChildren(); }

  const markButtons = new Map();
  const selectBoxes = new Map();
  let shownId = null, drawnKey = null, drawn = {};

  // Draw a view: the kernel's, or (`pending`) the prefetched next sample before the kernel replies.
  function draw(v, pending) {
    drawn = v;
    if (pending) root.dataset.pending = "1";
    else delete root.dataset.pending;
    const s = v.sample;
    counter.textContent = v.counter || "";
    progress.textContent = v.progress || "";
    prev.disabled = !s || v.pos <= 0;
    next.disabled = !s || v.pos >= v.n - 1;
    for (const [value, key] of v.marks || []) {
      if (!markButtons.has(value)) {
        const b = button(value, key, "tkr-mark", () => send({ do: "mark", value, advance: false }));
        b.dataset.mark = value;
        markButtons.set(value, b);
        marks.append(b);
      }
    }
    for (const [value, b] of markButtons) {
      b.disabled = !s;
      b.classList.toggle("tkr-on", !!s && s.mark === value);
    }
    const deciding = (v.marks || []).length > 0;
    unreviewed.hidden = undo.hidden = !deciding;
    bulk.hidden = !deciding || v.bulk === undefined || v.bulk === null;
    for (const [name, options, value] of v.filters || []) {
      let box = selectBoxes.get(name);
      if (!box) {
        box = h("select", "tkr-select");
        box.title = name;
        box.dataset.name = name;
        box.addEventListener("change", () => {
          send({ do: "filter", name, value: box.value });
          box.blur();
          home();
        });
        selectBoxes.set(name, box);
        selects.append(box);
      }
      if (box.dataset.options !== JSON.stringify(options)) {
        box.replaceChildren(...options.map(([val, label]) => {
          const o = h("option", null, label);
          o.value = val;
          return o;
        }));
        box.dataset.options = JSON.stringify(options);
      }
      box.value = value;
    }
    if (document.activeElement !== search) search.value = v.search || "";
    note.hidden = v.note === undefined || v.note === null;
    note.disabled = !s;
    if (document.activeElement !== note) note.value = (s && s.note) || "";
    summary.textContent = v.summary || "";
    summary.hidden = !v.summary;
    msg.textContent = v.message || "";
    help.textContent = v.help || "";
    root.classList.toggle("tkr-blind", !!v.blind);

    list.replaceChildren(...(v.list || []).map(([pos, id, status, badge, short]) => {
      const item = h("div", `tkr-item tkr-${status}` + (pos === v.pos ? " tkr-cur" : ""));
      // the id is cut at its start when it does not fit: its tail tells entries apart
      const name = h("span", "tkr-id");
      name.append(h("span", "tkr-id-text", shortId(String(id), short)));
      item.append(h("span", "tkr-pos", `${pos + 1}. `), name);
      if (badge) item.append(h("span", "tkr-badge" + (badge.startsWith("was ") ? " tkr-stale" : ""), badge));
      item.title = `${pos + 1}. ${id} (${status}${badge ? ", " + badge : ""})`;
      item.addEventListener("click", () => { send({ do: "go", pos }); home(); });
      return item;
    }));

    const query = v.search || "";
    const key = JSON.stringify([s, query, v.empty]);
    if (key === drawnKey) return;  // already on screen (the reply to a prefetched draw): no redraw
    drawnKey = key;
    const top = scroll.scrollTop;
    head.replaceChildren();
    scroll.replaceChildren();
    root.dataset.id = s ? s.id : "";
    if (!s) {
      head.append(h("i", null, v.empty || "No sample."));
      scroll.append(h("div", "tkr-empty", v.empty || "No sample."));
      shownId = null;
      return;
    }
    s.head.forEach(([k, val], i) => {
      const part = h("span", "tkr-head-part");
      part.append(h("b", null, k), document.createTextNode(" "),
                  h("span", k === "status" ? `tkr-${val}` : null, val));
      if (i) head.append(document.createTextNode(" \u00B7 "));
      head.append(part);
    });
    if (s.stale) head.append(document.createTextNode(" \u00B7 "), h("span", "tkr-stale", s.stale));
    if (s.notice) scroll.append(h("div", `tkr-notice tkr-${s.notice[0]}`, s.notice[1]));
    for (const p of s.top || []) scroll.append(pane(p, query));
    const panes = h("div", "tkr-panes");
    panes.append(...s.panes.map((p) => pane(p, query)));
    scroll.append(panes);
    for (const sec of s.sections || []) {
      const d = h("details", "tkr-section");
      d.open = sec.open;
      d.dataset.name = sec.name;
      d.append(h("summary", null, sec.title));
      if (sec.open) {
        if (sec.panes) {
          const grid = h("div", "tkr-panes");
          grid.append(...sec.panes.map((p) => pane(p, query)));
          d.append(grid);
        } else {
          d.append(h("div", "tkr-text", sec.text));
        }
      }
      d.addEventListener("toggle", () => {
        if (d.open !== sec.open) send({ do: "open", what: sec.name, open: d.open });
      });
      scroll.append(d);
    }
    scroll.scrollTop = s.id !== shownId ? 0 : top;
    shownId = s.id;
  }
  const update = () => draw(model.get("view") || {}, false);

  // What a person sees at once on j or a label-and-advance key: the sample the kernel prefetched
  // (`ahead`). It records nothing; a second press before the reply finds no `ahead` and only sends.
  function forward() {
    const v = drawn, a = v.ahead;
    if (a) draw({ ...v, pos: a.pos, counter: a.counter, sample: a.sample, ahead: null, message: "" }, true);
  }

  // Keys that scroll the text pane: [key, shift] -> how far (a function of the pane's height).
  const SCROLL = {
    " ": (p, e) => (e.shiftKey ? -1 : 1) * p.clientHeight * 0.9,
    PageDown: (p) => p.clientHeight * 0.9, PageUp: (p) => -p.clientHeight * 0.9,
    ArrowDown: () => 40, ArrowUp: () => -40,
    Home: (p) => -p.scrollHeight, End: (p) => p.scrollHeight,
  };

  function act(e) {
    const v = drawn;
    const keys = Object.fromEntries((v.marks || []).map(([value, key]) => [key, value]));
    if (e.key === "ArrowRight" || e.key === "j") { send({ do: "next" }); forward(); }
    else if (e.key === "ArrowLeft" || e.key === "k") send({ do: "prev" });
    else if (e.key === "/") search.focus({ preventScroll: true });
    else if (e.key === "Escape" && !confirmRow.hidden) closeConfirm();
    else if (e.key in SCROLL) scroll.scrollTop += SCROLL[e.key](scroll, e);
    else if (e.key === "n" && (v.marks || []).length) send({ do: "unreviewed" });
    else if (e.key === "z" && (v.marks || []).length) send({ do: "undo" });
    else if (keys[e.key] && v.sample) { send({ do: "mark", value: keys[e.key], advance: true }); forward(); }
    else return false;
    return true;
  }

  root.addEventListener("keydown", (e) => {
    const tag = e.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA") {
      if (e.key === "Escape") { e.preventDefault(); home(); }
      e.stopPropagation();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    // A closed dropdown with focus would turn arrows and letters into a new filter value: they
    // act on the widget instead (Alt+Down, Enter or Space still open it).
    const select = tag === "SELECT";
    if (select && (e.key === " " || e.key === "Enter" || e.key === "Tab")) { e.stopPropagation(); return; }
    if (select || tag === "BUTTON" || tag === "SUMMARY") home();
    if (!act(e) && !select) return;
    e.preventDefault();
    e.stopPropagation();
  });

  model.on("change:view", update);
  update();
  return () => model.off("change:view", update);
}

export default { render };
"""
