package asl

import (
	"fmt"
	"strings"
)

// state parses one state; type-specific fields are read by the
// fieldReader methods below.
func (p *parser) state(name string, o *Object, prefix string) *State {
	loc := locState(prefix, name)
	st := &State{Name: name}
	typ, _ := o.Val("Type").(string)
	st.Type = typ
	allowed, ok := stateFields[typ]
	if !ok {
		p.add(loc+".Type", "unknown state type %q", typ)
		return st
	}
	allow := map[string]bool{}
	for _, f := range append(stateFields["common"], allowed...) {
		allow[f] = true
	}
	for _, k := range o.keys {
		if !allow[k] {
			p.add(loc, "field %q is not allowed in a %s state", k, typ)
		}
	}
	lang := p.defaultLang()
	if ql, ok := o.Val("QueryLanguage").(string); ok && ql != "" {
		lang = ql
	}
	st.JSONata = lang == "JSONata"
	forbidden := jsonataOnly
	if st.JSONata {
		forbidden = jsonPathOnly
	}
	for _, k := range forbidden {
		if _, ok := o.Get(k); ok {
			p.add(loc, "field %q is not allowed when QueryLanguage is %s", k, lang)
		}
	}

	f := &fieldReader{p: p, st: st, o: o, loc: loc}
	st.Comment, _ = o.Val("Comment").(string)
	if ql, ok := o.Val("QueryLanguage").(string); ok {
		p.queryLanguage(loc+".QueryLanguage", ql)
	}
	if typ != "Choice" && typ != "Succeed" && typ != "Fail" {
		next, hasNext := f.str("Next")
		st.Next = next
		end, hasEnd := o.Get("End")
		if hasEnd {
			b, ok := end.(bool)
			if !ok {
				p.add(loc+".End", "must be a boolean")
			}
			st.End = b
		}
		switch {
		case hasNext && st.End:
			p.add(loc, "Next and End cannot both be set")
		case !hasNext && !st.End:
			p.add(loc, "must have Next or End: true")
		}
	}
	st.InputPath, st.InputPathNull, _ = f.ref("InputPath")
	st.OutputPath, st.OutputPathNull, _ = f.ref("OutputPath")
	st.ResultPath, st.ResultPathNull, _ = f.ref("ResultPath")
	if st.ResultPath != nil && !st.ResultPath.path.Definite() {
		p.add(loc+".ResultPath", "must be a reference path (only names and indexes)")
	}
	if st.ResultPath != nil && st.ResultPath.kind != refInput {
		p.add(loc+".ResultPath", "must start with $ (the state input)")
	}
	st.Parameters = f.template("Parameters")
	st.ResultSelector = f.template("ResultSelector")
	if v, ok := o.Get("Result"); ok {
		st.Result, st.HasResult = v, true
	}
	if v, ok := o.Get("Assign"); ok {
		if st.JSONata {
			st.JAssign = jsonataAssign(v, loc+".Assign", p)
		} else {
			t, err := compileAssign(v)
			if err != nil {
				p.add(loc+".Assign", "%v", err)
			}
			st.Assign = t
		}
	}
	if st.JSONata {
		st.JArguments = f.jvalue("Arguments")
		st.JOutput = f.jvalue("Output")
		st.JItems = f.jvalue("Items")
	}
	st.Retry = p.retriers(o, loc)
	st.Catch = p.catchers(o, loc, st.JSONata)

	switch typ {
	case "Task":
		f.taskFields()
	case "Choice":
		f.choiceFields()
	case "Wait":
		f.waitFields()
	case "Fail":
		f.failFields()
	case "Parallel":
		f.parallelFields()
	case "Map":
		f.mapFields()
	}
	return st
}

// fieldReader reads and checks the fields of one state, recording problems
// located by state name and field.
type fieldReader struct {
	p   *parser
	st  *State
	o   *Object
	loc string
}

// jexpr records a JSONata "{% %}" expression given for field k.
func (f *fieldReader) jexpr(k string) bool {
	if !f.st.JSONata {
		return false
	}
	s, ok := f.o.Val(k).(string)
	if !ok {
		return false
	}
	if _, isExpr := jsonataExpr(s); !isExpr {
		return false
	}
	jv, err := CompileJSONataValue(s)
	if err != nil {
		f.p.add(f.loc+"."+k, "%v", err)
		return true
	}
	if f.st.JExpr == nil {
		f.st.JExpr = map[string]*JSONataValue{}
	}
	f.st.JExpr[k] = jv
	return true
}

// jvalue compiles an optional JSONata field value.
func (f *fieldReader) jvalue(k string) *JSONataValue {
	v, ok := f.o.Get(k)
	if !ok {
		return nil
	}
	jv, err := CompileJSONataValue(v)
	if err != nil {
		f.p.add(f.loc+"."+k, "%v", err)
	}
	return jv
}

