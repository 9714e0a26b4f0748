package asl

import (
	"regexp"
	"strconv"
	"strings"
)

// JSONPath filter expressions: [?(@.a > 1 && @.b == 'x')].

type filterExpr struct {
	op          string // "&&", "||", "!", "exists", or a comparison
	left, right *filterExpr
	operand     *filterOperand
	rhs         *filterOperand
	re          *regexp.Regexp
}

type filterOperand struct {
	relative bool // @...
	root     bool // $...
	segs     []segment
	lit      any
}

func (p *pathParser) parseFilter() (*filterExpr, error) { return p.parseOr() }

func (p *pathParser) parseOr() (*filterExpr, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		if !strings.HasPrefix(p.src[p.pos:], "||") {
			return l, nil
		}
		p.pos += 2
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = &filterExpr{op: "||", left: l, right: r}
	}
}

func (p *pathParser) parseAnd() (*filterExpr, error) {
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		if !strings.HasPrefix(p.src[p.pos:], "&&") {
			return l, nil
		}
		p.pos += 2
		r, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		l = &filterExpr{op: "&&", left: l, right: r}
	}
}

var filterOps = []string{"==", "!=", "<=", ">=", "=~", "<", ">"}

func (p *pathParser) parseUnary() (*filterExpr, error) {
	p.skipSpace()
	if p.peek() == '!' && !strings.HasPrefix(p.src[p.pos:], "!=") {
		p.pos++
		e, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &filterExpr{op: "!", left: e}, nil
	}
	if p.peek() == '(' {
		p.pos++
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.peek() != ')' {
			return nil, p.errf("expected )")
		}
		p.pos++
		return e, nil
	}
	l, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	for _, op := range filterOps {
		if strings.HasPrefix(p.src[p.pos:], op) {
			p.pos += len(op)
			p.skipSpace()
			if op == "=~" {
				re, err := p.parseRegex()
				if err != nil {
					return nil, err
				}
				return &filterExpr{op: op, operand: l, re: re}, nil
			}
			r, err := p.parseOperand()
			if err != nil {
				return nil, err
			}
			return &filterExpr{op: op, operand: l, rhs: r}, nil
		}
	}
	return &filterExpr{op: "exists", operand: l}, nil
}

func (p *pathParser) parseRegex() (*regexp.Regexp, error) {
	if p.peek() != '/' {
		return nil, p.errf("expected /regex/")
	}
	p.pos++
	start := p.pos
	for p.pos < len(p.src) && (p.src[p.pos] != '/' || p.src[p.pos-1] == '\\') {
		p.pos++
	}
	if p.pos >= len(p.src) {
		return nil, p.errf("unterminated regex")
	}
	pat := p.src[start:p.pos]
	p.pos++
	flags := ""
	for p.pos < len(p.src) && strings.IndexByte("imsx", p.src[p.pos]) >= 0 {
		if p.src[p.pos] == 'i' || p.src[p.pos] == 's' || p.src[p.pos] == 'm' {
			flags += string(p.src[p.pos])
		}
		p.pos++
	}
	if flags != "" {
		pat = "(?" + flags + ")" + pat
	}
	re, err := regexp.Compile("^(?:" + pat + ")$")
	if err != nil {
		return nil, p.errf("bad regex: %v", err)
	}
	return re, nil
}

func (p *pathParser) parseOperand() (*filterOperand, error) {
	p.skipSpace()
	c := p.peek()
	switch {
	case c == '@' || c == '$':
		p.pos++
		segs, err := p.parseSegments(true)
		if err != nil {
			return nil, err
		}
		return &filterOperand{relative: c == '@', root: c == '$', segs: segs}, nil
	case c == '\'' || c == '"':
		s, err := p.parseQuoted()
		if err != nil {
			return nil, err
		}
		return &filterOperand{lit: s}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.pos
		p.pos++
		for p.pos < len(p.src) && strings.IndexByte("0123456789.eE+-", p.src[p.pos]) >= 0 {
			p.pos++
		}
		f, err := strconv.ParseFloat(p.src[start:p.pos], 64)
		if err != nil {
			return nil, p.errf("bad number")
		}
		return &filterOperand{lit: f}, nil
	case strings.HasPrefix(p.src[p.pos:], "true"):
		p.pos += 4
		return &filterOperand{lit: true}, nil
	case strings.HasPrefix(p.src[p.pos:], "false"):
		p.pos += 5
		return &filterOperand{lit: false}, nil
	case strings.HasPrefix(p.src[p.pos:], "null"):
		p.pos += 4
		return &filterOperand{lit: nil}, nil
	}
	return nil, p.errf("unexpected %q in filter", c)
}

func (f *filterExpr) eval(root, cur any) bool {
	switch f.op {
	case "&&":
		return f.left.eval(root, cur) && f.right.eval(root, cur)
	case "||":
		return f.left.eval(root, cur) || f.right.eval(root, cur)
	case "!":
		return !f.left.eval(root, cur)
	case "exists":
		_, ok := f.operand.value(root, cur)
		return ok
	case "=~":
		v, ok := f.operand.value(root, cur)
		s, isStr := v.(string)
		return ok && isStr && f.re.MatchString(s)
	}
	l, ok1 := f.operand.value(root, cur)
	r, ok2 := f.rhs.value(root, cur)
	if !ok1 || !ok2 {
		return f.op == "!=" && ok1 != ok2
	}
	switch f.op {
	case "==":
		return Equal(l, r)
	case "!=":
		return !Equal(l, r)
	}
	c, ok := compareValues(l, r)
	if !ok {
		return false
	}
	switch f.op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

func compareValues(a, b any) (int, bool) {
	if fa, ok := numberFloat(a); ok {
		fb, ok := numberFloat(b)
		if !ok {
			return 0, false
		}
		switch {
		case fa < fb:
			return -1, true
		case fa > fb:
			return 1, true
		}
		return 0, true
	}
	sa, ok1 := a.(string)
	sb, ok2 := b.(string)
	if ok1 && ok2 {
		return strings.Compare(sa, sb), true
	}
	return 0, false
}

func (o *filterOperand) value(root, cur any) (any, bool) {
	if !o.relative && !o.root {
		return o.lit, true
	}
	base := cur
	if o.root {
		base = root
	}
	p := &Path{segs: o.segs}
	if p.Definite() {
		return p.Get(base)
	}
	v, _ := p.Get(base)
	return v, true
}
