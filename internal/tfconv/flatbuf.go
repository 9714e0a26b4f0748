package tfconv

import (
	"encoding/binary"
	"fmt"
	"math"
)

// fbReader reads FlatBuffers tables from untrusted bytes. Every access is
// bounds-checked; the first violation is kept in err and every later
// access returns zero values, so callers check err once per table instead
// of after each field (a sticky error, as bufio.Scanner does).
type fbReader struct {
	b   []byte
	err error
}

// fbTable is a table's position and its vtable.
type fbTable struct {
	pos   uint64 // table start (where its soffset to the vtable is)
	vt    uint64 // vtable start
	vtLen uint64 // vtable size in bytes
	ok    bool   // false for an absent table
}

// fbVector is a vector's element start and length.
type fbVector struct {
	start uint64
	n     uint64
}

func (r *fbReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("flatbuffer: "+format, args...)
	}
}

// need reports whether n bytes at at lie inside the buffer.
func (r *fbReader) need(at, n uint64) bool {
	if r.err != nil {
		return false
	}
	if at > uint64(len(r.b)) || n > uint64(len(r.b))-at {
		r.fail("%d bytes at offset %d are outside the %d-byte buffer", n, at, len(r.b))
		return false
	}
	return true
}

func (r *fbReader) u8(at uint64) uint8 {
	if !r.need(at, 1) {
		return 0
	}
	return r.b[at]
}

func (r *fbReader) u16(at uint64) uint16 {
	if !r.need(at, 2) {
		return 0
	}
	return binary.LittleEndian.Uint16(r.b[at:])
}

func (r *fbReader) u32(at uint64) uint32 {
	if !r.need(at, 4) {
		return 0
	}
	return binary.LittleEndian.Uint32(r.b[at:])
}

func (r *fbReader) u64(at uint64) uint64 {
	if !r.need(at, 8) {
		return 0
	}
	return binary.LittleEndian.Uint64(r.b[at:])
}

// root returns the buffer's root table.
func (r *fbReader) root() fbTable {
	return r.table(uint64(r.u32(0)))
}

// table reads the table that starts at pos.
func (r *fbReader) table(pos uint64) fbTable {
	so := int64(int32(r.u32(pos)))
	vt := int64(pos) - so
	if r.err != nil {
		return fbTable{}
	}
	if vt < 0 {
		r.fail("table at %d: vtable offset %d points before the buffer", pos, so)
		return fbTable{}
	}
	vtLen := uint64(r.u16(uint64(vt)))
	if vtLen < 4 || vtLen%2 != 0 {
		r.fail("table at %d: vtable size %d", pos, vtLen)
		return fbTable{}
	}
	if !r.need(uint64(vt), vtLen) {
		return fbTable{}
	}
	tabLen := uint64(r.u16(uint64(vt) + 2))
	if !r.need(pos, tabLen) {
		return fbTable{}
	}
	return fbTable{pos: pos, vt: uint64(vt), vtLen: vtLen, ok: true}
}

// field returns the absolute position of field i, or false when the
// field is absent (or the table is).
func (r *fbReader) field(t fbTable, i int) (uint64, bool) {
	if !t.ok || r.err != nil {
		return 0, false
	}
	at := 4 + 2*uint64(i)
	if at+2 > t.vtLen {
		return 0, false
	}
	off := uint64(r.u16(t.vt + at))
	if off == 0 {
		return 0, false
	}
	return t.pos + off, true
}

func (r *fbReader) fieldU8(t fbTable, i int, def uint8) uint8 {
	if p, ok := r.field(t, i); ok {
		return r.u8(p)
	}
	return def
}

func (r *fbReader) fieldBool(t fbTable, i int) bool { return r.fieldU8(t, i, 0) != 0 }

func (r *fbReader) fieldI8(t fbTable, i int, def int8) int8 {
	return int8(r.fieldU8(t, i, uint8(def)))
}

func (r *fbReader) fieldI32(t fbTable, i int, def int32) int32 {
	if p, ok := r.field(t, i); ok {
		return int32(r.u32(p))
	}
	return def
}

func (r *fbReader) fieldU32(t fbTable, i int, def uint32) uint32 {
	if p, ok := r.field(t, i); ok {
		return r.u32(p)
	}
	return def
}

func (r *fbReader) fieldU64(t fbTable, i int, def uint64) uint64 {
	if p, ok := r.field(t, i); ok {
		return r.u64(p)
	}
	return def
}

func (r *fbReader) fieldF32(t fbTable, i int, def float32) float32 {
	if p, ok := r.field(t, i); ok {
		return math.Float32frombits(r.u32(p))
	}
	return def
}

// indirect follows the uoffset stored at p.
func (r *fbReader) indirect(p uint64) uint64 {
	return p + uint64(r.u32(p))
}

// fieldTable returns the table field i points to.
func (r *fbReader) fieldTable(t fbTable, i int) fbTable {
	p, ok := r.field(t, i)
	if !ok {
		return fbTable{}
	}
	return r.table(r.indirect(p))
}

// fieldVector returns vector field i with elements of elemSize bytes.
func (r *fbReader) fieldVector(t fbTable, i int, elemSize uint64) fbVector {
	p, ok := r.field(t, i)
	if !ok {
		return fbVector{}
	}
	at := r.indirect(p)
	n := uint64(r.u32(at))
	if !r.need(at+4, 0) || n > (uint64(len(r.b))-at-4)/elemSize {
		r.fail("vector at %d: %d elements of %d bytes overrun the buffer", at, n, elemSize)
		return fbVector{}
	}
	return fbVector{start: at + 4, n: n}
}

// vecTable returns element k of a vector of tables.
func (r *fbReader) vecTable(v fbVector, k uint64) fbTable {
	if k >= v.n {
		r.fail("vector index %d out of range %d", k, v.n)
		return fbTable{}
	}
	return r.table(r.indirect(v.start + 4*k))
}

// fieldBytes returns a byte-vector field, aliasing the buffer.
func (r *fbReader) fieldBytes(t fbTable, i int) []byte {
	v := r.fieldVector(t, i, 1)
	if r.err != nil {
		return nil
	}
	return r.b[v.start : v.start+v.n]
}

func (r *fbReader) fieldString(t fbTable, i int) string { return string(r.fieldBytes(t, i)) }

func (r *fbReader) fieldI32s(t fbTable, i int) []int32 {
	v := r.fieldVector(t, i, 4)
	if r.err != nil || v.n == 0 {
		return nil
	}
	out := make([]int32, v.n)
	for k := range out {
		out[k] = int32(binary.LittleEndian.Uint32(r.b[v.start+4*uint64(k):]))
	}
	return out
}

func (r *fbReader) fieldF32s(t fbTable, i int) []float32 {
	v := r.fieldVector(t, i, 4)
	if r.err != nil || v.n == 0 {
		return nil
	}
	out := make([]float32, v.n)
	for k := range out {
		out[k] = math.Float32frombits(binary.LittleEndian.Uint32(r.b[v.start+4*uint64(k):]))
	}
	return out
}

func (r *fbReader) fieldI64s(t fbTable, i int) []int64 {
	v := r.fieldVector(t, i, 8)
	if r.err != nil || v.n == 0 {
		return nil
	}
	out := make([]int64, v.n)
	for k := range out {
		out[k] = int64(binary.LittleEndian.Uint64(r.b[v.start+8*uint64(k):]))
	}
	return out
}
