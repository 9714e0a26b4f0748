package asl

import (
	"fmt"
	"strconv"
	"strings"
)

// Path is a compiled JSONPath expression rooted at "$". A definite path
// (only names and indexes) selects one value; an indefinite one (wildcards,
// slices, unions, filters, descent) selects a list, as Jayway JsonPath (used
// by Step Functions) does.
type Path struct {
	src  string
	segs []segment
}

type segKind int

const (
	segName segKind = iota
	segIndex
	segWildcard
	segSlice
	segUnion
	segDescent // followed by the segment it applies to
	segFilter
)

type segment struct {
	kind   segKind
	name   string
	index  int
	slice  [3]*int
	union  []segment
	filter *filterExpr
	sub    *segment // for segDescent
}

// PathSyntaxError describes an invalid path.
type PathSyntaxError struct {
	Path string
	Msg  string
}

func (e *PathSyntaxError) Error() string {
	return fmt.Sprintf("invalid JSONPath %q: %s", e.Path, e.Msg)
}

// String returns the source text.
func (p *Path) String() string { return p.src }

// Definite reports whether the path selects at most one value.
func (p *Path) Definite() bool {
	for _, s := range p.segs {
		if s.kind != segName && s.kind != segIndex {
			return false
		}
	}
	return true
}

// IsRoot reports whether the path is "$".
func (p *Path) IsRoot() bool { return len(p.segs) == 0 }

// Normalized prints the path the way Jayway does in messages: $['a'][0].
func (p *Path) Normalized() string {
	var b strings.Builder
	b.WriteString("$")
	for _, s := range p.segs {
		writeSeg(&b, s)
	}
	return b.String()
}

func writeSeg(b *strings.Builder, s segment) {
	switch s.kind {
	case segName:
		b.WriteString("['" + s.name + "']")
	case segIndex:
		b.WriteString("[" + strconv.Itoa(s.index) + "]")
	case segWildcard:
		b.WriteString("[*]")
	case segDescent:
		b.WriteString("..")
		if s.sub != nil {
			writeSeg(b, *s.sub)
		}
	default:
		b.WriteString("[?]")
	}
}

// CompilePath parses a JSONPath expression starting with "$".
func CompilePath(src string) (*Path, error) {
	if !strings.HasPrefix(src, "$") {
		return nil, &PathSyntaxError{src, "must start with $"}
	}
	p := &pathParser{src: src, pos: 1}
	segs, err := p.parseSegments(false)
	if err != nil {
		return nil, err
	}
	return &Path{src: src, segs: segs}, nil
}

// MustCompilePath is CompilePath for constant paths; it panics on error.
func MustCompilePath(src string) *Path {
	p, err := CompilePath(src)
	if err != nil {
		panic(err)
	}
	return p
}

type pathParser struct {
	src string
	pos int
}

func (p *pathParser) errf(format string, args ...any) error {
	return &PathSyntaxError{p.src, fmt.Sprintf(format, args...) + fmt.Sprintf(" at offset %d", p.pos)}
}

func (p *pathParser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

// parseSegments reads segments until the end (or, in a filter, until a
// character that cannot continue a path).
func (p *pathParser) parseSegments(inFilter bool) ([]segment, error) {
	var segs []segment
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '.' && strings.HasPrefix(p.src[p.pos:], ".."):
			p.pos += 2
			var sub segment
			if p.peek() == '[' {
				s, err := p.parseBracket()
				if err != nil {
					return nil, err
				}
				sub = s
			} else {
				s, err := p.parseDotName(inFilter)
				if err != nil {
					return nil, err
				}
				sub = s
			}
			segs = append(segs, segment{kind: segDescent, sub: &sub})
		case c == '.':
			p.pos++
			s, err := p.parseDotName(inFilter)
			if err != nil {
				return nil, err
			}
			segs = append(segs, s)
		case c == '[':
			s, err := p.parseBracket()
			if err != nil {
				return nil, err
			}
			segs = append(segs, s)
		default:
			if inFilter {
				return segs, nil
			}
			return nil, p.errf("unexpected %q", c)
		}
	}
	return segs, nil
}

func (p *pathParser) parseDotName(inFilter bool) (segment, error) {
	if p.peek() == '*' {
		p.pos++
		return segment{kind: segWildcard}, nil
	}
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '.' || c == '[' {
			break
		}
		if inFilter && strings.IndexByte(" )=!<>&|,", c) >= 0 {
			break
		}
		p.pos++
	}
	if p.pos == start {
		return segment{}, p.errf("empty name")
	}
	name := p.src[start:p.pos]
	return segment{kind: segName, name: name}, nil
}

