package asl

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	"math/big"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Intrinsic is a compiled intrinsic function call such as
// States.Format('{}', $.name).
type Intrinsic struct {
	src  string
	name string
	args []intrinsicArg
}

type intrinsicArg struct {
	lit any // literal value (string, json.Number, bool, nil)
	// fmt is a string literal with \{, \} and \\ kept escaped, for
	// States.Format templates.
	fmt  *string
	ref  *Ref
	call *Intrinsic
}

// IntrinsicSyntaxError describes an invalid intrinsic function expression.
type IntrinsicSyntaxError struct {
	Expr string
	Msg  string
}

func (e *IntrinsicSyntaxError) Error() string {
	return fmt.Sprintf("invalid intrinsic function %q: %s", e.Expr, e.Msg)
}

// IsIntrinsic reports whether s looks like an intrinsic function call.
func IsIntrinsic(s string) bool {
	return strings.HasPrefix(s, "States.") && strings.Contains(s, "(")
}

// intrinsic functions and their argument counts (min, max; -1 = any).
var intrinsicArity = map[string][2]int{
	"Format": {1, -1}, "StringToJson": {1, 1}, "JsonToString": {1, 1},
	"Array": {0, -1}, "ArrayPartition": {2, 2}, "ArrayContains": {2, 2},
	"ArrayRange": {3, 3}, "ArrayGetItem": {2, 2}, "ArrayLength": {1, 1},
	"ArrayUnique": {1, 1}, "Base64Encode": {1, 1}, "Base64Decode": {1, 1},
	"Hash": {2, 2}, "JsonMerge": {3, 3}, "MathRandom": {2, 3}, "MathAdd": {2, 2},
	"StringSplit": {2, 2}, "UUID": {0, 0},
}

// CompileIntrinsic parses an intrinsic function call.
func CompileIntrinsic(src string) (*Intrinsic, error) {
	p := &intrinsicParser{src: src}
	call, err := p.parseCall()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(src) {
		return nil, p.errf("unexpected text after the call")
	}
	return call, nil
}

type intrinsicParser struct {
	src string
	pos int
}

func (p *intrinsicParser) errf(format string, args ...any) error {
	return &IntrinsicSyntaxError{Expr: p.src, Msg: fmt.Sprintf(format, args...) + fmt.Sprintf(" (at offset %d)", p.pos)}
}

func (p *intrinsicParser) skipSpace() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
}

