package asl

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// StateMachine is a parsed and validated definition (or a Parallel branch
// or Map item processor, which have the same shape).
type StateMachine struct {
	Comment        string
	StartAt        string
	States         map[string]*State
	Order          []string // state names in definition order
	TimeoutSeconds int64
	Version        string
	QueryLanguage  string
	// Raw is the definition as parsed (a Map's ItemProcessor is the
	// definition of its child executions).
	Raw *Object
}

// Retrier is one Retry entry.
type Retrier struct {
	ErrorEquals     []string
	IntervalSeconds float64
	MaxAttempts     int
	BackoffRate     float64
	MaxDelaySeconds float64
	JitterFull      bool
}

// Catcher is one Catch entry.
type Catcher struct {
	ErrorEquals    []string
	Next           string
	ResultPath     *Ref
	ResultPathNull bool
	Assign         *Template
	JOutput        *JSONataValue
	JAssign        *JSONataValue
}

// State is one state. Fields apply according to Type.
type State struct {
	Name    string
	Type    string
	Comment string
	Next    string
	End     bool

	InputPath      *Ref
	InputPathNull  bool
	OutputPath     *Ref
	OutputPathNull bool
	ResultPath     *Ref
	ResultPathNull bool
	Parameters     *Template
	ResultSelector *Template
	Result         any
	HasResult      bool
	Assign         *Template
	Retry          []Retrier
	Catch          []Catcher

	// Task
	Resource           string
	TimeoutSeconds     int64
	TimeoutSecondsPath *Ref
	HeartbeatSeconds   int64
	HeartbeatSecsPath  *Ref

	// Choice
	Choices []*ChoiceRule
	Default string

	// Wait
	Seconds       *int64
	SecondsPath   *Ref
	Timestamp     string
	TimestampPath *Ref

	// Fail
	Error     string
	HasError  bool
	Cause     string
	HasCause  bool
	ErrorPath *Expr
	CausePath *Expr

	// Parallel
	Branches []*StateMachine

	// Map
	ItemProcessor                  *StateMachine
	ItemsPath                      *Ref
	ItemSelector                   *Template
	MaxConcurrency                 int64
	MaxConcurrencyPath             *Ref
	ToleratedFailurePercentage     float64
	ToleratedFailurePercentagePath *Ref
	ToleratedFailureCount          int64
	ToleratedFailureCountPath      *Ref
	ToleratedFailurePercentageSet  bool
	ToleratedFailureCountSet       bool
	Label                          string
	// Distributed is set for ProcessorConfig.Mode DISTRIBUTED: each
	// iteration is a child execution of type ChildType (STANDARD or
	// EXPRESS), items may come from ItemReader and be batched by
	// ItemBatcher, and results may go to ResultWriter.
	Distributed  bool
	ChildType    string
	ItemReader   *ItemReader
	ItemBatcher  *ItemBatcher
	ResultWriter *ResultWriter

	// JSONata is set when the state's QueryLanguage is JSONata. Its fields
	// are then in the J* fields and JExpr, and the JSONPath ones are unset.
	JSONata       bool
	JArguments    *JSONataValue
	JOutput       *JSONataValue
	JAssign       *JSONataValue
	JItems        *JSONataValue
	JItemSelector *JSONataValue
	// JExpr holds fields given as a "{% %}" expression instead of a
	// literal: Seconds, Timestamp, Error, Cause, MaxConcurrency,
	// ToleratedFailureCount, ToleratedFailurePercentage, TimeoutSeconds,
	// HeartbeatSeconds.
	JExpr map[string]*JSONataValue
}

var jsonPathOnly = []string{"InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "ItemsPath",
	"SecondsPath", "TimestampPath", "ErrorPath", "CausePath", "TimeoutSecondsPath", "HeartbeatSecondsPath",
	"MaxConcurrencyPath", "ToleratedFailureCountPath", "ToleratedFailurePercentagePath", "Iterator"}

var jsonataOnly = []string{"Arguments", "Output", "Items"}

// ValidationError lists every problem found in a definition, each located
// by state name and field.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "invalid state machine definition:\n  " + strings.Join(e.Problems, "\n  ")
}

