"""The review widget's CSS (front.py holds its ES module).

Rows of controls wrap rather than clip or overlap at any width; the header, summary and message
lines wrap too; a sample-list entry cuts its id, never its label badge.

But: one light theme; JupyterLab's dark theme variables are used only for the font and its colour.
"""

CSS = """
.tkr { font-family: var(--jp-ui-font-family, sans-serif); font-size: 13px; line-height: 1.45;
  color: var(--jp-ui-font-color1, #222); border: 1px solid #ccc; border-radius: 4px; padding: 6px;
  outline: none; }
.tkr:focus, .tkr:focus-within { border-color: #1976d2; box-shadow: 0 0 0 1px #1976d2; }
.tkr-bar { display: flex; flex-wrap: wrap; gap: 4px 6px; align-items: center; min-height: 30px; }
.tkr-bar[hidden], .tkr-button[hidden], .tkr-line[hidden] { display: none; }
.tkr-marks { display: contents; }
.tkr-button { height: 24px; padding: 0 8px; flex: none; white-space: nowrap; }
.tkr-key { font-family: var(--jp-code-font-family, monospace); font-size: 11px; color: #555;
  border: 1px solid #bbb; border-radius: 3px; padding: 0 3px; margin-left: 2px; background: #f6f6f6; }
.tkr-mark.tkr-on { background: #1976d2; color: white; }
.tkr-mark.tkr-on .tkr-key { color: #222; }
.tkr-confirm { background: #fff8e1; border: 1px solid #f0c36d; border-radius: 3px; padding: 2px 6px; }
.tkr-counter, .tkr-progress { flex: none; white-space: nowrap; font-variant-numeric: tabular-nums; }
.tkr-counter { min-width: 22em; }
.tkr-progress { min-width: 14em; color: #555; }
.tkr-jump { width: 12em; flex: none; }
.tkr-search { width: 18em; flex: 0 1 auto; min-width: 8em; }
.tkr-selects { display: contents; }
.tkr-select { flex: none; max-width: 16em; }
.tkr-note-input { flex: 1 1 12em; min-width: 8em; }
.tkr-line { min-height: 1.45em; white-space: pre-wrap; overflow-wrap: anywhere; }
.tkr-msg, .tkr-help { color: #666; font-size: 12px; }
.tkr-stale { color: #a15c00; font-style: italic; }
.tkr-body { display: flex; gap: 8px; height: 55vh; margin-top: 4px; }
.tkr-list { width: 250px; flex: none; overflow-y: auto; font-size: 12px; border-right: 1px solid #ddd; }
.tkr-item { cursor: pointer; display: flex; gap: 4px; padding: 0 4px; border-left: 3px solid transparent; }
.tkr-pos { flex: none; white-space: pre; color: #666; }
.tkr-id { flex: 1 1 auto; min-width: 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  direction: rtl; text-align: left; }
.tkr-id-text { direction: ltr; unicode-bidi: embed; }
.tkr-badge { flex: none; max-width: 7em; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  font-size: 11px; padding: 0 4px; border-radius: 3px; background: #e8eaf6; color: #283593; }
.tkr-badge.tkr-stale { background: #fff3e0; }
.tkr-item.tkr-ok { border-left-color: #2e7d32; }
.tkr-item.tkr-failed { border-left-color: #c62828; }
.tkr-item.tkr-skipped { border-left-color: #9e9e9e; color: #777; }
.tkr-item.tkr-cur { background: #e3f0fd; font-weight: 600; }
.tkr-scroll { flex: 1; min-width: 0; overflow-y: auto; padding-right: 4px; }
.tkr-panes { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 12px; }
.tkr-title { font-weight: 600; margin: 4px 0; overflow-wrap: anywhere; }
.tkr-note { color: #777; font-style: italic; }
.tkr-text { white-space: pre-wrap; overflow-wrap: anywhere; }
.tkr-del { background: #f8c8c8; }
.tkr-ins { background: #c8f0c8; text-decoration: none; }
.tkr-hit { background: #ffe066; color: inherit; padding: 0; }
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