// str reads an optional string field (or a JSONata expression).
func (f *fieldReader) str(k string) (string, bool) {
	v, ok := f.o.Get(k)
	if !ok {
		return "", false
	}
	if f.jexpr(k) {
		return "", true
	}
	s, ok := v.(string)
	if !ok {
		f.p.add(f.loc+"."+k, "must be a string")
	}
	return s, ok
}

// ref reads an optional path field: the path, whether it is null, and
// whether it is present.
func (f *fieldReader) ref(k string) (*Ref, bool, bool) {
	v, ok := f.o.Get(k)
	if !ok {
		return nil, false, false
	}
	if v == nil {
		return nil, true, true
	}
	s, ok := v.(string)
	if !ok {
		f.p.add(f.loc+"."+k, "must be a path string or null")
		return nil, false, true
	}
	r, err := CompileRef(s)
	if err != nil {
		f.p.add(f.loc+"."+k, "%v", err)
		return nil, false, true
	}
	return r, false, true
}

// integer reads an optional integer field (or a JSONata expression).
func (f *fieldReader) integer(k string, min int64) (int64, bool) {
	v, ok := f.o.Get(k)
	if !ok {
		return 0, false
	}
	if f.jexpr(k) {
		return 0, true
	}
	n, ok := integerValue(v)
	if !ok || n < min {
		f.p.add(f.loc+"."+k, "must be an integer >= %d", min)
	}
	return n, true
}

// template compiles an optional payload template field.
func (f *fieldReader) template(k string) *Template {
	v, ok := f.o.Get(k)
	if !ok {
		return nil
	}
	t, err := CompileTemplate(v)
	if err != nil {
		f.p.add(f.loc+"."+k, "%v", err)
	}
	return t
}

func (f *fieldReader) taskFields() {
	f.st.Resource, _ = f.str("Resource")
	if f.st.Resource == "" && f.st.JExpr["Resource"] == nil {
		f.p.add(f.loc+".Resource", "missing")
	}
	if strings.HasSuffix(f.st.Resource, ".sync") || strings.Contains(f.st.Resource, ".sync:") {
		f.p.add(f.loc+".Resource", "the run-a-job pattern (.sync) is not supported by the local executor")
	}
	f.st.TimeoutSeconds, _ = f.integer("TimeoutSeconds", 1)
	f.st.HeartbeatSeconds, _ = f.integer("HeartbeatSeconds", 1)
	f.st.TimeoutSecondsPath, _, _ = f.ref("TimeoutSecondsPath")
	f.st.HeartbeatSecsPath, _, _ = f.ref("HeartbeatSecondsPath")
	if f.st.HeartbeatSeconds > 0 && f.st.TimeoutSeconds > 0 && f.st.HeartbeatSeconds >= f.st.TimeoutSeconds {
		f.p.add(f.loc+".HeartbeatSeconds", "must be smaller than TimeoutSeconds")
	}
	if _, ok := f.o.Get("Credentials"); ok {
		f.p.add(f.loc+".Credentials", "cross-account Credentials are not supported by the local executor")
	}
}

func (f *fieldReader) choiceFields() {
	arr, ok := f.o.Val("Choices").([]any)
	if !ok || len(arr) == 0 {
		f.p.add(f.loc+".Choices", "must be a non-empty array")
	}
	for i, x := range arr {
		xo, ok := x.(*Object)
		if !ok {
			f.p.add(fmt.Sprintf("%s.Choices[%d]", f.loc, i), "must be an object")
			continue
		}
		r, err := compileChoiceRule(xo, true, fmt.Sprintf("%s.Choices[%d]", f.loc, i), f.st.JSONata)
		if err != nil {
			f.p.problems = append(f.p.problems, err.Error())
			continue
		}
		f.st.Choices = append(f.st.Choices, r)
	}
	f.st.Default, _ = f.str("Default")
}

func (f *fieldReader) waitFields() {
	n := 0
	if v, ok := f.integer("Seconds", 0); ok {
		f.st.Seconds = &v
		n++
	}
	if r, _, ok := f.ref("SecondsPath"); ok {
		f.st.SecondsPath = r
		n++
	}
	if s, ok := f.str("Timestamp"); ok {
		if _, ok := ParseTimestamp(s); !ok && f.st.JExpr["Timestamp"] == nil {
			f.p.add(f.loc+".Timestamp", "%q is not an RFC 3339 timestamp", s)
		}
		f.st.Timestamp = s
		n++
	}
	if r, _, ok := f.ref("TimestampPath"); ok {
		f.st.TimestampPath = r
		n++
	}
	if n != 1 {
		f.p.add(f.loc, "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath")
	}
}