// Parse parses and validates a definition.
func Parse(data []byte) (*StateMachine, error) {
	v, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("parse definition: %w", err)
	}
	o, ok := v.(*Object)
	if !ok {
		return nil, &ValidationError{[]string{"definition: must be a JSON object"}}
	}
	p := &parser{}
	sm := p.machine(o, "", true)
	if len(p.problems) > 0 {
		return nil, &ValidationError{p.problems}
	}
	return sm, nil
}

// Substitute replaces ${Name} placeholders (DefinitionSubstitutions) in a
// definition. Unknown names are left as they are.
func Substitute(def []byte, vars map[string]string) []byte {
	return substRe.ReplaceAllFunc(def, func(m []byte) []byte {
		if v, ok := vars[string(m[2:len(m)-1])]; ok {
			return []byte(v)
		}
		return m
	})
}

var substRe = regexp.MustCompile(`\$\{[A-Za-z0-9_.:-]+\}`)

type parser struct {
	problems []string
	lang     []string // stack of default query languages
}

func (p *parser) defaultLang() string {
	if len(p.lang) == 0 {
		return "JSONPath"
	}
	return p.lang[len(p.lang)-1]
}

func (p *parser) add(loc, format string, args ...any) {
	p.problems = append(p.problems, loc+": "+fmt.Sprintf(format, args...))
}

func locState(prefix, name string) string {
	if prefix == "" {
		return fmt.Sprintf("state %q", name)
	}
	return fmt.Sprintf("%s > state %q", prefix, name)
}

var stateFields = map[string][]string{
	"common":   {"Type", "Comment", "QueryLanguage"},
	"Pass":     {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "Result", "Assign", "Output"},
	"Task":     {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Retry", "Catch", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Assign", "Credentials", "Arguments", "Output"},
	"Choice":   {"InputPath", "OutputPath", "Choices", "Default", "Assign", "Output"},
	"Wait":     {"Next", "End", "InputPath", "OutputPath", "Seconds", "SecondsPath", "Timestamp", "TimestampPath", "Assign", "Output"},
	"Succeed":  {"InputPath", "OutputPath", "Output"},
	"Fail":     {"Error", "ErrorPath", "Cause", "CausePath"},
	"Parallel": {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Retry", "Catch", "Branches", "Assign", "Arguments", "Output"},
	"Map": {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Retry", "Catch", "Iterator", "ItemProcessor",
		"ItemsPath", "ItemSelector", "MaxConcurrency", "MaxConcurrencyPath", "ToleratedFailurePercentage", "ToleratedFailurePercentagePath",
		"ToleratedFailureCount", "ToleratedFailureCountPath", "Label", "Assign", "ItemReader", "ResultWriter", "ItemBatcher", "Items", "Output"},
}

func (p *parser) machine(o *Object, prefix string, top bool) *StateMachine {
	sm := &StateMachine{States: map[string]*State{}, QueryLanguage: p.defaultLang(), Raw: o}
	if ql, ok := o.Val("QueryLanguage").(string); ok && ql != "" {
		sm.QueryLanguage = ql
	}
	p.lang = append(p.lang, sm.QueryLanguage)
	defer func() { p.lang = p.lang[:len(p.lang)-1] }()
	loc := prefix
	if loc == "" {
		loc = "definition"
	}
	for _, k := range o.keys {
		v := o.Val(k)
		switch k {
		case "Comment":
			sm.Comment, _ = v.(string)
		case "StartAt":
			s, ok := v.(string)
			if !ok {
				p.add(loc, "StartAt must be a string")
			}
			sm.StartAt = s
		case "States":
		case "Version":
			sm.Version, _ = v.(string)
		case "TimeoutSeconds":
			if !top {
				p.add(loc, "TimeoutSeconds is only allowed at the top level")
			}
			n, ok := integerValue(v)
			if !ok || n < 0 {
				p.add(loc+".TimeoutSeconds", "must be a non-negative integer")
			}
			sm.TimeoutSeconds = n
		case "QueryLanguage":
			s, _ := v.(string)
			p.queryLanguage(loc+".QueryLanguage", s)
		case "ProcessorConfig":
			if top {
				p.add(loc, "unknown field %q", k)
			}
		default:
			p.add(loc, "unknown field %q", k)
		}
	}
	if sm.StartAt == "" {
		p.add(loc, "StartAt is missing")
	}
	states, ok := o.Val("States").(*Object)
	if !ok || states.Len() == 0 {
		p.add(loc, "States must be a non-empty object")
		return sm
	}
	for _, name := range states.keys {
		so, ok := states.Val(name).(*Object)
		if !ok {
			p.add(locState(prefix, name), "must be an object")
			continue
		}
		if len(name) > 80 {
			p.add(locState(prefix, name), "state names must be at most 80 characters")
		}
		st := p.state(name, so, prefix)
		sm.States[name] = st
		sm.Order = append(sm.Order, name)
	}
	if _, ok := sm.States[sm.StartAt]; !ok && sm.StartAt != "" {
		p.add(loc+".StartAt", "state %q does not exist", sm.StartAt)
	}
	// Transitions must name existing states; every state reachable.
	for _, name := range sm.Order {
		st := sm.States[name]
		for _, n := range st.transitions() {
			if _, ok := sm.States[n.to]; !ok {
				p.add(locState(prefix, name)+"."+n.field, "state %q does not exist", n.to)
			}
		}
	}
	reach := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		if reach[n] {
			return
		}
		reach[n] = true
		if st, ok := sm.States[n]; ok {
			for _, t := range st.transitions() {
				walk(t.to)
			}
		}
	}
	walk(sm.StartAt)
	for _, name := range sm.Order {
		if !reach[name] {
			p.add(locState(prefix, name), "state is not reachable from StartAt")
		}
	}
	return sm
}

