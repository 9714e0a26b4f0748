// Package gallery indexes the result bucket for the web console: one Item
// per uploaded object, summarised from its result document (<key>.json)
// or error document (<key>.error.json), kept newest first in memory so
// that a page of thumbnails, a label search or a filter (faces, text,
// moderation, failed) over 10,000 results is answered without reading a
// document.
//
// Summarize turns a document's bytes into an Item; it accepts any input
// (it is fed whatever the result bucket holds) and reports what it cannot
// read as an error. An Index is safe for concurrent use: the console's
// watcher puts items as documents are written while requests query it.
// Pages are addressed by a Cursor (the last item's time and key), so a
// page stays stable while new results arrive at the top.
//
// The package holds no I/O: the wiring (cmd/imagerec) lists and reads the
// bucket and feeds the index.
package gallery