func (p *intrinsicParser) parseCall() (*Intrinsic, error) {
	start := p.pos
	if !strings.HasPrefix(p.src[p.pos:], "States.") {
		return nil, p.errf("expected States.<Function>(")
	}
	p.pos += len("States.")
	ns := p.pos
	for p.pos < len(p.src) && isVarChar(p.src[p.pos]) {
		p.pos++
	}
	name := p.src[ns:p.pos]
	arity, ok := intrinsicArity[name]
	if !ok {
		return nil, p.errf("unknown function States.%s", name)
	}
	if p.pos >= len(p.src) || p.src[p.pos] != '(' {
		return nil, p.errf("expected ( after States.%s", name)
	}
	p.pos++
	call := &Intrinsic{name: name}
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ')' {
		p.pos++
	} else {
		for {
			p.skipSpace()
			a, err := p.parseArg()
			if err != nil {
				return nil, err
			}
			call.args = append(call.args, a)
			p.skipSpace()
			if p.pos >= len(p.src) {
				return nil, p.errf("missing )")
			}
			if p.src[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.src[p.pos] == ')' {
				p.pos++
				break
			}
			return nil, p.errf("expected , or )")
		}
	}
	call.src = p.src[start:p.pos]
	if len(call.args) < arity[0] || arity[1] >= 0 && len(call.args) > arity[1] {
		return nil, p.errf("States.%s takes %s, got %d", name, arityText(arity), len(call.args))
	}
	return call, nil
}

func arityText(a [2]int) string {
	switch {
	case a[0] == a[1]:
		return fmt.Sprintf("%d arguments", a[0])
	case a[1] < 0:
		return fmt.Sprintf("at least %d arguments", a[0])
	}
	return fmt.Sprintf("%d to %d arguments", a[0], a[1])
}

func (p *intrinsicParser) parseArg() (intrinsicArg, error) {
	if p.pos >= len(p.src) {
		return intrinsicArg{}, p.errf("missing argument")
	}
	c := p.src[p.pos]
	switch {
	case c == '\'':
		s, raw, err := p.parseString()
		return intrinsicArg{lit: s, fmt: &raw}, err
	case c == '$':
		start := p.pos
		depth := 0
		quote := byte(0)
		for p.pos < len(p.src) {
			ch := p.src[p.pos]
			if quote != 0 {
				if ch == quote {
					quote = 0
				}
				p.pos++
				continue
			}
			if ch == '\'' || ch == '"' {
				quote = ch
			} else if ch == '[' || ch == '(' {
				depth++
			} else if ch == ']' || ch == ')' {
				if depth == 0 {
					break
				}
				depth--
			} else if ch == ',' && depth == 0 {
				break
			}
			p.pos++
		}
		src := strings.TrimRight(p.src[start:p.pos], " ")
		r, err := CompileRef(src)
		if err != nil {
			return intrinsicArg{}, p.errf("bad path %q: %v", src, err)
		}
		return intrinsicArg{ref: r}, nil
	case strings.HasPrefix(p.src[p.pos:], "States."):
		c, err := p.parseCall()
		return intrinsicArg{call: c}, err
	case c == '-' || c >= '0' && c <= '9':
		start := p.pos
		p.pos++
		for p.pos < len(p.src) && strings.IndexByte("0123456789.eE+-", p.src[p.pos]) >= 0 {
			p.pos++
		}
		num := p.src[start:p.pos]
		if _, err := strconv.ParseFloat(num, 64); err != nil {
			return intrinsicArg{}, p.errf("bad number %q", num)
		}
		return intrinsicArg{lit: json.Number(num)}, nil
	case strings.HasPrefix(p.src[p.pos:], "true"):
		p.pos += 4
		return intrinsicArg{lit: true}, nil
	case strings.HasPrefix(p.src[p.pos:], "false"):
		p.pos += 5
		return intrinsicArg{lit: false}, nil
	case strings.HasPrefix(p.src[p.pos:], "null"):
		p.pos += 4
		return intrinsicArg{lit: nil}, nil
	}
	return intrinsicArg{}, p.errf("unexpected %q", c)
}

// parseString reads a '...' literal. It returns the value and the text for
// a Format template, in which \{, \} and \\ stay escaped.
func (p *intrinsicParser) parseString() (string, string, error) {
	p.pos++ // '
	var b, raw strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '\\' && p.pos+1 < len(p.src) {
			n := p.src[p.pos+1]
			switch n {
			case '\'':
				b.WriteByte(n)
				raw.WriteByte(n)
			case '{', '}', '\\':
				b.WriteByte(n)
				raw.WriteByte('\\')
				raw.WriteByte(n)
			default:
				b.WriteByte('\\')
				b.WriteByte(n)
				raw.WriteByte('\\')
				raw.WriteByte('\\')
				raw.WriteByte(n)
			}
			p.pos += 2
			continue
		}
		if c == '\'' {
			p.pos++
			return b.String(), raw.String(), nil
		}
		b.WriteByte(c)
		raw.WriteByte(c)
		p.pos++
	}
	return "", "", p.errf("unterminated string literal")
}

// String returns the source text.
func (f *Intrinsic) String() string { return f.src }

func intrinsicFailure(format string, args ...any) *Error {
	return newError(ErrNameIntrinsicFailure, format, args...)
}

