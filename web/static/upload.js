// upload.js: drag-and-drop uploads. Each file asks the server for an
// upload URL (the server picks the key), is PUT to the S3 endpoint with
// progress, then waits for its document on the event stream: done with
// its top labels, or failed with the error code and message.
import { api, el, pct } from "./api.js";

// The tracked uploads by key, and documents that arrived before their
// PUT finished.
const pending = new Map();
const early = new Map();
let wired = false;

function wire(bus) {
  if (wired) return;
  wired = true;
  bus.on("document", (it) => {
    const u = pending.get(it.key);
    if (!u) {
      early.set(it.key, it);
      if (early.size > 200) early.delete(early.keys().next().value);
      return;
    }
    if (u.etag && it.etag && u.etag !== it.etag) return; // an older version's
    finish(u, it);
  });
  bus.on("execution", (ex) => {
    const u = pending.get(ex.key);
    if (u && u.row.dataset.state !== "done" && u.row.dataset.state !== "failed") {
      u.execution = ex.name;
      if (ex.status === "RUNNING") u.status("recognising…");
    }
  });
  bus.on("state", (s) => {
    for (const u of pending.values()) {
      if (u.execution === s.execution && s.state && s.type.endsWith("StateEntered")) u.status("recognising: " + s.state + "…");
    }
  });
}

function finish(u, it) {
  pending.delete(u.key);
  const link = el("a", { href: "#/image/" + encodeURIComponent(it.key) }, it.key);
  u.name.replaceChildren(link);
  if (it.failed) {
    u.row.dataset.state = "failed";
    u.bar.value = 1;
    u.status(el("span", { class: "err" }, el("strong", { class: "code" }, it.error), " ", it.message || ""));
  } else {
    u.row.dataset.state = "done";
    const labels = (it.labels || []).slice(0, 3).map((l) => el("span", { class: "chip" }, l.name + " " + pct(l.confidence)));
    u.status(el("span", { class: "ok" }, "done"), " ", labels.length ? labels : el("span", { class: "muted" }, "no labels"));
  }
}

function xhrPut(url, file, headers, onProgress) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open("PUT", url);
    for (const [k, v] of Object.entries(headers || {})) x.setRequestHeader(k, v);
    x.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    x.onload = () => {
      if (x.status >= 200 && x.status < 300) { resolve((x.getResponseHeader("ETag") || "").replace(/"/g, "")); return; }
      // The S3 endpoint answers errors in XML: <Code> and <Message>.
      const doc = x.responseXML || new DOMParser().parseFromString(x.responseText || "", "application/xml");
      const code = doc.querySelector("Code")?.textContent || String(x.status);
      const msg = doc.querySelector("Message")?.textContent || x.statusText;
      reject(Object.assign(new Error(msg), { code }));
    };
    x.onerror = () => reject(Object.assign(new Error("the upload did not reach the server"), { code: "NetworkError" }));
    x.send(file);
  });
}

async function upload(file, list) {
  const name = el("span", { class: "name" }, file.name);
  const bar = el("progress", { max: "1", value: "0", "aria-label": "upload progress of " + file.name });
  const state = el("span", { class: "state" }, "waiting…");
  const row = el("li", { class: "upload", dataset: { state: "uploading" } }, name, bar, state);
  list.prepend(row);
  const u = { row, name, bar, status: (...c) => state.replaceChildren(...c.flat()) };
  try {
    const g = await api("uploads", { method: "POST", body: { name: file.name, type: file.type, size: file.size } });
    u.key = g.key;
    if (g.key !== file.name) name.textContent = file.name + " → " + g.key;
    u.status("uploading…");
    pending.set(g.key, u);
    u.etag = await xhrPut(g.url, file, g.headers, (f) => { bar.value = f; });
    bar.value = 1;
    if (row.dataset.state !== "uploading") return; // its document came first
    row.dataset.state = "recognising";
    u.status("uploaded, waiting for recognition…");
    const it = early.get(g.key);
    if (it && (!u.etag || !it.etag || it.etag === u.etag)) { early.delete(g.key); finish(u, it); }
  } catch (e) {
    if (u.key) pending.delete(u.key);
    if (row.dataset.state === "done" || row.dataset.state === "failed") return;
    row.dataset.state = "failed";
    u.status(el("span", { class: "err" }, el("strong", { class: "code" }, e.code || "Error"), " ", e.message));
  }
}

// uploadPanel returns the drop zone and the list of uploads.
// The list outlives the gallery view, so uploads keep their rows.
let list = null;
let clear = null;
let observer = null;
const FINISHED = 'li[data-state="done"], li[data-state="failed"]';
const showClear = () => { if (clear) clear.hidden = !list.querySelector(FINISHED); };

export function uploadPanel(bus) {
  wire(bus);
  list = list || el("ul", { class: "uploads", "aria-live": "polite" });
  const input = el("input", { type: "file", id: "file", multiple: true, accept: "image/*", class: "visually-hidden" });
  const zone = el("label", { class: "drop", for: "file" },
    el("strong", {}, "Drop images here"), " or ", el("span", { class: "linkish" }, "choose files"),
    el("span", { class: "muted small" }, "They go to the upload bucket through a presigned PUT, like aws s3 cp."));
  const files = (fs) => { for (const f of fs) upload(f, list); };
  input.onchange = () => { files(input.files); input.value = ""; };
  zone.ondragover = (e) => { e.preventDefault(); zone.classList.add("over"); };
  zone.ondragleave = () => zone.classList.remove("over");
  zone.ondrop = (e) => { e.preventDefault(); zone.classList.remove("over"); files(e.dataTransfer.files); };
  clear = el("button", { type: "button", class: "clear" }, "Clear finished uploads");
  clear.onclick = () => { for (const li of list.querySelectorAll(FINISHED)) li.remove(); showClear(); };
  if (!observer) {
    observer = new MutationObserver(showClear);
    observer.observe(list, { subtree: true, attributes: true, childList: true, attributeFilter: ["data-state"] });
  }
  showClear();
  return el("section", { class: "card upload-panel", "aria-label": "Upload" }, input, zone, list, clear);
}
