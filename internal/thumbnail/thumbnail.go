package thumbnail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/imagerec/imagerec/internal/fsperm"
	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/membudget"
	"github.com/imagerec/imagerec/internal/vision"
)

// Size is a kind of rendition.
type Size struct {
	// Name names the files ("thumb", "preview").
	Name string
	// MaxSide bounds the longer side, in pixels; smaller images keep
	// their size.
	MaxSide int
	// Quality is the JPEG quality (1-100).
	Quality int
}

// The console's renditions.
var (
	// Thumb is the gallery's tile image: 400 px covers a 200 px tile on a
	// 2x screen.
	Thumb = Size{Name: "thumb", MaxSide: 400, Quality: 78}
	// Preview is the detail view's image.
	Preview = Size{Name: "preview", MaxSide: 1600, Quality: 85}
)

// ErrNotFound is returned by Get when the object does not exist.
var ErrNotFound = errors.New("object not found")

// Opener opens an object and returns its body and current ETag. It
// returns an error wrapping ErrNotFound when the object does not exist.
type Opener func(ctx context.Context, bucket, key string) (io.ReadCloser, string, error)

// Options configure a Cache. The zero value is usable.
type Options struct {
	// Budget admits decodes by their estimated memory (nil: no bound).
	Budget *membudget.Budget
	// Limits bound the images decoded (imageio's defaults when zero).
	Limits imageio.Limits
	// Workers is how many images are decoded at once (default 1).
	Workers int
}

// Cache makes and keeps renditions under a directory.
type Cache struct {
	dir  string
	open Opener
	opts Options
	sem  chan struct{}

	mu       sync.Mutex
	inflight map[string]*call
}

type call struct {
	done chan struct{}
	r    Rendition
	err  error
}

// New returns a cache keeping its files under dir (created if needed).
func New(dir string, open Opener, opts Options) (*Cache, error) {
	if err := os.MkdirAll(dir, fsperm.Dir); err != nil {
		return nil, fmt.Errorf("thumbnail directory: %w", err)
	}
	if opts.Workers < 1 {
		opts.Workers = 1
	}
	return &Cache{dir: dir, open: open, opts: opts, sem: make(chan struct{}, opts.Workers), inflight: map[string]*call{}}, nil
}

// Rendition is a rendition's file.
type Rendition struct {
	// Path is the JPEG file.
	Path string
	// Version is the ETag of the object version it shows.
	Version string
}

func hashOf(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:])
}

// objectDir holds every rendition of one object.
func (c *Cache) objectDir(bucket, key string) string {
	h := hashOf(bucket, key)
	return filepath.Join(c.dir, h[:2], h)
}

// fileName is a rendition's file name: its size and the version's ETag
// (hex and '-' as S3 makes them; anything else is hashed).
func fileName(size Size, etag string) string {
	safe := etag != "" && len(etag) <= 80 && strings.Trim(etag, "0123456789abcdefABCDEF-") == ""
	if !safe {
		etag = "h" + hashOf(etag)[:40]
	}
	return size.Name + "-" + etag + ".jpg"
}

// Get returns the rendition of size of the object's version etag, making
// it when it does not exist. An empty etag, or one that is no longer the
// object's, gives the current version's rendition (Rendition.Version says
// which). Errors: ErrNotFound, a *vision.Error (imageio's, translated) for an object that
// does not decode, membudget's for one over the whole budget, or ctx's.
func (c *Cache) Get(ctx context.Context, bucket, key, etag string, size Size) (Rendition, error) {
	dir := c.objectDir(bucket, key)
	if etag != "" {
		p := filepath.Join(dir, fileName(size, etag))
		if _, err := os.Stat(p); err == nil {
			return Rendition{Path: p, Version: etag}, nil
		}
	}
	id := dir + "\x00" + size.Name
	c.mu.Lock()
	if cl, ok := c.inflight[id]; ok {
		c.mu.Unlock()
		select {
		case <-cl.done:
			return cl.r, cl.err
		case <-ctx.Done():
			return Rendition{}, ctx.Err()
		}
	}
	cl := &call{done: make(chan struct{})}
	c.inflight[id] = cl
	c.mu.Unlock()
	// The first caller's context decides for all: the decode is cheap
	// enough to redo for the rare caller whose wait was cut short.
	cl.r, cl.err = c.make(ctx, bucket, key, dir, size)
	c.mu.Lock()
	delete(c.inflight, id)
	c.mu.Unlock()
	close(cl.done)
	return cl.r, cl.err
}

