package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/imagerec/imagerec/internal/cachedir"
	"github.com/imagerec/imagerec/internal/membudget"
	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/vision"
	"github.com/imagerec/imagerec/internal/vision/onnx"
)

const recognizeUsage = "recognize [--features labels,faces,text,moderation] [--out DIR] [--min-confidence N] [--max-labels N] [--workers N] [--memory-budget SIZE] FILE|DIR..."

// imageExts are the file name endings picked up when walking a directory.
// Files named explicitly are always tried: the decoder sniffs the content.
var imageExts = map[string]bool{
	".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".webp": true, ".bmp": true,
	".tif": true, ".tiff": true, ".heic": true, ".heif": true, ".avif": true,
}

// cmdRecognize recognises image files with the local engine. With one input
// and no --out it prints the result document to stdout; with --out it
// writes <out>/<file>.json or <file>.error.json per image and shows a
// progress bar on stderr. It exits 1 when any input failed.
func cmdRecognize(ctx context.Context, env *Env, args []string) error {
	fset := newFlagSet(env, "recognize", recognizeUsage)
	features := fset.String("features", "all", "comma-separated features: labels, faces, text, moderation, or all")
	out := fset.String("out", "", "write one <file>.json or <file>.error.json per image into `DIR` (default: print to stdout)")
	minConf := fset.Float64("min-confidence", 0, "lowest label confidence, 0-100 (default 55, Rekognition's)")
	maxLabels := fset.Int("max-labels", 0, "most labels per image (default 1000)")
	workers := fset.Int("workers", runtime.NumCPU(), "images recognised at once (one per core is fastest)")
	var budgetSize int64
	fset.Func("memory-budget", "memory the images analysed at once may need, e.g. 2GiB (default: a quarter of the machine's memory)", func(s string) (err error) {
		budgetSize, err = membudget.ParseSize(s)
		return err
	})
	if err := fset.Parse(args); err != nil {
		return err
	}
	if fset.NArg() == 0 {
		fset.Usage()
		return &exitError{2}
	}
	feats, err := vision.ParseFeatures(*features)
	if err != nil {
		return err
	}
	files, err := collectInputs(fset.Args())
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return errors.New("no image files found")
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil { //nolint:gosec // the output directory the user asked for (--out)
			return fmt.Errorf("create output directory: %w", err)
		}
	}

	size, why := membudget.Choose(budgetSize, os.ReadFile)
	env.Logger.Debug("memory budget for analysing images", "budget", humanize.IBytes(uint64(size)), "reason", why)
	cache, err := cachedir.Root(env.Getenv)
	if err != nil {
		return err
	}
	eng, err := onnx.New(ctx, onnx.Config{
		CacheRoot: cache,
		Logger:    env.Logger,
		Features:  feats,
		Budget:    membudget.New(size),
	})
	if err != nil {
		return err
	}
	defer eng.Close()
	opts := vision.Options{Features: feats, MinConfidence: *minConf, MaxLabels: *maxLabels}

	// The bar redraws in place: only on a terminal. In a log or a pipe it
	// would be a flood of carriage returns; the summary below says it all.
	var bar *progressbar.ProgressBar
	if *out != "" && isTerminal(env.Stderr) {
		bar = progressbar.NewOptions(len(files),
			progressbar.OptionSetWriter(env.Stderr),
			progressbar.OptionSetDescription("recognize"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("img"),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(env.Stderr) }),
		)
	}

	started := time.Now()
	var (
		mu     sync.Mutex
		failed int
		done   int
		jobs   = make(chan input)
		wg     sync.WaitGroup
	)
	for range max(1, *workers) {
		wg.Go(func() {
			for in := range jobs {
				doc, ok := recognizeFile(ctx, eng, in.path, opts)
				mu.Lock()
				if !ok {
					failed++
				}
				err := emit(env, *out, in, doc, ok)
				if err != nil {
					env.Logger.Error("write result", "file", in.path, "error", err)
					failed++
				}
				done++
				if bar != nil {
					_ = bar.Add(1)
				}
				mu.Unlock()
			}
		})
	}
	for _, f := range files {
		if ctx.Err() != nil {
			break
		}
		jobs <- f
	}
	close(jobs)
	wg.Wait()
	if *out != "" || len(files) > 1 || ctx.Err() != nil {
		elapsed := time.Since(started)
		fmt.Fprintf(env.Stderr, "imagerec recognize: %d of %d images processed, %d failed, %s (%.1f images/s)\n",
			done, len(files), failed, elapsed.Round(time.Millisecond), float64(done)/max(elapsed.Seconds(), 1e-9))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if failed > 0 {
		return &exitError{1}
	}
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd())) //nolint:gosec // a file descriptor fits in an int
}