func (p *pathParser) skipSpace() {
	for p.pos < len(p.src) && p.src[p.pos] == ' ' {
		p.pos++
	}
}

func (p *pathParser) parseQuoted() (string, error) {
	q := p.src[p.pos]
	p.pos++
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '\\' && p.pos+1 < len(p.src) && (p.src[p.pos+1] == q || p.src[p.pos+1] == '\\' && false) {
			b.WriteByte(q)
			p.pos += 2
			continue
		}
		if c == q {
			p.pos++
			return b.String(), nil
		}
		b.WriteByte(c)
		p.pos++
	}
	return "", p.errf("unterminated string")
}

func (p *pathParser) parseBracket() (segment, error) {
	p.pos++ // [
	p.skipSpace()
	var seg segment
	switch p.peek() {
	case '*':
		p.pos++
		seg = segment{kind: segWildcard}
	case '?':
		p.pos++
		p.skipSpace()
		if p.peek() != '(' {
			return seg, p.errf("expected ( after ?")
		}
		p.pos++
		f, err := p.parseFilter()
		if err != nil {
			return seg, err
		}
		p.skipSpace()
		if p.peek() != ')' {
			return seg, p.errf("expected )")
		}
		p.pos++
		seg = segment{kind: segFilter, filter: f}
	case '\'', '"':
		var names []segment
		for {
			s, err := p.parseQuoted()
			if err != nil {
				return seg, err
			}
			names = append(names, segment{kind: segName, name: s})
			p.skipSpace()
			if p.peek() != ',' {
				break
			}
			p.pos++
			p.skipSpace()
			if c := p.peek(); c != '\'' && c != '"' {
				return seg, p.errf("expected quoted name")
			}
		}
		if len(names) == 1 {
			seg = names[0]
		} else {
			seg = segment{kind: segUnion, union: names}
		}
	default:
		s, err := p.parseIndexOrSlice()
		if err != nil {
			return seg, err
		}
		seg = s
	}
	p.skipSpace()
	if p.peek() != ']' {
		return seg, p.errf("expected ]")
	}
	p.pos++
	return seg, nil
}

func (p *pathParser) parseInt() (*int, error) {
	p.skipSpace()
	start := p.pos
	if p.peek() == '-' {
		p.pos++
	}
	for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
		p.pos++
	}
	if p.pos == start {
		return nil, nil
	}
	n, err := strconv.Atoi(p.src[start:p.pos])
	if err != nil {
		return nil, p.errf("bad number %q", p.src[start:p.pos])
	}
	p.skipSpace()
	return &n, nil
}

func (p *pathParser) parseIndexOrSlice() (segment, error) {
	first, err := p.parseInt()
	if err != nil {
		return segment{}, err
	}
	if p.peek() == ':' {
		var sl [3]*int
		sl[0] = first
		for i := 1; i < 3 && p.peek() == ':'; i++ {
			p.pos++
			n, err := p.parseInt()
			if err != nil {
				return segment{}, err
			}
			sl[i] = n
		}
		return segment{kind: segSlice, slice: sl}, nil
	}
	if first == nil {
		return segment{}, p.errf("expected index")
	}
	if p.peek() == ',' {
		u := []segment{{kind: segIndex, index: *first}}
		for p.peek() == ',' {
			p.pos++
			n, err := p.parseInt()
			if err != nil {
				return segment{}, err
			}
			if n == nil {
				return segment{}, p.errf("expected index")
			}
			u = append(u, segment{kind: segIndex, index: *n})
		}
		return segment{kind: segUnion, union: u}, nil
	}
	return segment{kind: segIndex, index: *first}, nil
}

// Evaluation.

// Get evaluates a definite path and returns its value. found is false when
// the path does not exist in v. For an indefinite path it returns the list
// of matches (possibly empty) and found true.
func (p *Path) Get(v any) (out any, found bool) {
	if p.Definite() {
		cur := v
		for _, s := range p.segs {
			var ok bool
			cur, ok = step(cur, s)
			if !ok {
				return nil, false
			}
		}
		return cur, true
	}
	res := []any{}
	collect(v, v, p.segs, &res)
	return res, true
}

