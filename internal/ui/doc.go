// Package ui serves the web console of `imagerec serve` under /_imagerec/:
// upload images, watch the gallery fill in live, search it by label and
// filter it, open an image's detail view (boxes, landmarks, text polygons
// over a preview made by the project's own decoder), follow executions as
// the Step Functions console shows them (list, graph of the state
// machine, event history) and a health panel.
//
// Security (ADR 0011):
//   - Every /api/* call needs a session: an HttpOnly, SameSite=Strict
//     cookie made by signing in with the access key and secret the
//     endpoint accepts (checked by Config.CheckSecret, never stored), or by
//     opening the single-use, expiring sign-in link that NewStartToken
//     makes for the start-up banner. The static page itself holds no data.
//   - State-changing calls (POST) need the session's CSRF token in the
//     X-CSRF-Token header and pass net/http's cross-origin check; sign-in
//     passes the cross-origin check and needs a JSON body.
//   - The Host header must be a loopback name (localhost, *.localhost,
//     127.0.0.0/8, ::1) or Config.PublicURL's host: a DNS rebinding page
//     gets 421 Misdirected Request.
//   - Presigned URLs are made only for a session, for a PUT to the upload
//     bucket of a key the server chose for that upload (the file's name,
//     made unique), and are relative, so the browser sends them to the
//     origin it was served from, whose host the signature covers.
//     Images and documents are served by the console itself under the
//     session, never by presigned GETs.
//   - Guard serves metrics and health to loopback clients, and to any
//     client when Config.PublicMetrics is set.
//
// Live updates go out as Server-Sent Events on /api/events from the
// pipeline's own hooks (PublishDocument, PublishExecution, PublishState,
// PublishUpload): no polling. Images are fetched once per object version:
// the rendition URLs carry the version and are served immutable.
//
// The package reads no environment and keeps its state (sessions, the
// executions list, counters) in memory: a restart signs everyone out.
package ui