// input is one file to recognise and the name of its result.
type input struct {
	path string
	rel  string // path relative to the argument it came from
}

// collectInputs expands directories (recursively, image extensions only,
// hidden entries skipped) and keeps files as given.
func collectInputs(args []string) ([]input, error) {
	var out []input
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, input{path: a, rel: filepath.Base(a)})
			continue
		}
		var found []input
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && p != a {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && imageExts[strings.ToLower(filepath.Ext(p))] {
				rel, err := filepath.Rel(a, p)
				if err != nil {
					return err
				}
				found = append(found, input{path: p, rel: rel})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Slice(found, func(i, j int) bool { return found[i].path < found[j].path })
		out = append(out, found...)
	}
	// Two inputs with the same relative name (a/x.jpg and b/x.jpg given
	// as files) would overwrite each other's result: the later ones are
	// named by their whole path instead.
	seen := map[string]bool{}
	for i := range out {
		if seen[out[i].rel] {
			p := filepath.ToSlash(filepath.Clean(out[i].path))
			p = strings.TrimLeft(strings.ReplaceAll(p, "../", ""), "/")
			out[i].rel = filepath.FromSlash(p)
		}
		seen[out[i].rel] = true
	}
	return out, nil
}

// recognizeFile returns the result document, or the error document and
// false. The error document is the pipeline's (pipeline.ErrorDocument,
// built by the same rule), for a Source without a bucket.
func recognizeFile(ctx context.Context, eng *onnx.Engine, path string, opts vision.Options) (any, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		f := pipeline.Failure{Error: pipeline.ErrNameInvalidS3Object, Cause: err.Error()}
		return pipeline.NewErrorDocument(pipeline.Source{Key: path}, f, ""), false
	}
	// Source names the file as the pipeline names an object: the ETag is
	// the MD5 S3 would give a single-part upload of the same bytes.
	sum := md5.Sum(data)
	src := pipeline.Source{Key: path, Size: int64(len(data)), ETag: hex.EncodeToString(sum[:])}
	res, err := eng.Recognize(ctx, vision.Input{Bytes: data, Name: path}, opts)
	if err != nil {
		return pipeline.NewErrorDocument(src, pipeline.RecognizeFailure(err), ""), false
	}
	res.Source = &vision.Source{Key: src.Key, Size: src.Size, ETag: src.ETag}
	return res, true
}

// emit prints doc to stdout, or writes it under dir.
func emit(env *Env, dir string, in input, doc any, ok bool) error {
	b, err := pipeline.EncodeDocument(doc)
	if err != nil {
		return err
	}
	if dir == "" {
		if !ok {
			fmt.Fprintf(env.Stderr, "imagerec recognize: %s: %s\n", in.path, doc.(pipeline.ErrorDocument).Message)
		}
		_, err := env.Stdout.Write(b)
		return err
	}
	name := filepath.Join(dir, in.rel+".json")
	stale := filepath.Join(dir, in.rel+".error.json")
	if !ok {
		name, stale = stale, name
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil { //nolint:gosec // under the output directory the user asked for (--out)
		return err
	}
	if err := os.WriteFile(name, b, 0o644); err != nil { //nolint:gosec // results written where the user asked (--out), like any command's output
		return err
	}
	// A re-run replaces the previous outcome: exactly one document per image.
	if err := os.Remove(stale); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
