package shapetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Model is a set of botocore shapes.
type Model struct {
	Operations map[string]Operation `json:"operations"`
	Shapes     map[string]Shape     `json:"shapes"`
}

// Operation names an operation's input, output and error shapes.
type Operation struct {
	Input  string   `json:"input"`
	Output string   `json:"output"`
	Errors []string `json:"errors"`
}

// Shape is one botocore shape.
type Shape struct {
	Type      string            `json:"type"`
	Members   map[string]Member `json:"members"`
	Member    *Member           `json:"member"`
	Enum      []string          `json:"enum"`
	Required  []string          `json:"required"`
	Exception bool              `json:"exception"`
	Fault     bool              `json:"fault"`
}

// Member refers to a shape by name.
type Member struct {
	Shape string `json:"shape"`
}

// Parse reads a shapes document.
func Parse(data []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parse shapes: %w", err)
	}
	return &m, nil
}

// Check validates the JSON document doc against shape and returns every
// problem found, each prefixed with its JSON path; nil means it conforms.
func (m *Model) Check(shape string, doc []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []string{"$: " + err.Error()}
	}
	var probs []string
	m.check("$", shape, v, &probs)
	return probs
}

func (m *Model) check(path, name string, v any, probs *[]string) {
	fail := func(format string, args ...any) {
		*probs = append(*probs, path+": "+fmt.Sprintf(format, args...))
	}
	s, ok := m.Shapes[name]
	if !ok {
		fail("unknown shape %q", name)
		return
	}
	if v == nil {
		fail("null where %s (%s) is expected; Rekognition omits absent members", name, s.Type)
		return
	}
	switch s.Type {
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			fail("want object %s, got %T", name, v)
			return
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			mem, ok := s.Members[k]
			if !ok {
				fail("member %q is not in %s (members: %s)", k, name, strings.Join(memberNames(s), ", "))
				continue
			}
			m.check(path+"."+k, mem.Shape, obj[k], probs)
		}
		for _, r := range s.Required {
			if _, ok := obj[r]; !ok {
				fail("required member %q missing from %s", r, name)
			}
		}
	case "list":
		arr, ok := v.([]any)
		if !ok {
			fail("want array %s, got %T", name, v)
			return
		}
		for i, e := range arr {
			m.check(fmt.Sprintf("%s[%d]", path, i), s.Member.Shape, e, probs)
		}
	case "timestamp":
		// The JSON protocols send epoch seconds (ISO 8601 text is accepted
		// too).
		switch v.(type) {
		case json.Number, string:
		default:
			fail("want a timestamp %s, got %T", name, v)
		}
	case "string", "blob":
		str, ok := v.(string)
		if !ok {
			fail("want string %s, got %T", name, v)
			return
		}
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
			fail("%q is not one of %s %v", str, name, s.Enum)
		}
	case "integer", "long":
		n, ok := v.(json.Number)
		if !ok {
			fail("want integer %s, got %T", name, v)
			return
		}
		if _, err := n.Int64(); err != nil {
			fail("want integer %s, got %s", name, n)
		}
	case "float", "double":
		if _, ok := v.(json.Number); !ok {
			fail("want number %s, got %T", name, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			fail("want boolean %s, got %T", name, v)
		}
	case "map":
		if _, ok := v.(map[string]any); !ok {
			fail("want object %s, got %T", name, v)
		}
	default:
		fail("shape %s has unsupported type %q", name, s.Type)
	}
}

func memberNames(s Shape) []string {
	out := make([]string, 0, len(s.Members))
	for k := range s.Members {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