func step(v any, s segment) (any, bool) {
	switch s.kind {
	case segName:
		o, ok := v.(*Object)
		if !ok {
			return nil, false
		}
		return o.Get(s.name)
	case segIndex:
		a, ok := v.([]any)
		if !ok {
			return nil, false
		}
		i := s.index
		if i < 0 {
			i += len(a)
		}
		if i < 0 || i >= len(a) {
			return nil, false
		}
		return a[i], true
	default:
		// Wildcards, slices, unions, descent and filters select several
		// values: not a single step.
	}
	return nil, false
}

func collect(root, v any, segs []segment, out *[]any) {
	if len(segs) == 0 {
		*out = append(*out, v)
		return
	}
	s, rest := segs[0], segs[1:]
	switch s.kind {
	case segName, segIndex:
		if x, ok := step(v, s); ok {
			collect(root, x, rest, out)
		}
	case segWildcard:
		switch t := v.(type) {
		case []any:
			for _, x := range t {
				collect(root, x, rest, out)
			}
		case *Object:
			for _, k := range t.keys {
				collect(root, t.Val(k), rest, out)
			}
		}
	case segSlice:
		a, ok := v.([]any)
		if !ok {
			return
		}
		start, end, stepN := sliceBounds(s.slice, len(a))
		if stepN > 0 {
			for i := start; i < end; i += stepN {
				collect(root, a[i], rest, out)
			}
		}
	case segUnion:
		for _, u := range s.union {
			if x, ok := step(v, u); ok {
				collect(root, x, rest, out)
			}
		}
	case segFilter:
		switch t := v.(type) {
		case []any:
			for _, x := range t {
				if s.filter.eval(root, x) {
					collect(root, x, rest, out)
				}
			}
		case *Object:
			if s.filter.eval(root, t) {
				collect(root, t, rest, out)
			}
		}
	case segDescent:
		descend(root, v, *s.sub, rest, out)
	}
}

func descend(root, v any, sub segment, rest []segment, out *[]any) {
	collect(root, v, append([]segment{sub}, rest...), out)
	switch t := v.(type) {
	case []any:
		for _, x := range t {
			descend(root, x, sub, rest, out)
		}
	case *Object:
		for _, k := range t.keys {
			descend(root, t.Val(k), sub, rest, out)
		}
	}
}

func sliceBounds(sl [3]*int, n int) (start, end, step int) {
	step = 1
	if sl[2] != nil {
		step = *sl[2]
	}
	start, end = 0, n
	if sl[0] != nil {
		start = *sl[0]
		if start < 0 {
			start += n
		}
	}
	if sl[1] != nil {
		end = *sl[1]
		if end < 0 {
			end += n
		}
	}
	start = max(0, min(start, n))
	end = max(0, min(end, n))
	return start, end, step
}

// SetPath returns a copy of root with value placed at the definite path p,
// creating objects for missing names. Containers along the path are
// copied; the rest is shared with root.
func SetPath(root any, p *Path, value any) (any, error) {
	if !p.Definite() {
		return nil, fmt.Errorf("path %s is not a reference path", p.src)
	}
	return setSegs(root, p.segs, value)
}

func setSegs(cur any, segs []segment, value any) (any, error) {
	if len(segs) == 0 {
		return value, nil
	}
	s := segs[0]
	switch s.kind {
	case segName:
		var o *Object
		switch t := cur.(type) {
		case *Object:
			o = &Object{keys: append(make([]string, 0, t.Len()+1), t.keys...), vals: append(make([]any, 0, t.Len()+1), t.vals...)}
			if t.idx != nil {
				o.reindex()
			}
		case nil:
			o = NewObject(1)
		default:
			return nil, fmt.Errorf("cannot set field %q on a %s", s.name, typeName(cur))
		}
		child, _ := o.Get(s.name)
		v, err := setSegs(child, segs[1:], value)
		if err != nil {
			return nil, err
		}
		o.Set(s.name, v)
		return o, nil
	case segIndex:
		a, ok := cur.([]any)
		if !ok {
			return nil, fmt.Errorf("cannot index a %s", typeName(cur))
		}
		i := s.index
		if i < 0 {
			i += len(a)
		}
		if i < 0 || i >= len(a) {
			return nil, fmt.Errorf("index %d out of bounds", s.index)
		}
		c := append([]any(nil), a...)
		v, err := setSegs(c[i], segs[1:], value)
		if err != nil {
			return nil, err
		}
		c[i] = v
		return c, nil
	default:
		// Only singular paths can be assigned to.
	}
	return nil, fmt.Errorf("unsupported path segment")
}
