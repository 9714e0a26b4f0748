// app.js: the console's shell: session, router, live event stream.
// Views live in their own modules and get a context with the bus.
import { api, setCSRF, APIError, el } from "./api.js";
import { galleryView } from "./gallery.js";
import { detailView } from "./detail.js";
import { executionsView, executionView } from "./executions.js";
import { healthView, healthDot } from "./health.js";

const $ = (id) => document.getElementById(id);
const view = $("view");

// bus dispatches the server's events to whoever listens.
const listeners = new Map();
export const bus = {
  on(type, f) {
    if (!listeners.has(type)) listeners.set(type, new Set());
    listeners.get(type).add(f);
    return () => listeners.get(type).delete(f);
  },
  emit(type, data) {
    for (const f of listeners.get(type) || []) {
      try { f(data); } catch (e) { console.error(e); }
    }
  },
};

let source = null;
function connect() {
  if (source) source.close();
  source = new EventSource("api/events");
  const live = $("live");
  let first = true;
  source.addEventListener("hello", () => {
    live.textContent = "live";
    live.classList.add("on");
    // After a break, what was missed is fetched again.
    if (!first) bus.emit("reconnected");
    first = false;
  });
  for (const type of ["document", "removed", "execution", "state", "health", "upload"]) {
    source.addEventListener(type, (e) => bus.emit(type, JSON.parse(e.data)));
  }
  source.onerror = async () => {
    live.textContent = "offline";
    live.classList.remove("on");
    try { await api("session"); } catch (e) {
      if (e instanceof APIError && e.status === 401) { source.close(); source = null; signIn(); }
    }
  };
}

// The routes: #/ gallery, #/image/KEY, #/executions, #/executions/NAME,
// #/health. Each view returns a cleanup function.
let cleanup = null;
function route() {
  if (cleanup) cleanup();
  cleanup = null;
  const h = location.hash.replace(/^#/, "") || "/";
  const [path, query] = h.split("?");
  const params = new URLSearchParams(query || "");
  const ctx = { bus, params, root: view };
  view.replaceChildren();
  let name = "gallery";
  let m;
  if ((m = path.match(/^\/image\/(.+)$/))) cleanup = detailView(ctx, decodeURIComponent(m[1]));
  else if ((m = path.match(/^\/executions\/(.+)$/))) { name = "executions"; cleanup = executionView(ctx, decodeURIComponent(m[1])); }
  else if (path === "/executions") { name = "executions"; cleanup = executionsView(ctx); }
  else if (path === "/health") { name = "health"; cleanup = healthView(ctx); }
  else cleanup = galleryView(ctx);
  for (const a of document.querySelectorAll("[data-nav]")) a.classList.toggle("current", a.dataset.nav === name);
  if (path.startsWith("/image/")) for (const a of document.querySelectorAll("[data-nav]")) a.classList.remove("current");
}

function signIn(message) {
  if (cleanup) cleanup();
  cleanup = null;
  $("signout").hidden = true;
  const node = $("tpl-signin").content.cloneNode(true);
  view.replaceChildren(node);
  const msg = view.querySelector(".msg");
  if (message) { msg.textContent = message; msg.hidden = false; }
  const form = view.querySelector("form");
  form.elements.accessKeyId.focus();
  form.onsubmit = async (e) => {
    e.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      // The secret is sent once, over this origin, and not kept.
      const info = await api("signin", { method: "POST", body: { accessKeyId: form.elements.accessKeyId.value, secretAccessKey: form.elements.secretAccessKey.value } });
      form.reset();
      start(info);
    } catch (err) {
      msg.textContent = err.message;
      msg.hidden = false;
      button.disabled = false;
    }
  };
}

let started = false;
function start(info) {
  setCSRF(info.csrf);
  $("signout").hidden = false;
  connect();
  healthDot(bus);
  if (!started) {
    started = true;
    window.addEventListener("hashchange", route);
  }
  route();
}

$("signout").onclick = async () => {
  try { await api("signout", { method: "POST" }); } catch { /* signed out anyway */ }
  if (source) { source.close(); source = null; }
  signIn("Signed out.");
};

(async function main() {
  let note = "";
  if (location.hash === "#signin=link-used") {
    note = "That sign-in link was used already or has expired: sign in with the access key and secret, or restart serve for a new link.";
    history.replaceState(null, "", location.pathname);
  }
  try {
    start(await api("session"));
  } catch (e) {
    if (e instanceof APIError && e.status === 401) signIn(note);
    else view.replaceChildren(el("p", { class: "err" }, "The console cannot reach the server: " + e.message));
  }
})();
