// Package web embeds the static files of the web console served by
// internal/ui: index.html, style.css and the ES modules (app.js and the
// views it imports). There is no build step: the files are served as they
// are in static/.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var files embed.FS

// Static returns the console's files at the root.
func Static() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}