// Eval evaluates the call.
func (f *Intrinsic) Eval(env *Env) (any, *Error) {
	args := make([]any, len(f.args))
	for i, a := range f.args {
		switch {
		case a.call != nil:
			v, err := a.call.Eval(env)
			if err != nil {
				return nil, err
			}
			args[i] = v
		case a.ref != nil:
			v, ok := a.ref.Eval(env)
			if !ok {
				in := env.Input
				if a.ref.kind == refContext {
					in = env.Context
				}
				return nil, newError(ErrNameRuntime, "The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'", a.ref.src, f.src, MarshalString(in))
			}
			args[i] = v
		default:
			args[i] = a.lit
		}
	}
	if f.name == "Format" && len(f.args) > 0 && f.args[0].fmt != nil {
		return format("States.Format", *f.args[0].fmt, args[1:], true)
	}
	return f.apply(args)
}

// intrinsicFunc implements one function; fn is its full name for messages.
type intrinsicFunc func(fn string, args []any) (any, *Error)

// intrinsicFuncs maps a function name (without "States.") to its code.
var intrinsicFuncs = map[string]intrinsicFunc{
	"Format":         fnFormat,
	"StringToJson":   fnStringToJSON,
	"JsonToString":   fnJSONToString,
	"Array":          fnArray,
	"ArrayPartition": fnArrayPartition,
	"ArrayContains":  fnArrayContains,
	"ArrayRange":     fnArrayRange,
	"ArrayGetItem":   fnArrayGetItem,
	"ArrayLength":    fnArrayLength,
	"ArrayUnique":    fnArrayUnique,
	"Base64Encode":   fnBase64Encode,
	"Base64Decode":   fnBase64Decode,
	"Hash":           fnHash,
	"JsonMerge":      fnJSONMerge,
	"MathRandom":     fnMathRandom,
	"MathAdd":        fnMathAdd,
	"StringSplit":    fnStringSplit,
	"UUID":           fnUUID,
}

func (f *Intrinsic) apply(args []any) (any, *Error) {
	impl, ok := intrinsicFuncs[f.name]
	if !ok {
		return nil, intrinsicFailure("unknown function States.%s", f.name)
	}
	return impl("States."+f.name, args)
}

func fnFormat(fn string, args []any) (any, *Error) {
	tmpl, ok := args[0].(string)
	if !ok {
		return nil, intrinsicFailure("%s: the first argument must be a string", fn)
	}
	return format(fn, tmpl, args[1:], false)
}

func fnStringToJSON(fn string, args []any) (any, *Error) {
	s, ok := args[0].(string)
	if !ok {
		return nil, intrinsicFailure("%s: the argument must be a string, got %s", fn, typeName(args[0]))
	}
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	v, err := Decode([]byte(s))
	if err != nil {
		return nil, intrinsicFailure("%s: the argument is not valid JSON: %v", fn, err)
	}
	return v, nil
}

func fnJSONToString(fn string, args []any) (any, *Error) {
	return MarshalString(args[0]), nil
}

func fnArray(fn string, args []any) (any, *Error) {
	return append([]any{}, args...), nil
}

func fnArrayPartition(fn string, args []any) (any, *Error) {
	a, ok := args[0].([]any)
	if !ok {
		return nil, intrinsicFailure("%s: the first argument must be an array", fn)
	}
	n, ok := integerArg(args[1])
	if !ok || n <= 0 {
		return nil, intrinsicFailure("%s: the chunk size must be a positive integer", fn)
	}
	out := []any{}
	for i := 0; i < len(a); i += int(n) {
		end := min(len(a), i+int(n))
		out = append(out, append([]any{}, a[i:end]...))
	}
	return out, nil
}

func fnArrayContains(fn string, args []any) (any, *Error) {
	a, ok := args[0].([]any)
	if !ok {
		return nil, intrinsicFailure("%s: the first argument must be an array", fn)
	}
	for _, x := range a {
		if Equal(x, args[1]) {
			return true, nil
		}
	}
	return false, nil
}

func fnArrayRange(fn string, args []any) (any, *Error) {
	var n [3]int64
	for i := range 3 {
		v, ok := integerArg(args[i])
		if !ok {
			return nil, intrinsicFailure("%s: the arguments must be integers", fn)
		}
		n[i] = v
	}
	if n[2] == 0 {
		return nil, intrinsicFailure("%s: the step must not be 0", fn)
	}
	out := []any{}
	for v := n[0]; (n[2] > 0 && v <= n[1]) || (n[2] < 0 && v >= n[1]); v += n[2] {
		if len(out) >= 1000 {
			return nil, intrinsicFailure("%s: the range has more than 1000 items", fn)
		}
		out = append(out, json.Number(strconv.FormatInt(v, 10)))
	}
	return out, nil
}

