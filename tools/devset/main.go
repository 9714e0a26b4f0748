// Command devset fetches the labelled development set's photos (see
// package internal/vision/devset) into <cache>/devset/, where cache is
// $IMAGEREC_CACHE, else <user cache dir>/imagerec. It is run by
// scripts/devset.sh:
//
//	go run ./tools/devset [-manifest testdata/devset/manifest.json] [-dir DIR] [-check]
//
// With -check it only reports missing or wrong photos (exit 1 if any).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/imagerec/imagerec/internal/cachedir"
	"github.com/imagerec/imagerec/internal/vision/devset"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("devset", flag.ContinueOnError)
	fs.SetOutput(stderr)
	manifest := fs.String("manifest", filepath.Join("testdata", "devset", "manifest.json"), "manifest `file`")
	dir := fs.String("dir", "", "photo `directory` (default <cache>/devset)")
	check := fs.Bool("check", false, "only check the photos; download nothing")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" {
		root, err := cachedir.Root(getenv)
		if err != nil {
			fmt.Fprintln(stderr, "devset:", err)
			return 1
		}
		*dir = filepath.Join(root, "devset")
	}
	m, err := devset.Load(*manifest)
	if err != nil {
		fmt.Fprintln(stderr, "devset:", err)
		return 1
	}
	if *check {
		problems := m.Check(*dir)
		for _, p := range problems {
			fmt.Fprintf(stderr, "devset: %s: %v\n", p.Photo.ID, p.Err)
		}
		if len(problems) > 0 {
			return 1
		}
		fmt.Fprintf(stdout, "devset: %d photos present in %s\n", len(m.Photos), *dir)
		return 0
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	start := time.Now()
	st, err := (&devset.Fetcher{Dir: *dir, Log: log}).Fetch(ctx, m)
	if err != nil {
		fmt.Fprintln(stderr, "devset:", err)
		return 1
	}
	fmt.Fprintf(stdout, "devset: %d photos in %s (%d present, %d extracted from %d packages) in %s\n",
		len(m.Photos), *dir, st.Present, st.Extracted, len(st.Packages), time.Since(start).Round(time.Millisecond))
	return 0
}