func (p *parser) queryLanguage(loc, s string) {
	switch s {
	case "JSONPath", "":
	case "JSONata":
	default:
		p.add(loc, "must be JSONPath or JSONata, got %q", s)
	}
}

type transition struct{ field, to string }

func (s *State) transitions() []transition {
	var out []transition
	if s.Next != "" {
		out = append(out, transition{"Next", s.Next})
	}
	for i, c := range s.Choices {
		out = append(out, transition{fmt.Sprintf("Choices[%d].Next", i), c.Next})
	}
	if s.Default != "" {
		out = append(out, transition{"Default", s.Default})
	}
	for i, c := range s.Catch {
		out = append(out, transition{fmt.Sprintf("Catch[%d].Next", i), c.Next})
	}
	return out
}

func errorEquals(o *Object, loc string, p *parser) []string {
	arr, ok := o.Val("ErrorEquals").([]any)
	if !ok || len(arr) == 0 {
		p.add(loc+".ErrorEquals", "must be a non-empty array of error names")
		return nil
	}
	var out []string
	for i, x := range arr {
		s, ok := x.(string)
		if !ok {
			p.add(fmt.Sprintf("%s.ErrorEquals[%d]", loc, i), "must be a string")
			continue
		}
		if s == ErrNameALL && len(arr) != 1 {
			p.add(loc+".ErrorEquals", "States.ALL must appear alone")
		}
		out = append(out, s)
	}
	return out
}

func (p *parser) retriers(o *Object, loc string) []Retrier {
	v, ok := o.Get("Retry")
	if !ok {
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		p.add(loc+".Retry", "must be an array")
		return nil
	}
	var out []Retrier
	for i, x := range arr {
		l := fmt.Sprintf("%s.Retry[%d]", loc, i)
		xo, ok := x.(*Object)
		if !ok {
			p.add(l, "must be an object")
			continue
		}
		r := Retrier{IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2}
		r.ErrorEquals = errorEquals(xo, l, p)
		for _, k := range xo.keys {
			val := xo.Val(k)
			switch k {
			case "ErrorEquals", "Comment":
			case "IntervalSeconds":
				n, ok := integerValue(val)
				if !ok || n < 1 || n > 99999999 {
					p.add(l+".IntervalSeconds", "must be a positive integer")
				}
				r.IntervalSeconds = float64(n)
			case "MaxAttempts":
				n, ok := integerValue(val)
				if !ok || n < 0 || n > 99999999 {
					p.add(l+".MaxAttempts", "must be a non-negative integer")
				}
				r.MaxAttempts = int(n)
			case "BackoffRate":
				f, ok := numberFloat(val)
				if !ok || f < 1 {
					p.add(l+".BackoffRate", "must be a number >= 1.0")
				}
				r.BackoffRate = f
			case "MaxDelaySeconds":
				n, ok := integerValue(val)
				if !ok || n < 1 || n > 31622400 {
					p.add(l+".MaxDelaySeconds", "must be a positive integer")
				}
				r.MaxDelaySeconds = float64(n)
			case "JitterStrategy":
				s, _ := val.(string)
				switch s {
				case "FULL":
					r.JitterFull = true
				case "NONE":
				default:
					p.add(l+".JitterStrategy", "must be FULL or NONE")
				}
			default:
				p.add(l, "unknown field %q", k)
			}
		}
		for _, e := range r.ErrorEquals {
			if e == ErrNameALL && i != len(arr)-1 {
				p.add(l+".ErrorEquals", "a retrier with States.ALL must be the last one")
			}
		}
		out = append(out, r)
	}
	return out
}

