// graph.js: the state machine drawn as a graph, as the Step Functions
// console does: states in layers from StartAt (longest path), edges for
// Next, Choices, Default (solid) and Catch (dashed), each state coloured by
// its status in an execution's history, with its duration.
import { svg, duration } from "./api.js";

// edges lists a state's transitions.
function edges(st) {
  const out = [];
  if (st.Next) out.push([st.Next, "next"]);
  for (const c of st.Choices || []) if (c.Next) out.push([c.Next, "choice"]);
  if (st.Default) out.push([st.Default, "choice"]);
  for (const c of st.Catch || []) if (c.Next) out.push([c.Next, "catch"]);
  return out;
}

// layout assigns each state a layer (longest path from StartAt, ignoring
// edges back to a state on the path) and a column.
export function layout(def) {
  const states = def.States || {};
  const layer = {};
  const visit = (name, depth, path) => {
    if (!states[name] || path.has(name)) return;
    if (layer[name] !== undefined && layer[name] >= depth) return;
    layer[name] = depth;
    path.add(name);
    for (const [to] of edges(states[name])) visit(to, depth + 1, path);
    path.delete(name);
  };
  visit(def.StartAt, 0, new Set());
  for (const name of Object.keys(states)) if (layer[name] === undefined) layer[name] = 0;
  const rows = [];
  for (const name of Object.keys(states)) (rows[layer[name]] = rows[layer[name]] || []).push(name);
  // Order each row by where its predecessors sit (one barycentre pass).
  const col = {};
  rows.forEach((row, r) => {
    if (r > 0) {
      const pos = (n) => {
        const preds = Object.keys(states).filter((p) => layer[p] < r && edges(states[p]).some(([to]) => to === n));
        return preds.length ? preds.reduce((a, p) => a + (col[p] ?? 0), 0) / preds.length : 0;
      };
      row.sort((a, b) => pos(a) - pos(b) || a.localeCompare(b));
    }
    row.forEach((n, i) => { col[n] = i - (row.length - 1) / 2; });
  });
  return { states, layer, col, rows };
}

// statuses reads an execution's history into each state's status
// (succeeded, caught, failed, running) and duration.
export function statuses(events, execStatus) {
  const out = {};
  let current = null;
  for (const e of events) {
    const d = e.details || {};
    if (e.type.endsWith("StateEntered")) {
      current = d.name;
      const failState = e.type === "FailStateEntered";
      out[d.name] = { status: failState ? "failed" : "running", entered: e.timestamp, lastTask: "" };
    } else if (e.type.endsWith("StateExited")) {
      const s = out[d.name];
      if (s) {
        s.exited = e.timestamp;
        s.status = /Failed$|TimedOut$/.test(s.lastTask) ? "caught" : "succeeded";
      }
      current = null;
    } else if (current && out[current] && /^(Task|LambdaFunction|Activity)(Failed|TimedOut|Succeeded)$/.test(e.type)) {
      out[current].lastTask = e.type;
      if (/Failed|TimedOut/.test(e.type)) out[current].retries = (out[current].retries || 0) + 1;
    }
  }
  for (const s of Object.values(out)) {
    if (s.status === "running" && execStatus !== "RUNNING") s.status = "failed";
  }
  return out;
}

const W = 168, H = 44, GX = 18, GY = 34;

// drawGraph returns the SVG of def coloured by st (from statuses).
export function drawGraph(def, st = {}) {
  const { states, layer, col, rows } = layout(def);
  const width = Math.max(...rows.map((r) => r.length)) * (W + GX) + GX;
  const height = rows.length * (H + GY) + GY;
  const cx = (n) => width / 2 + col[n] * (W + GX);
  const cy = (n) => GY + layer[n] * (H + GY);
  const g = svg("svg", { class: "graph", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "state machine graph" },
    svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" },
      svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }))));
  for (const [name, s] of Object.entries(states)) {
    for (const [to, kind] of edges(s)) {
      if (!states[to]) continue;
      const x1 = cx(name), y1 = cy(name) + H, x2 = cx(to), y2 = cy(to);
      const back = layer[to] <= layer[name];
      const d = back
        ? `M${x1 + W / 2},${y1 - H / 2} C${x1 + W},${y1 - H / 2} ${x2 + W},${y2 + H / 2} ${x2 + W / 2},${y2 + H / 2}`
        : `M${x1},${y1} C${x1},${(y1 + y2) / 2} ${x2},${(y1 + y2) / 2} ${x2},${y2}`;
      const taken = st[name] && st[to];
      g.append(svg("path", { d, class: "edge " + kind + (taken ? " taken" : ""), "marker-end": "url(#arrow)" }));
    }
  }
  for (const [name, s] of Object.entries(states)) {
    const info = st[name];
    const status = info ? info.status : "notrun";
    const x = cx(name) - W / 2, y = cy(name);
    const label = info && info.exited ? duration(info.entered, info.exited) + (info.retries ? ` · ${info.retries} retr${info.retries === 1 ? "y" : "ies"}` : "") : (info ? status : s.Type);
    const node = svg("g", { class: "node " + status, "data-state": name, "data-status": status, tabindex: "0" },
      svg("title", {}, `${name} (${s.Type}): ${status}${info && info.exited ? ", " + duration(info.entered, info.exited) : ""}`),
      svg("rect", { x, y, width: W, height: H, rx: s.Type === "Choice" ? 20 : 6 }),
      svg("text", { x: x + W / 2, y: y + 18, class: "name" }, name),
      svg("text", { x: x + W / 2, y: y + 34, class: "sub" }, label));
    g.append(node);
  }
  return g;
}