func (f *fieldReader) failFields() {
	f.st.Error, f.st.HasError = f.str("Error")
	f.st.Cause, f.st.HasCause = f.str("Cause")
	for _, k := range []string{"ErrorPath", "CausePath"} {
		s, ok := f.str(k)
		if !ok {
			continue
		}
		e, err := CompileExpr(s)
		if err != nil {
			f.p.add(f.loc+"."+k, "%v", err)
			continue
		}
		if k == "ErrorPath" {
			f.st.ErrorPath = e
		} else {
			f.st.CausePath = e
		}
	}
	if f.st.HasError && f.st.ErrorPath != nil {
		f.p.add(f.loc, "Error and ErrorPath cannot both be set")
	}
	if f.st.HasCause && f.st.CausePath != nil {
		f.p.add(f.loc, "Cause and CausePath cannot both be set")
	}
}

func (f *fieldReader) parallelFields() {
	arr, ok := f.o.Val("Branches").([]any)
	if !ok || len(arr) == 0 {
		f.p.add(f.loc+".Branches", "must be a non-empty array")
	}
	for i, b := range arr {
		bo, ok := b.(*Object)
		if !ok {
			f.p.add(fmt.Sprintf("%s.Branches[%d]", f.loc, i), "must be an object")
			continue
		}
		f.st.Branches = append(f.st.Branches, f.p.machine(bo, fmt.Sprintf("%s.Branches[%d]", f.loc, i), false))
	}
}

func (f *fieldReader) mapFields() {
	proc, hasProc := f.o.Get("ItemProcessor")
	it, hasIt := f.o.Get("Iterator")
	switch {
	case hasProc && hasIt:
		f.p.add(f.loc, "ItemProcessor and Iterator cannot both be set")
	case hasIt:
		proc, hasProc = it, true
	}
	distributed := false
	if po, ok := proc.(*Object); ok && hasProc {
		if pc, ok := po.Val("ProcessorConfig").(*Object); ok {
			for _, k := range pc.keys {
				switch k {
				case "Mode":
					m, _ := pc.Val(k).(string)
					if m != "INLINE" && m != "DISTRIBUTED" {
						f.p.add(f.loc+".ItemProcessor.ProcessorConfig.Mode", "must be INLINE or DISTRIBUTED")
					}
					distributed = m == "DISTRIBUTED"
				case "ExecutionType":
					t, _ := pc.Val(k).(string)
					if t != "STANDARD" && t != "EXPRESS" {
						f.p.add(f.loc+".ItemProcessor.ProcessorConfig.ExecutionType", "must be STANDARD or EXPRESS")
					}
					f.st.ChildType = t
				default:
					f.p.add(f.loc+".ItemProcessor.ProcessorConfig", "unknown field %q", k)
				}
			}
		}
		f.st.ItemProcessor = f.p.machine(po, f.loc+".ItemProcessor", false)
	} else {
		f.p.add(f.loc+".ItemProcessor", "missing or not an object")
	}
	f.st.Distributed = distributed
	if distributed && f.st.ChildType == "" {
		f.st.ChildType = "STANDARD"
	}
	f.distributedFields(distributed)
	f.st.ItemsPath, _, _ = f.ref("ItemsPath")
	if f.st.JSONata {
		if v, ok := f.o.Get("ItemSelector"); ok {
			jv, err := CompileJSONataValue(v)
			if err != nil {
				f.p.add(f.loc+".ItemSelector", "%v", err)
			}
			f.st.JItemSelector = jv
		}
	} else {
		f.st.ItemSelector = f.template("ItemSelector")
	}
	if f.st.ItemSelector != nil && f.st.Parameters != nil {
		f.p.add(f.loc, "ItemSelector and Parameters cannot both be set")
	}
	if f.st.ItemSelector == nil {
		f.st.ItemSelector = f.st.Parameters
	}
	f.st.MaxConcurrency, _ = f.integer("MaxConcurrency", 0)
	f.st.MaxConcurrencyPath, _, _ = f.ref("MaxConcurrencyPath")
	if v, ok := f.o.Get("ToleratedFailurePercentage"); ok && f.jexpr("ToleratedFailurePercentage") {
		f.st.ToleratedFailurePercentageSet = true
	} else if ok {
		pct, ok := numberFloat(v)
		if !ok || pct < 0 || pct > 100 {
			f.p.add(f.loc+".ToleratedFailurePercentage", "must be a number between 0 and 100")
		}
		f.st.ToleratedFailurePercentage = pct
		f.st.ToleratedFailurePercentageSet = true
	}
	if n, ok := f.integer("ToleratedFailureCount", 0); ok {
		f.st.ToleratedFailureCount = n
		f.st.ToleratedFailureCountSet = true
	}
	f.st.ToleratedFailurePercentagePath, _, _ = f.ref("ToleratedFailurePercentagePath")
	f.st.ToleratedFailureCountPath, _, _ = f.ref("ToleratedFailureCountPath")
	f.st.Label, _ = f.o.Val("Label").(string)
}
