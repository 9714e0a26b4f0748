// health.js: the health panel (uploads and images per minute, queue
// depth, errors by code, reconcile and quarantine counts, problems) and
// the header's dot. Both follow "health" events; nothing is polled.
import { api, el } from "./api.js";

let last = null;
let wired = false;

function dot(h) {
  const d = document.getElementById("health-dot");
  d.className = "dot " + (h.degraded ? "degraded" : "ok");
  d.title = h.degraded ? "degraded: " + h.problems.join("; ") : "healthy";
}

export function healthDot(bus) {
  if (wired) return;
  wired = true;
  bus.on("health", (h) => { last = h; dot(h); });
  api("health").then((h) => { last = last || h; dot(h); }).catch(() => {});
}

function card(label, value, cls) {
  return el("div", { class: "stat " + (cls || "") }, el("span", { class: "value" }, value), el("span", { class: "stat-label" }, label));
}

function render(box, h) {
  const errors = Object.entries(h.errors || {}).sort((a, b) => b[1] - a[1]);
  box.replaceChildren(
    el("div", { class: "stats" },
      card("uploads / min", h.uploadsPerMinute),
      card("images / min", h.imagesPerMinute),
      card("queue depth", h.queueDepth < 0 ? "?" : h.queueDepth),
      card("running", h.running),
      card("results", h.results.toLocaleString() + (h.indexing ? "…" : "")),
      card("reconciled", h.reconciled, h.reconciled ? "warn" : ""),
      card("quarantined executions", h.quarantinedExecutions, h.quarantinedExecutions ? "warn" : "")),
    el("h2", {}, "Errors by code", el("span", { class: "muted small" }, " since the server started")),
    errors.length
      ? el("table", { class: "errors" }, el("tbody", {}, errors.map(([code, n]) => el("tr", {}, el("td", { class: "code" }, code), el("td", { class: "num" }, n)))))
      : el("p", { class: "muted" }, "None."),
    el("h2", {}, h.degraded ? "Needs a look" : "Status"),
    h.degraded ? el("ul", { class: "problems" }, h.problems.map((p) => el("li", { class: "err" }, p))) : el("p", { class: "ok" }, "Healthy."),
    el("p", { class: "muted small" }, "Also: ", el("a", { href: "healthz" }, "healthz"), ", ", el("a", { href: "metrics" }, "Prometheus metrics"), " (loopback only unless serve --public-metrics)."));
}

export function healthView({ bus, root }) {
  const box = el("div", { class: "health-body" });
  root.append(el("section", { class: "card health" }, el("h1", {}, "Health"), box));
  if (last) render(box, last);
  api("health").then((h) => { last = h; render(box, h); }).catch((e) => box.replaceChildren(el("p", { class: "err" }, e.message)));
  const off = bus.on("health", (h) => render(box, h));
  return off;
}