func (p *parser) catchers(o *Object, loc string, jsonataMode bool) []Catcher {
	v, ok := o.Get("Catch")
	if !ok {
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		p.add(loc+".Catch", "must be an array")
		return nil
	}
	var out []Catcher
	for i, x := range arr {
		l := fmt.Sprintf("%s.Catch[%d]", loc, i)
		xo, ok := x.(*Object)
		if !ok {
			p.add(l, "must be an object")
			continue
		}
		c := Catcher{ErrorEquals: errorEquals(xo, l, p)}
		for _, k := range xo.keys {
			val := xo.Val(k)
			switch k {
			case "ErrorEquals", "Comment":
			case "Next":
				c.Next, _ = val.(string)
			case "ResultPath":
				if jsonataMode {
					p.add(l, "field \"ResultPath\" is not allowed when QueryLanguage is JSONata")
					continue
				}
				if val == nil {
					c.ResultPathNull = true
					continue
				}
				s, _ := val.(string)
				r, err := CompileRef(s)
				if err != nil {
					p.add(l+".ResultPath", "%v", err)
					continue
				}
				if !r.path.Definite() || r.kind != refInput {
					p.add(l+".ResultPath", "must be a reference path starting with $")
				}
				c.ResultPath = r
			case "Assign":
				if jsonataMode {
					c.JAssign = jsonataAssign(val, l+".Assign", p)
					continue
				}
				t, err := compileAssign(val)
				if err != nil {
					p.add(l+".Assign", "%v", err)
				}
				c.Assign = t
			case "Output":
				if !jsonataMode {
					p.add(l, "field \"Output\" is only allowed when QueryLanguage is JSONata")
					continue
				}
				jv, err := CompileJSONataValue(val)
				if err != nil {
					p.add(l+".Output", "%v", err)
				}
				c.JOutput = jv
			default:
				p.add(l, "unknown field %q", k)
			}
		}
		if c.Next == "" {
			p.add(l+".Next", "missing")
		}
		for _, e := range c.ErrorEquals {
			if e == ErrNameALL && i != len(arr)-1 {
				p.add(l+".ErrorEquals", "a catcher with States.ALL must be the last one")
			}
		}
		out = append(out, c)
	}
	return out
}

// compileAssign compiles an Assign block: an object of variable names.
func compileAssign(v any) (*Template, error) {
	o, ok := v.(*Object)
	if !ok {
		return nil, errors.New("must be an object")
	}
	for _, k := range o.keys {
		name := strings.TrimSuffix(k, ".$")
		if name == "" || !isVarStart(name[0]) {
			return nil, fmt.Errorf("invalid variable name %q", name)
		}
		for i := 1; i < len(name); i++ {
			if !isVarChar(name[i]) {
				return nil, fmt.Errorf("invalid variable name %q", name)
			}
		}
	}
	return CompileTemplate(v)
}

// MatchesError reports whether a Retry/Catch ErrorEquals list matches the
// error name.
func MatchesError(list []string, name string) bool {
	for _, e := range list {
		if e == name {
			return true
		}
		if e == ErrNameALL && name != ErrNameRuntime && name != ErrNameDataLimitExceeded {
			return true
		}
		if e == ErrNameTaskFailed && name != ErrNameTimeout && !strings.HasPrefix(name, "States.") {
			return true
		}
	}
	return false
}

// jsonataAssign compiles a JSONata Assign block.
func jsonataAssign(v any, loc string, p *parser) *JSONataValue {
	o, ok := v.(*Object)
	if !ok {
		p.add(loc, "must be an object")
		return nil
	}
	for _, k := range o.keys {
		if k == "" || !isVarStart(k[0]) || strings.HasSuffix(k, ".$") {
			p.add(loc, "invalid variable name %q", k)
		}
	}
	jv, err := CompileJSONataValue(v)
	if err != nil {
		p.add(loc, "%v", err)
	}
	return jv
}