func fnArrayGetItem(fn string, args []any) (any, *Error) {
	a, ok := args[0].([]any)
	if !ok {
		return nil, intrinsicFailure("%s: the first argument must be an array", fn)
	}
	i, ok := integerArg(args[1])
	if !ok || i < 0 {
		return nil, intrinsicFailure("%s: the index must be a non-negative integer", fn)
	}
	if i >= int64(len(a)) {
		return nil, intrinsicFailure("%s: index %d is out of bounds for an array of %d items", fn, i, len(a))
	}
	return a[i], nil
}

func fnArrayLength(fn string, args []any) (any, *Error) {
	a, ok := args[0].([]any)
	if !ok {
		return nil, intrinsicFailure("%s: the argument must be an array", fn)
	}
	return json.Number(strconv.Itoa(len(a))), nil
}

func fnArrayUnique(fn string, args []any) (any, *Error) {
	a, ok := args[0].([]any)
	if !ok {
		return nil, intrinsicFailure("%s: the argument must be an array", fn)
	}
	out := []any{}
next:
	for _, x := range a {
		for _, y := range out {
			if Equal(x, y) {
				continue next
			}
		}
		out = append(out, x)
	}
	return out, nil
}

func fnBase64Encode(fn string, args []any) (any, *Error) {
	s, ok := args[0].(string)
	if !ok {
		return nil, intrinsicFailure("%s: the argument must be a string", fn)
	}
	if len(s) > 10000 {
		return nil, intrinsicFailure("%s: the input is longer than 10000 characters", fn)
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func fnBase64Decode(fn string, args []any) (any, *Error) {
	s, ok := args[0].(string)
	if !ok {
		return nil, intrinsicFailure("%s: the argument must be a string", fn)
	}
	if len(s) > 10000 {
		return nil, intrinsicFailure("%s: the input is longer than 10000 characters", fn)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, intrinsicFailure("%s: the argument is not valid base64: %v", fn, err)
	}
	if !utf8.Valid(b) {
		return nil, intrinsicFailure("%s: the decoded data is not UTF-8 text", fn)
	}
	return string(b), nil
}

func fnHash(fn string, args []any) (any, *Error) {
	s, ok := args[0].(string)
	if !ok {
		s = MarshalString(args[0])
	}
	alg, ok := args[1].(string)
	if !ok {
		return nil, intrinsicFailure("%s: the algorithm must be a string", fn)
	}
	if len(s) > 10000 {
		return nil, intrinsicFailure("%s: the input is longer than 10000 characters", fn)
	}
	sum, ok := hashHex(alg, s)
	if !ok {
		return nil, intrinsicFailure("%s: unsupported algorithm %q (MD5, SHA-1, SHA-256, SHA-384, SHA-512)", fn, alg)
	}
	return sum, nil
}

func fnJSONMerge(fn string, args []any) (any, *Error) {
	a, ok1 := args[0].(*Object)
	b, ok2 := args[1].(*Object)
	if !ok1 || !ok2 {
		return nil, intrinsicFailure("%s: the first two arguments must be objects", fn)
	}
	deep, ok := args[2].(bool)
	if !ok {
		return nil, intrinsicFailure("%s: the third argument must be a boolean", fn)
	}
	if deep {
		return nil, intrinsicFailure("%s: deep merge is not supported, the third argument must be false", fn)
	}
	out := Clone(a).(*Object)
	for _, k := range b.keys {
		out.Set(k, Clone(b.Val(k)))
	}
	return out, nil
}

func fnMathRandom(fn string, args []any) (any, *Error) {
	lo, ok1 := numberFloat(args[0])
	hi, ok2 := numberFloat(args[1])
	if !ok1 || !ok2 {
		return nil, intrinsicFailure("%s: the bounds must be numbers", fn)
	}
	l, h := javaRound(lo), javaRound(hi)
	if l >= h {
		return nil, intrinsicFailure("%s: the start must be lower than the end", fn)
	}
	var r *mrand.Rand
	if len(args) == 3 {
		seed, ok := numberFloat(args[2])
		if !ok {
			return nil, intrinsicFailure("%s: the seed must be a number", fn)
		}
		r = mrand.New(mrand.NewPCG(uint64(int64(seed)), 0)) //nolint:gosec // States.MathRandom: a seeded, reproducible sequence is what the spec asks for, not a secret
	}
	span := uint64(h - l)
	var x uint64
	if r != nil {
		x = r.Uint64N(span)
	} else {
		x = mrand.Uint64N(span) //nolint:gosec // States.MathRandom is not used for secrets
	}
	return json.Number(strconv.FormatInt(l+int64(x), 10)), nil
}

func fnMathAdd(fn string, args []any) (any, *Error) {
	a, ok1 := numberFloat(args[0])
	b, ok2 := numberFloat(args[1])
	if !ok1 || !ok2 {
		return nil, intrinsicFailure("%s: the arguments must be numbers", fn)
	}
	return json.Number(strconv.FormatInt(javaRound(a)+javaRound(b), 10)), nil
}

func fnStringSplit(fn string, args []any) (any, *Error) {
	s, ok1 := args[0].(string)
	sep, ok2 := args[1].(string)
	if !ok1 || !ok2 {
		return nil, intrinsicFailure("%s: the arguments must be strings", fn)
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(sep, r) })
	out := make([]any, len(parts))
	for i, x := range parts {
		out[i] = x
	}
	return out, nil
}

func fnUUID(fn string, args []any) (any, *Error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}

// javaRound rounds half up, like java.lang.Math.round.
func javaRound(f float64) int64 { return int64(math.Floor(f + 0.5)) }

func integerArg(v any) (int64, bool) {
	if n, ok := integerValue(v); ok {
		return n, true
	}
	if f, ok := numberFloat(v); ok && f == math.Trunc(f) && !math.IsInf(f, 0) {
		return int64(f), true
	}
	return 0, false
}

func format(fn, tmpl string, args []any, escapes bool) (any, *Error) {
	var b strings.Builder
	n := 0
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if escapes && c == '\\' && i+1 < len(tmpl) {
			b.WriteByte(tmpl[i+1])
			i++
			continue
		}
		if c == '{' && i+1 < len(tmpl) && tmpl[i+1] == '}' {
			if n >= len(args) {
				return nil, intrinsicFailure("%s: the template has more {} than arguments", fn)
			}
			b.WriteString(formatArg(args[n]))
			n++
			i++
			continue
		}
		b.WriteByte(c)
	}
	if n != len(args) {
		return nil, intrinsicFailure("%s: the template has %d {} for %d arguments", fn, n, len(args))
	}
	return b.String(), nil
}

// formatArg prints a value as Step Functions' Format does: strings bare,
// objects and arrays in Java's toString style.
func formatArg(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case []any:
		parts := make([]string, len(t))
		for i, x := range t {
			parts[i] = formatArg(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *Object:
		parts := make([]string, len(t.keys))
		for i, k := range t.keys {
			parts[i] = k + "=" + formatArg(t.Val(k))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case json.Number:
		return string(t)
	}
	if f, ok := numberFloat(v); ok {
		return big.NewFloat(f).Text('g', -1)
	}
	return fmt.Sprint(v)
}

// hashHex is the hex digest of s with one of the algorithms States.Hash and
// JSONata's $hash accept; ok is false for any other name.
func hashHex(alg, s string) (string, bool) {
	var h hash.Hash
	switch alg {
	case "MD5":
		h = md5.New()
	case "SHA-1":
		h = sha1.New()
	case "SHA-256":
		h = sha256.New()
	case "SHA-384":
		h = sha512.New384()
	case "SHA-512":
		h = sha512.New()
	default:
		return "", false
	}
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil)), true
}
