package facecollection

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// compactAfter is how many segments a collection may have before a change
// also writes a snapshot that supersedes them.
const compactAfter = 64

// segMagic starts every segment file.
const segMagic = "IRFCSEG1"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// segHeader is a segment's JSON part.
type segHeader struct {
	Seq int64 `json:"Seq"`
	// From and Covers, when Covers is set, say this segment merges
	// segments From to Covers (a snapshot when From is 1), which it
	// supersedes.
	From   int64    `json:"From,omitempty"`
	Covers int64    `json:"Covers,omitempty"`
	Dim    int      `json:"Dim"`
	Add    []Face   `json:"Add,omitempty"`
	Delete []string `json:"Delete,omitempty"`
}

// collection is one loaded collection.
type collection struct {
	mu      sync.RWMutex
	dir     string
	info    Info
	faces   []Face // Descriptor nil; the vectors live in vecs
	vecs    []float32
	index   map[string]int // FaceId -> position in faces
	seq     int64          // last segment written
	segs    []segFile      // live segment files, oldest first
	noSync  bool
	deleted bool
}

func (c *collection) vec(i int) []float32 {
	d := c.info.Dim
	return c.vecs[i*d : (i+1)*d : (i+1)*d]
}

// segFile is a live segment.
type segFile struct {
	seq, from int64 // from: the first sequence it stands for
	size      int64
}

// loadCollection reads a collection directory.
func loadCollection(dir string, noSync bool) (*collection, error) {
	meta, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		return nil, err
	}
	c := &collection{dir: dir, index: map[string]int{}, noSync: noSync}
	if err := json.Unmarshal(meta, &c.info); err != nil {
		return nil, fmt.Errorf("parse %s: %w", metaFile, err)
	}
	if c.info.Dim <= 0 {
		return nil, fmt.Errorf("%s: no descriptor length", metaFile)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type seg struct {
		seq  int64
		name string
	}
	var segs []seg
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, tmpPrefix) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return nil, err
			}
			continue
		}
		num, ok := strings.CutPrefix(name, "seg-")
		num, ok2 := strings.CutSuffix(num, ".bin")
		if !ok || !ok2 {
			continue
		}
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("segment %s: bad name", name)
		}
		segs = append(segs, seg{n, name})
	}
	slices.SortFunc(segs, func(a, b seg) int { return int(a.seq - b.seq) })
	headers := make([]*segHeader, len(segs))
	vecs := make([][]float32, len(segs))
	sizes := make([]int64, len(segs))
	for i, sg := range segs {
		h, v, size, err := readSegment(filepath.Join(dir, sg.name), c.info.Dim)
		if err != nil {
			return nil, err
		}
		if h.Seq != sg.seq {
			return nil, fmt.Errorf("segment %s holds sequence %d", sg.name, h.Seq)
		}
		headers[i], vecs[i], sizes[i] = h, v, size
	}
	superseded := func(seq int64) bool {
		for _, h := range headers {
			if h.Covers > 0 && seq >= h.From && seq <= h.Covers {
				return true
			}
		}
		return false
	}
	for i, sg := range segs {
		if superseded(sg.seq) {
			// Merged into a later segment; a crash left it behind.
			if err := os.Remove(filepath.Join(dir, sg.name)); err != nil {
				return nil, err
			}
			continue
		}
		c.replay(headers[i], vecs[i])
		c.seq = sg.seq
		from := sg.seq
		if headers[i].Covers > 0 {
			from = headers[i].From
		}
		c.segs = append(c.segs, segFile{seq: sg.seq, from: from, size: sizes[i]})
	}
	return c, nil
}

// replay applies one segment to the in-memory state.
func (c *collection) replay(h *segHeader, vecs []float32) {
	d := c.info.Dim
	for i, f := range h.Add {
		if _, ok := c.index[f.FaceID]; ok {
			continue
		}
		f.Descriptor = nil
		c.index[f.FaceID] = len(c.faces)
		c.faces = append(c.faces, f)
		c.vecs = append(c.vecs, vecs[i*d:(i+1)*d]...)
	}
	for _, id := range h.Delete {
		i, ok := c.index[id]
		if !ok {
			continue
		}
		last := len(c.faces) - 1
		if i != last {
			c.faces[i] = c.faces[last]
			copy(c.vecs[i*d:(i+1)*d], c.vecs[last*d:(last+1)*d])
			c.index[c.faces[i].FaceID] = i
		}
		c.faces = c.faces[:last]
		c.vecs = c.vecs[:last*d]
		delete(c.index, id)
	}
}

// apply makes a change durable, then visible.
func (c *collection) apply(add []Face, del []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.deleted {
		return fmt.Errorf("%w: %s", ErrNotFound, c.info.ID)
	}
	d := c.info.Dim
	if len(c.faces)+len(add) > MaxFacesPerCollection {
		return fmt.Errorf("collection %s would hold more than %d faces", c.info.ID, MaxFacesPerCollection)
	}
	vecs := make([]float32, 0, len(add)*d)
	for _, f := range add {
		if len(f.Descriptor) != d {
			return fmt.Errorf("%w: face %s has %d values, collection %s wants %d", ErrDescriptor, f.FaceID, len(f.Descriptor), c.info.ID, d)
		}
		vecs = append(vecs, f.Descriptor...)
	}
	h := &segHeader{Seq: c.seq + 1, Dim: d, Add: add, Delete: del}
	size, err := writeSegment(c.dir, h, vecs, c.noSync)
	if err != nil {
		return fmt.Errorf("write to collection %s: %w", c.info.ID, err)
	}
	c.seq = h.Seq
	c.segs = append(c.segs, segFile{seq: h.Seq, from: h.Seq, size: size})
	c.replay(h, vecs)
	if len(c.segs) > compactAfter {
		if err := c.compact(); err != nil {
			return fmt.Errorf("compact collection %s: %w", c.info.ID, err)
		}
	}
	return nil
}

