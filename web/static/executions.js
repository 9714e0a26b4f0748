// executions.js: the executions list (status, key, start, duration,
// filter by status) and one execution: the state machine graph coloured by
// its history, and the event history with expandable input and output.
// Both follow the event stream.
import { api, q, el, enc, when, duration } from "./api.js";
import { drawGraph, statuses } from "./graph.js";

const STATUSES = ["", "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];

function badge(status) {
  return el("span", { class: "status " + status }, status);
}

function row(e) {
  return el("tr", { dataset: { name: e.name, status: e.status } },
    el("td", { class: "name" }, el("a", { href: "#/executions/" + enc(e.name) }, e.key || e.name),
      el("span", { class: "exec-name muted small", title: e.name }, e.name)),
    el("td", {}, badge(e.status), e.error ? el("div", { class: "err small" }, e.error) : null),
    el("td", { class: "when" }, when(e.startDate)),
    el("td", { class: "dur" }, e.stopDate ? duration(e.startDate, e.stopDate) : "…"));
}

export function executionsView({ bus, params, root }) {
  let status = params.get("status") || "";
  let offset = 0;
  const select = el("select", { "aria-label": "Filter by status" }, STATUSES.map((s) => el("option", { value: s, selected: s === status }, s || "All statuses")));
  const tbody = el("tbody");
  const more = el("button", { type: "button", hidden: true }, "Load more");
  const summary = el("span", { class: "muted" });
  root.append(el("section", { class: "card executions" },
    el("div", { class: "toolbar" }, el("h1", {}, "Executions"), select, summary),
    el("div", { class: "table-wrap" }, el("table", {},
      el("thead", {}, el("tr", {}, ["Object / execution", "Status", "Started", "Duration"].map((h) => el("th", {}, h)))), tbody)),
    more));
  async function load(reset) {
    if (reset) offset = 0;
    const p = await api("executions" + q({ status, offset, limit: 100 }));
    if (reset) tbody.replaceChildren();
    for (const e of p.items) tbody.append(row(e));
    offset = p.next || 0;
    more.hidden = !p.next;
    const c = p.counts || {};
    summary.textContent = Object.entries(c).map(([k, v]) => v + " " + k.toLowerCase()).join(", ");
    for (const o of select.options) o.textContent = (o.value || "All statuses") + (o.value ? " (" + (c[o.value] || 0) + ")" : "");
  }
  select.onchange = () => {
    status = select.value;
    history.replaceState(null, "", "#/executions" + q({ status }));
    load(true);
  };
  more.onclick = () => load(false);
  const offs = [
    bus.on("execution", (e) => {
      const old = tbody.querySelector(`tr[data-name="${CSS.escape(e.name)}"]`);
      if (status && e.status !== status) { if (old) old.remove(); return; }
      if (old) old.replaceWith(row(e));
      else tbody.prepend(row(e));
    }),
    bus.on("reconnected", () => load(true)),
  ];
  load(true).catch((e) => root.append(el("p", { class: "err" }, e.message)));
  return () => offs.forEach((f) => f());
}

// pretty parses a JSON text (history inputs and outputs are strings of
// JSON, as in Step Functions) and indents it.
function pretty(v) {
  if (typeof v === "string") {
    try { return JSON.stringify(JSON.parse(v), null, 2); } catch { return v; }
  }
  return JSON.stringify(v, null, 2);
}

function eventRow(e, start) {
  const d = e.details || {};
  const parts = [];
  for (const k of ["input", "output", "parameters", "error", "cause", "resource"]) {
    if (d[k] !== undefined) parts.push(el("div", { class: "io" }, el("h4", {}, k), el("pre", { class: "json" }, pretty(d[k]))));
  }
  const det = parts.length ? el("details", {}, el("summary", {}, d.name || "details"), parts) : (d.name || "");
  return el("tr", { dataset: { type: e.type } },
    el("td", { class: "num" }, e.id),
    el("td", { class: "type" + (/Failed|TimedOut|Aborted/.test(e.type) ? " err" : "") }, e.type),
    el("td", { class: "det" }, det),
    el("td", { class: "num" }, "+" + duration(start, e.timestamp)));
}

export function executionView({ bus, root }, name) {
  let def = null;
  let gone = false;
  let timer = 0;
  const head = el("div", { class: "detail-head" }, el("a", { href: "#/executions", class: "back" }, "← Executions"), el("h1", { class: "key" }, name));
  const meta = el("div", { class: "exec-meta" });
  const graphBox = el("div", { class: "graph-box" });
  const tbody = el("tbody");
  root.append(el("article", { class: "execution" }, head, meta,
    el("div", { class: "exec-body" },
      el("section", { class: "card" }, el("h2", {}, "Graph"), graphBox,
        el("p", { class: "legend small" }, ["succeeded", "caught", "failed", "running", "notrun"].map((s) => el("span", { class: "key-" + s }, s === "notrun" ? "not run" : s)))),
      el("section", { class: "card" }, el("h2", {}, "Event history"),
        el("div", { class: "table-wrap" }, el("table", { class: "history" },
          el("thead", {}, el("tr", {}, ["ID", "Type", "State / details", "Elapsed"].map((h) => el("th", {}, h)))), tbody))))));
  async function load() {
    let d;
    try {
      if (!def) def = await api("statemachine");
      d = await api("execution" + q({ name }));
    } catch (e) {
      meta.replaceChildren(el("p", { class: "err" }, e.message));
      return;
    }
    if (gone) return;
    const ex = d.execution;
    meta.replaceChildren(el("div", {},
      badge(ex.status), " ",
      ex.key ? el("span", {}, "s3://" + ex.bucket + "/" + ex.key) : null, " ",
      d.item ? el("a", { href: "#/image/" + enc(d.item.key) }, "open the image") : null,
      el("span", { class: "muted" }, " started " + when(ex.startDate) + (ex.stopDate ? ", took " + duration(ex.startDate, ex.stopDate) : "")),
      ex.error ? el("p", { class: "err" }, el("strong", {}, ex.error), " ", ex.cause || "") : null));
    graphBox.replaceChildren(drawGraph(def, statuses(d.events, ex.status)));
    const start = d.events.length ? d.events[0].timestamp : ex.startDate;
    tbody.replaceChildren(...d.events.map((e) => eventRow(e, start)));
  }
  const soon = () => { clearTimeout(timer); timer = setTimeout(load, 250); };
  const offs = [
    bus.on("state", (s) => { if (s.execution === name) soon(); }),
    bus.on("execution", (e) => { if (e.name === name) soon(); }),
    bus.on("reconnected", soon),
  ];
  load();
  return () => { gone = true; clearTimeout(timer); offs.forEach((f) => f()); };
}