func (c *Cache) make(ctx context.Context, bucket, key, dir string, size Size) (Rendition, error) {
	if err := ctx.Err(); err != nil {
		return Rendition{}, err
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return Rendition{}, ctx.Err()
	}
	defer func() { <-c.sem }()
	body, etag, err := c.open(ctx, bucket, key)
	if err != nil {
		return Rendition{}, err
	}
	p := filepath.Join(dir, fileName(size, etag))
	if _, err := os.Stat(p); err == nil {
		_ = body.Close()
		return Rendition{Path: p, Version: etag}, nil
	}
	maxBytes := c.opts.Limits.MaxBytes
	if maxBytes <= 0 {
		maxBytes = imageio.DefaultMaxBytes
	}
	data, err := io.ReadAll(io.LimitReader(body, maxBytes+1))
	_ = body.Close()
	if err != nil {
		return Rendition{}, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	jpg, err := c.render(ctx, data, size)
	if err != nil {
		return Rendition{}, fmt.Errorf("rendition of s3://%s/%s: %w", bucket, key, err)
	}
	if err := writeFile(dir, p, jpg); err != nil {
		return Rendition{}, err
	}
	c.prune(dir, size, filepath.Base(p))
	return Rendition{Path: p, Version: etag}, nil
}

// render decodes data within the budget and encodes the rendition.
func (c *Cache) render(ctx context.Context, data []byte, size Size) ([]byte, error) {
	info, err := imageio.Probe(ctx, data, c.opts.Limits)
	if err != nil {
		return nil, vision.ImageError(err)
	}
	// Decoding, plus the resampling pass (MaxSide columns of the source's
	// rows) and the output's RGB, RGBA and JPEG copies.
	side := int64(max(info.Width, info.Height))
	cost := info.DecodeCost(size.MaxSide) + 3*int64(size.MaxSide)*side + 8*int64(size.MaxSide)*int64(size.MaxSide)
	release, err := c.opts.Budget.Acquire(ctx, cost)
	if err != nil {
		return nil, err
	}
	defer func() {
		release()
		if cost >= freeOSMemoryFrom {
			// As the engine does: give a large image's pages back now,
			// not when the scavenger gets to them.
			debug.FreeOSMemory()
		}
	}()
	im, err := imageio.Decode(ctx, data, imageio.Options{Limits: c.opts.Limits, TargetMaxSide: size.MaxSide})
	if err != nil {
		return nil, vision.ImageError(err)
	}
	if w, h := fit(im.Width, im.Height, size.MaxSide); w != im.Width || h != im.Height {
		im = im.Resize(w, h)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, toRGBA(im), &jpeg.Options{Quality: size.Quality}); err != nil {
		return nil, fmt.Errorf("encode jpeg: %w", err)
	}
	return buf.Bytes(), nil
}

// freeOSMemoryFrom is the cost from which a rendition returns the freed
// heap to the system (the engine's threshold).
const freeOSMemoryFrom = 256 << 20

// fit returns w x h scaled down to fit in maxSide x maxSide.
func fit(w, h, maxSide int) (int, int) {
	if w <= maxSide && h <= maxSide {
		return w, h
	}
	if w >= h {
		return maxSide, max(1, (h*maxSide+w/2)/w)
	}
	return max(1, (w*maxSide+h/2)/h), maxSide
}

func toRGBA(im *imageio.Image) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, im.Width, im.Height))
	for i, j := 0, 0; i+2 < len(im.Pix); i, j = i+3, j+4 {
		out.Pix[j], out.Pix[j+1], out.Pix[j+2], out.Pix[j+3] = im.Pix[i], im.Pix[i+1], im.Pix[i+2], 0xff
	}
	return out
}

// writeFile writes data to p through a temporary file, so a reader never
// sees a partial rendition.
func writeFile(dir, p string, data []byte) error {
	if err := os.MkdirAll(dir, fsperm.Dir); err != nil {
		return fmt.Errorf("write rendition: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("write rendition: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write rendition: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write rendition: %w", err)
	}
	return nil
}

// prune removes the renditions of size of other versions of the object.
func (c *Cache) prune(dir string, size Size, keep string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if n := e.Name(); n != keep && strings.HasPrefix(n, size.Name+"-") {
			_ = os.Remove(filepath.Join(dir, n))
		}
	}
}

// Forget removes every rendition of an object (it was deleted).
func (c *Cache) Forget(bucket, key string) error {
	if err := os.RemoveAll(c.objectDir(bucket, key)); err != nil {
		return fmt.Errorf("remove renditions of s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}
