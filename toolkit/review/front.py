"""The review widget's front-end: an anywidget ES module and its CSS, as Python strings.

Strings rather than package files so they ship inside the wheel with no packaging set-up and
nothing is fetched at run time. The module builds its DOM once (controls never move) and fills it
from the `view` trait, one sample at a time. Model and file text only ever reaches the page through
`textContent`, never `innerHTML`. Keys are handled on the widget's own element, which carries
`data-lm-suppress-shortcuts` (JupyterLab's command registry stops there), so they act only while
the widget has focus and notebook shortcuts keep working everywhere else.
"""

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

function pane(p) {
  const box = h("div", "tkr-pane");
  box.append(h("div", "tkr-title", p.title));
  if (p.note) box.append(h("div", "tkr-note", p.note));
  const text = h("div", "tkr-text");
  fillText(text, p.segments);
  box.append(text);
  return box;
}

function render({ model, el }) {
  const send = (msg) => model.send(msg);
  const root = h("div", "tkr");
  root.tabIndex = 0;
  root.setAttribute("data-lm-suppress-shortcuts", "true");

  const button = (label, cls, onclick) => {
    const b = h("button", "tkr-button " + cls, label);
    b.type = "button";
    b.addEventListener("click", onclick);
    return b;
  };
  const prev = button("\u25C0 Prev", "tkr-prev", () => send({ do: "prev" }));
  const next = button("Next \u25B6", "tkr-next", () => send({ do: "next" }));
  const counter = h("span", "tkr-counter");
  const progress = h("span", "tkr-progress");
  const jump = h("input", "tkr-jump");
  jump.placeholder = "go to #pos or id prefix";
  jump.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { send({ do: "jump", text: jump.value }); jump.value = ""; root.focus(); }
  });
  const marks = h("span", "tkr-marks");
  const bar = h("div", "tkr-bar");
  bar.append(prev, next, counter, progress, jump, marks);

  const search = h("input", "tkr-search");
  search.placeholder = "search (/)";
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { send({ do: "filter", name: "search", value: search.value }); root.focus(); }
  });
  const selects = h("span", "tkr-selects");
  const note = h("input", "tkr-note-input");
  note.placeholder = "note (Enter saves)";
  note.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { send({ do: "note", text: note.value }); root.focus(); }
  });
  const filters = h("div", "tkr-bar");
  filters.append(search, selects, note);

  const summary = h("div", "tkr-line tkr-summary");
  const head = h("div", "tkr-line tkr-head");
  const list = h("div", "tkr-list");
  const scroll = h("div", "tkr-scroll");
  const body = h("div", "tkr-body");
  body.append(list, scroll);
  const msg = h("div", "tkr-line tkr-msg");
  const help = h("div", "tkr-line tkr-help");
  root.append(bar, filters, summary, head, body, msg, help);
  el.append(root);

  const markButtons = new Map();
  const selectBoxes = new Map();
  let shownId = null;

  function update() {
    const v = model.get("view") || {};
    const s = v.sample;
    counter.textContent = v.counter || "";
    progress.textContent = v.progress || "";
    prev.disabled = !s || v.pos <= 0;
    next.disabled = !s || v.pos >= v.n - 1;
    for (const [value, key] of v.marks || []) {
      if (!markButtons.has(value)) {
        const b = button(`${value} (${key})`, "tkr-mark", () => send({ do: "mark", value, advance: false }));
        b.dataset.mark = value;
        markButtons.set(value, b);
        marks.append(b);
      }
    }
    for (const [value, b] of markButtons) {
      b.disabled = !s;
      b.classList.toggle("tkr-on", !!s && s.mark === value);
    }
    for (const [name, options, value] of v.filters || []) {
      let box = selectBoxes.get(name);
      if (!box) {
        box = h("select", "tkr-select");
        box.title = name;
        box.dataset.name = name;
        box.addEventListener("change", () => send({ do: "filter", name, value: box.value }));
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

    list.replaceChildren(...(v.list || []).map(([pos, id, status, mark]) => {
      const item = h("div", `tkr-item tkr-${status}` + (pos === v.pos ? " tkr-cur" : ""),
                     `${pos + 1}. ${id}` + (mark ? ` \u00B7 ${mark}` : ""));
      item.title = `${pos + 1}. ${id} (${status})`;
      item.addEventListener("click", () => { send({ do: "go", pos }); root.focus(); });
      return item;
    }));

    head.replaceChildren();
    scroll.replaceChildren();
    root.dataset.id = s ? s.id : "";
    if (!s) {
      head.append(h("i", null, v.empty || "No sample."));
      scroll.append(h("div", "tkr-empty", v.empty || "No sample."));
      shownId = null;
      return;
    }
    head.title = s.head.map(([k, val]) => `${k} ${val}`).join(" \u00B7 ");
    s.head.forEach(([k, val], i) => {
      if (i) head.append(document.createTextNode(" \u00B7 "));
      head.append(h("b", null, k), document.createTextNode(" "), h("span", k === "status" ? `tkr-${val}` : null, val));
    });
    if (s.notice) scroll.append(h("div", `tkr-notice tkr-${s.notice[0]}`, s.notice[1]));
    for (const p of s.top || []) scroll.append(pane(p));
    const panes = h("div", "tkr-panes");
    panes.append(...s.panes.map(pane));
    scroll.append(panes);
    for (const sec of s.sections || []) {
      const d = h("details", "tkr-section");
      d.open = sec.open;
      d.dataset.name = sec.name;
      d.append(h("summary", null, sec.title));
      if (sec.open) {
        if (sec.panes) {
          const grid = h("div", "tkr-panes");
          grid.append(...sec.panes.map(pane));
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
    if (s.id !== shownId) scroll.scrollTop = 0;
    shownId = s.id;
  }

  root.addEventListener("keydown", (e) => {
    const tag = e.target.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") {
      if (e.key === "Escape") { e.preventDefault(); root.focus(); }
      e.stopPropagation();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const v = model.get("view") || {};
    const keys = Object.fromEntries((v.marks || []).map(([value, key]) => [key, value]));
    if (e.key === "ArrowRight" || e.key === "j") send({ do: "next" });
    else if (e.key === "ArrowLeft" || e.key === "k") send({ do: "prev" });
    else if (e.key === "/") search.focus();
    else if (keys[e.key] && v.sample) send({ do: "mark", value: keys[e.key], advance: true });
    else return;
    e.preventDefault();
    e.stopPropagation();
  });

  model.on("change:view", update);
  update();
  return () => model.off("change:view", update);
}

export default { render };
"""

CSS = """
.tkr { font-family: var(--jp-ui-font-family, sans-serif); font-size: 13px; line-height: 1.45;
  color: var(--jp-ui-font-color1, #222); border: 1px solid #ccc; border-radius: 4px; padding: 6px;
  outline: none; }
.tkr:focus, .tkr:focus-within { border-color: #1976d2; box-shadow: 0 0 0 1px #1976d2; }
.tkr-bar { display: flex; gap: 6px; align-items: center; height: 30px; white-space: nowrap;
  overflow: hidden; }
.tkr-button { height: 24px; padding: 0 8px; flex: none; }
.tkr-mark.tkr-on { background: #1976d2; color: white; }
.tkr-counter { display: inline-block; width: 14em; flex: none; font-variant-numeric: tabular-nums; }
.tkr-progress { display: inline-block; width: 11em; flex: none; color: #555;
  font-variant-numeric: tabular-nums; }
.tkr-jump { width: 11em; flex: 0 1 auto; min-width: 6em; }
.tkr-search { width: 18em; flex: none; }
.tkr-note-input { flex: 1; min-width: 8em; }
.tkr-line { height: 1.45em; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tkr-msg, .tkr-help { color: #666; font-size: 12px; }
.tkr-body { display: flex; gap: 8px; height: 55vh; margin-top: 4px; }
.tkr-list { width: 180px; flex: none; overflow-y: auto; font-size: 12px; border-right: 1px solid #ddd; }
.tkr-item { cursor: pointer; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  padding: 0 4px; border-left: 3px solid transparent; }
.tkr-item.tkr-ok { border-left-color: #2e7d32; }
.tkr-item.tkr-failed { border-left-color: #c62828; }
.tkr-item.tkr-skipped { border-left-color: #9e9e9e; color: #777; }
.tkr-item.tkr-cur { background: #e3f0fd; font-weight: 600; }
.tkr-scroll { flex: 1; overflow-y: auto; padding-right: 4px; }
.tkr-panes { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.tkr-title { font-weight: 600; margin: 4px 0; }
.tkr-note { color: #777; font-style: italic; }
.tkr-text { white-space: pre-wrap; overflow-wrap: anywhere; }
.tkr-del { background: #f8c8c8; }
.tkr-ins { background: #c8f0c8; text-decoration: none; }
.tkr-notice { padding: 2px 6px; border-radius: 3px; white-space: pre-wrap; margin-bottom: 4px; }
.tkr-notice.tkr-failed { background: #fdecec; color: #b00020; }
.tkr-notice.tkr-skipped { background: #eeeeee; color: #555; }
.tkr-head .tkr-ok { color: #2e7d32; }
.tkr-head .tkr-failed { color: #c62828; }
.tkr-head .tkr-skipped { color: #777; }
.tkr-empty { color: #666; font-style: italic; padding: 12px; }
.tkr-section { margin-top: 8px; }
.tkr-section > summary { cursor: pointer; color: #555; }
"""