// compact merges segments: all but the oldest into one while they are
// smaller than it (so a large collection is not rewritten for every few
// changes), else everything into one snapshot. The merged segment takes
// the next sequence and supersedes the ones it merged, which are then
// removed; a crash before that leaves them for Open to remove.
func (c *collection) compact() error {
	first := 0
	var rest int64
	for _, s := range c.segs[1:] {
		rest += s.size
	}
	if rest < c.segs[0].size {
		first = 1
	}
	merged := c.segs[first:]
	h := &segHeader{Seq: c.seq + 1, From: merged[0].from, Covers: c.seq, Dim: c.info.Dim}
	var vecs []float32
	if first == 0 {
		h.Add, vecs = c.faces, c.vecs
	} else {
		add, del, v, err := c.mergeSegments(merged)
		if err != nil {
			return err
		}
		h.Add, h.Delete, vecs = add, del, v
	}
	size, err := writeSegment(c.dir, h, vecs, c.noSync)
	if err != nil {
		return err
	}
	c.seq = h.Seq
	for _, s := range merged {
		if err := os.Remove(filepath.Join(c.dir, segName(s.seq))); err != nil {
			return err
		}
	}
	c.segs = append(c.segs[:first:first], segFile{seq: h.Seq, from: h.From, size: size})
	return syncDir(c.dir, c.noSync)
}

// mergeSegments combines segments into one change: the faces they add that
// are still present, and the deletions of faces they did not add.
func (c *collection) mergeSegments(segs []segFile) (add []Face, del []string, vecs []float32, err error) {
	added := map[string]bool{}
	deleted := map[string]bool{}
	for _, s := range segs {
		h, _, _, err := readSegment(filepath.Join(c.dir, segName(s.seq)), c.info.Dim)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, f := range h.Add {
			added[f.FaceID] = true
		}
		for _, id := range h.Delete {
			if !added[id] {
				deleted[id] = true
			}
		}
	}
	for id := range added {
		if i, ok := c.index[id]; ok {
			add = append(add, c.faces[i])
			vecs = append(vecs, c.vec(i)...)
		}
	}
	for id := range deleted {
		del = append(del, id)
	}
	slices.Sort(del)
	return add, del, vecs, nil
}

func segName(seq int64) string { return fmt.Sprintf("seg-%016d.bin", seq) }

// writeSegment writes h and vecs as segment h.Seq: temporary file, fsync,
// rename, directory fsync.
func writeSegment(dir string, h *segHeader, vecs []float32, noSync bool) (int64, error) {
	hj, err := json.Marshal(h)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 0, len(segMagic)+4+len(hj)+4*len(vecs)+4)
	buf = append(buf, segMagic...)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(hj)))
	buf = append(buf, hj...)
	for _, v := range vecs {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
	}
	buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
	tmp := filepath.Join(dir, tmpPrefix+randomHex())
	if err := writeSynced(tmp, buf, noSync); err != nil {
		_ = os.Remove(tmp)
		return 0, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, segName(h.Seq))); err != nil {
		_ = os.Remove(tmp)
		return 0, err
	}
	return int64(len(buf)), syncDir(dir, noSync)
}

// errCorrupt marks a segment that is not what writeSegment wrote.
var errCorrupt = errors.New("corrupt segment")

// readSegment reads and checks one segment.
func readSegment(path string, dim int) (*segHeader, []float32, int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, 0, err
	}
	h, v, err := parseSegment(b, dim)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return h, v, int64(len(b)), nil
}

// parseSegment decodes a segment's bytes.
func parseSegment(b []byte, dim int) (*segHeader, []float32, error) {
	if len(b) < len(segMagic)+8 || string(b[:len(segMagic)]) != segMagic {
		return nil, nil, fmt.Errorf("%w: no segment header", errCorrupt)
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, nil, fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	rest := body[len(segMagic):]
	n := int(binary.LittleEndian.Uint32(rest))
	rest = rest[4:]
	if n > len(rest) {
		return nil, nil, fmt.Errorf("%w: header length %d beyond the file", errCorrupt, n)
	}
	var h segHeader
	if err := json.Unmarshal(rest[:n], &h); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errCorrupt, err)
	}
	rest = rest[n:]
	if h.Dim != dim || len(rest) != 4*dim*len(h.Add) {
		return nil, nil, fmt.Errorf("%w: %d descriptor bytes for %d faces of %d values", errCorrupt, len(rest), len(h.Add), dim)
	}
	vecs := make([]float32, len(rest)/4)
	for i := range vecs {
		vecs[i] = math.Float32frombits(binary.LittleEndian.Uint32(rest[4*i:]))
	}
	return &h, vecs, nil
}
