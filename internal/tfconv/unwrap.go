package tfconv

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxJSDepth bounds the nesting of object literals UnwrapJS accepts.
const maxJSDepth = 200

// UnwrapJS returns the payload of a JS-wrapped model file as shipped by
// nsfwjs@4.4.0 under dist/models/<name>/: a UMD bundle whose module does
// `x.exports = <literal>`. A string literal is a weight shard in base64
// and is returned decoded; an object literal is the model.json and is
// returned as JSON.
func UnwrapJS(js []byte) ([]byte, error) {
	rest := js
	for {
		i := bytes.Index(rest, []byte(".exports="))
		if i < 0 {
			return nil, errors.New("unwrap js: no `exports=` literal found")
		}
		rest = rest[i+len(".exports="):]
		if len(rest) > 0 && (rest[0] == '"' || rest[0] == '\'' || rest[0] == '{' || rest[0] == '[') {
			break
		}
	}
	p := &jsParser{src: rest}
	if rest[0] == '"' || rest[0] == '\'' {
		s, err := p.str()
		if err != nil {
			return nil, fmt.Errorf("unwrap js: %w", err)
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("unwrap js: decode base64: %w", err)
		}
		return b, nil
	}
	if err := p.value(0); err != nil {
		return nil, fmt.Errorf("unwrap js: offset %d: %w", p.pos, err)
	}
	return p.out.Bytes(), nil
}

// jsParser translates a JS literal (objects, arrays, strings, numbers,
// true/false/null, !0/!1, void 0) into JSON.
type jsParser struct {
	src []byte
	pos int
	out bytes.Buffer
}

func (p *jsParser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsParser) peek() byte {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return 0
	}
	return p.src[p.pos]
}

func (p *jsParser) value(depth int) error {
	if depth > maxJSDepth {
		return errors.New("literal nested too deeply")
	}
	switch c := p.peek(); {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"' || c == '\'':
		s, err := p.str()
		if err != nil {
			return err
		}
		writeJSONString(&p.out, s)
		return nil
	case c == '!':
		p.pos++
		switch {
		case p.consume("0"):
			p.out.WriteString("true")
		case p.consume("1"):
			p.out.WriteString("false")
		default:
			return errors.New("unsupported `!` expression")
		}
		return nil
	case c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		for _, kw := range []struct{ js, json string }{
			{"true", "true"}, {"false", "false"}, {"null", "null"}, {"void 0", "null"},
		} {
			if p.consume(kw.js) {
				p.out.WriteString(kw.json)
				return nil
			}
		}
	}
	return fmt.Errorf("unexpected %q", p.peek())
}

func (p *jsParser) consume(s string) bool {
	if bytes.HasPrefix(p.src[p.pos:], []byte(s)) {
		p.pos += len(s)
		return true
	}
	return false
}

func (p *jsParser) object(depth int) error {
	p.pos++ // {
	p.out.WriteByte('{')
	for first := true; ; first = false {
		if p.peek() == '}' {
			p.pos++
			p.out.WriteByte('}')
			return nil
		}
		if !first {
			if p.peek() != ',' {
				return errors.New("expected `,` or `}`")
			}
			p.pos++
			if p.peek() == '}' { // trailing comma
				p.pos++
				p.out.WriteByte('}')
				return nil
			}
			p.out.WriteByte(',')
		}
		key, err := p.key()
		if err != nil {
			return err
		}
		writeJSONString(&p.out, key)
		if p.peek() != ':' {
			return errors.New("expected `:`")
		}
		p.pos++
		p.out.WriteByte(':')
		if err := p.value(depth + 1); err != nil {
			return err
		}
	}
}

func (p *jsParser) key() (string, error) {
	switch c := p.peek(); {
	case c == '"' || c == '\'':
		return p.str()
	case c >= '0' && c <= '9':
		start := p.pos
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
		}
		return string(p.src[start:p.pos]), nil
	}
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (p.pos > start && c >= '0' && c <= '9') {
			p.pos++
			continue
		}
		break
	}
	if p.pos == start {
		return "", errors.New("expected a property name")
	}
	return string(p.src[start:p.pos]), nil
}

func (p *jsParser) array(depth int) error {
	p.pos++ // [
	p.out.WriteByte('[')
	for first := true; ; first = false {
		if p.peek() == ']' {
			p.pos++
			p.out.WriteByte(']')
			return nil
		}
		if !first {
			if p.peek() != ',' {
				return errors.New("expected `,` or `]`")
			}
			p.pos++
			if p.peek() == ']' {
				p.pos++
				p.out.WriteByte(']')
				return nil
			}
			p.out.WriteByte(',')
		}
		if err := p.value(depth + 1); err != nil {
			return err
		}
	}
}

func (p *jsParser) number() error {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+' ||
			c == 'x' || c == 'X' || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') {
			p.pos++
			continue
		}
		break
	}
	lit := string(p.src[start:p.pos])
	var v float64
	var err error
	if t := strings.TrimLeft(lit, "+-"); strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X") {
		var u uint64
		u, err = strconv.ParseUint(t[2:], 16, 64)
		v = float64(u)
		if strings.HasPrefix(lit, "-") {
			v = -v
		}
	} else {
		v, err = strconv.ParseFloat(lit, 64)
	}
	if err != nil {
		return fmt.Errorf("number %q: %w", lit, err)
	}
	p.out.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	return nil
}

// str parses a quoted JS string literal.
func (p *jsParser) str() (string, error) {
	q := p.src[p.pos]
	p.pos++
	var sb strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch c {
		case q:
			p.pos++
			return sb.String(), nil
		case '\\':
			if p.pos+1 >= len(p.src) {
				return "", errors.New("unterminated string")
			}
			e := p.src[p.pos+1]
			p.pos += 2
			switch e {
			case 'n':
				sb.WriteByte('\n')
			case 't':
				sb.WriteByte('\t')
			case 'r':
				sb.WriteByte('\r')
			case 'b':
				sb.WriteByte('\b')
			case 'f':
				sb.WriteByte('\f')
			case 'v':
				sb.WriteByte('\v')
			case '0':
				sb.WriteByte(0)
			case 'x', 'u':
				n := 2
				if e == 'u' {
					n = 4
				}
				if p.pos+n > len(p.src) {
					return "", errors.New("bad escape")
				}
				r, err := strconv.ParseUint(string(p.src[p.pos:p.pos+n]), 16, 32)
				if err != nil {
					return "", fmt.Errorf("bad escape: %w", err)
				}
				p.pos += n
				sb.WriteRune(rune(r))
			case '\n':
				// line continuation
			default:
				sb.WriteByte(e)
			}
		default:
			if c >= utf8.RuneSelf {
				r, size := utf8.DecodeRune(p.src[p.pos:])
				sb.WriteRune(r)
				p.pos += size
				continue
			}
			sb.WriteByte(c)
			p.pos++
		}
	}
	return "", errors.New("unterminated string")
}

func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // a string always marshals
	buf.Write(b)
}
