package asl_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/imagerec/imagerec/internal/asl"
)

func decode(t testing.TB, s string) any {
	t.Helper()
	v, err := asl.Decode([]byte(s))
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

const doc = `{"a":{"b":[1,2,{"c":"x"}]},"items":[{"v":1,"s":"on"},{"v":5,"s":"off"},{"v":9,"s":"on"}],"k-1":true,"q'k":0}`

func TestPathGet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path, want string
		found      bool
	}{
		{"$", doc, true},
		{"$.a.b[0]", `1`, true},
		{"$.a.b[-1].c", `"x"`, true},
		{"$['a']['b'][2]['c']", `"x"`, true},
		{"$.k-1", `true`, true},
		{`$['q\'k']`, `0`, true},
		{"$.a.missing", ``, false},
		{"$.a.b[7]", ``, false},
		{"$.items[*].v", `[1,5,9]`, true},
		{"$.items[1:].v", `[5,9]`, true},
		{"$.items[:1].v", `[1]`, true},
		{"$.items[0,2].s", `["on","on"]`, true},
		{"$.items[?(@.v > 2)].v", `[5,9]`, true},
		{"$.items[?(@.s == 'on' && @.v < 5)].v", `[1]`, true},
		{"$.items[?(@.s =~ /o.*/)].v", `[1,5,9]`, true},
		{"$..c", `["x"]`, true},
		{"$.nothing[*]", `[]`, true},
	}
	in := decode(t, doc)
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			p, err := asl.CompilePath(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			v, found := p.Get(in)
			if found != tc.found {
				t.Fatalf("found = %v, want %v", found, tc.found)
			}
			if found {
				if diff := cmp.Diff(tc.want, asl.MarshalString(v)); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestPathSyntaxErrors(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", "a.b", "$.", "$[", "$[1", "$['a", "$.a[?(@.x ==)]", "$[1:2:x]"} {
		if _, err := asl.CompilePath(p); err == nil {
			t.Errorf("CompilePath(%q) succeeded, want an error", p)
		}
	}
}

func TestSetPath(t *testing.T) {
	t.Parallel()
	in := decode(t, `{"a":{"b":1},"l":[0,{"x":1}]}`)
	tests := []struct{ path, val, want string }{
		{"$.a.c", `2`, `{"a":{"b":1,"c":2},"l":[0,{"x":1}]}`},
		{"$.new.deep", `true`, `{"a":{"b":1},"l":[0,{"x":1}],"new":{"deep":true}}`},
		{"$.l[1].x", `"y"`, `{"a":{"b":1},"l":[0,{"x":"y"}]}`},
	}
	for _, tc := range tests {
		out, err := asl.SetPath(in, asl.MustCompilePath(tc.path), decode(t, tc.val))
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if got := asl.MarshalString(out); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.path, got, tc.want)
		}
	}
	if got := asl.MarshalString(in); got != `{"a":{"b":1},"l":[0,{"x":1}]}` {
		t.Errorf("input modified: %s", got)
	}
	if _, err := asl.SetPath(decode(t, `{"a":"s"}`), asl.MustCompilePath("$.a.b"), 1); err == nil {
		t.Error("setting a field of a string succeeded")
	}
}

func TestIntrinsics(t *testing.T) {
	t.Parallel()
	input := `{"s":"a,b,,c","n":3,"f":1.5,"arr":[1,2,2,3],"o1":{"a":1,"b":{"x":1}},"o2":{"b":2},"str":"{\"k\":[1,true]}","t":"hi"}`
	tests := []struct {
		expr, want, wantErr string
	}{
		{`States.Format('x={} y={}', $.n, $.o1)`, `"x=3 y={a=1, b={x=1}}"`, ""},
		{`States.Format('esc \{\} \' \\ {}', $.t)`, `"esc {} ' \\ hi"`, ""},
		{`States.Format('{} {}', $.n)`, "", asl.ErrNameIntrinsicFailure},
		{`States.StringToJson($.str)`, `{"k":[1,true]}`, ""},
		{`States.StringToJson($.t)`, "", asl.ErrNameIntrinsicFailure},
		{`States.JsonToString($.o1)`, `"{\"a\":1,\"b\":{\"x\":1}}"`, ""},
		{`States.Array($.n, 'x', true, null)`, `[3,"x",true,null]`, ""},
		{`States.ArrayPartition($.arr, 3)`, `[[1,2,2],[3]]`, ""},
		{`States.ArrayPartition($.arr, 0)`, "", asl.ErrNameIntrinsicFailure},
		{`States.ArrayContains($.arr, 3)`, `true`, ""},
		{`States.ArrayRange(10, 0, -5)`, `[10,5,0]`, ""},
		{`States.ArrayRange(0, 10, 0)`, "", asl.ErrNameIntrinsicFailure},
		{`States.ArrayGetItem($.arr, 3)`, `3`, ""},
		{`States.ArrayGetItem($.arr, 4)`, "", asl.ErrNameIntrinsicFailure},
		{`States.ArrayLength($.arr)`, `4`, ""},
		{`States.ArrayLength($.t)`, "", asl.ErrNameIntrinsicFailure},
		{`States.ArrayUnique($.arr)`, `[1,2,3]`, ""},
		{`States.Base64Encode($.t)`, `"aGk="`, ""},
		{`States.Base64Decode('aGk=')`, `"hi"`, ""},
		{`States.Base64Decode('***')`, "", asl.ErrNameIntrinsicFailure},
		{`States.Hash($.t, 'SHA-1')`, `"c22b5f9178342609428d6f51b2c5af4c0bde6a42"`, ""},
		{`States.Hash($.t, 'CRC32')`, "", asl.ErrNameIntrinsicFailure},
		{`States.JsonMerge($.o1, $.o2, false)`, `{"a":1,"b":2}`, ""},
		{`States.JsonMerge($.o1, $.o2, true)`, "", asl.ErrNameIntrinsicFailure},
		{`States.MathAdd($.n, -1)`, `2`, ""},
		{`States.MathAdd($.f, 0)`, `2`, ""},
		{`States.MathAdd($.t, 1)`, "", asl.ErrNameIntrinsicFailure},
		{`States.StringSplit($.s, ',')`, `["a","b","c"]`, ""},
		{`States.ArrayGetItem(States.StringSplit($.s, ','), States.MathAdd(States.ArrayLength(States.StringSplit($.s, ',')), -1))`, `"c"`, ""},
		{`States.MathAdd($.missing, 1)`, "", asl.ErrNameRuntime},
	}
	in := decode(t, input)
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			t.Parallel()
			f, err := asl.CompileIntrinsic(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			v, e := f.Eval(&asl.Env{Input: in})
			if tc.wantErr != "" {
				if e == nil || e.Name != tc.wantErr {
					t.Fatalf("got %v, %v; want error %s", asl.MarshalString(v), e, tc.wantErr)
				}
				return
			}
			if e != nil {
				t.Fatal(e)
			}
			if got := asl.MarshalString(v); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestIntrinsicRandomAndUUID(t *testing.T) {
	t.Parallel()
	f, _ := asl.CompileIntrinsic(`States.MathRandom(5, 8)`)
	for range 50 {
		v, e := f.Eval(&asl.Env{})
		if e != nil {
			t.Fatal(e)
		}
		if s := asl.MarshalString(v); s != "5" && s != "6" && s != "7" {
			t.Fatalf("MathRandom(5, 8) = %s", s)
		}
	}
	f, _ = asl.CompileIntrinsic(`States.UUID()`)
	v, _ := f.Eval(&asl.Env{})
	if s, _ := v.(string); len(s) != 36 || s[14] != '4' {
		t.Errorf("UUID() = %v, want a version 4 UUID", v)
	}
}

func TestIntrinsicSyntaxErrors(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"States.Nope()", "States.Format(", "States.Format('x'", "States.ArrayLength()", "States.UUID(1)", "States.Format('a') x", "States.Format('unterminated)"} {
		if _, err := asl.CompileIntrinsic(s); err == nil {
			t.Errorf("CompileIntrinsic(%q) succeeded", s)
		}
	}
}

func TestChoiceRules(t *testing.T) {
	t.Parallel()
	in := `{"n":5,"s":"log-2024.txt","t":"2024-01-02T00:00:00Z","b":true,"z":null,"lim":10,"star":"a*b"}`
	tests := []struct {
		rule string
		want bool
	}{
		{`{"Variable":"$.n","NumericGreaterThan":4}`, true},
		{`{"Variable":"$.n","NumericLessThanPath":"$.lim"}`, true},
		{`{"Variable":"$.s","StringMatches":"log-*.txt"}`, true},
		{`{"Variable":"$.star","StringMatches":"a\\*b"}`, true},
		{`{"Variable":"$.s","StringMatches":"log-\\*.txt"}`, false},
		{`{"Variable":"$.t","TimestampGreaterThan":"2023-12-31T23:59:59+01:00"}`, true},
		{`{"Variable":"$.t","IsTimestamp":true}`, true},
		{`{"Variable":"$.z","IsNull":true}`, true},
		{`{"Variable":"$.nope","IsPresent":false}`, true},
		{`{"Variable":"$.s","NumericEquals":5}`, false},
		{`{"And":[{"Variable":"$.b","BooleanEquals":true},{"Not":{"Variable":"$.n","IsString":true}}]}`, true},
		{`{"Or":[{"Variable":"$.n","NumericEquals":1},{"Variable":"$.n","NumericEquals":5}]}`, true},
	}
	env := &asl.Env{Input: decode(t, in)}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			t.Parallel()
			def := `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[` + tc.rule[:len(tc.rule)-1] + `,"Next":"E"}],"Default":"E"},"E":{"Type":"Succeed"}}}`
			sm, err := asl.Parse([]byte(def))
			if err != nil {
				t.Fatal(err)
			}
			got, e := sm.States["C"].Choices[0].Eval(env)
			if e != nil {
				t.Fatal(e)
			}
			if got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidationErrorsAreLocated(t *testing.T) {
	t.Parallel()
	tests := []struct{ def, want string }{
		{`{"StartAt":"A","States":{"A":{"Type":"Pass"}}}`, `state "A": must have Next or End: true`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}`, `state "A".Next: state "B" does not exist`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"Bogus":1}}}`, `state "A": field "Bogus" is not allowed in a Pass state`},
		{`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"x","End":true,"Retry":[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["E"]}]}}}`, `state "A".Retry[0].ErrorEquals: a retrier with States.ALL must be the last one`},
		{`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"x","End":true,"Catch":[{"ErrorEquals":["States.ALL","X"],"Next":"A"}]}}}`, `States.ALL must appear alone`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"States.Nope()"},"End":true}}}`, `state "A".Parameters: field "x.$"`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","End":true},"B":{"Type":"Succeed"}}}`, `state "B": state is not reachable`},
		{`{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"$.x","End":true}}}`, `state "A": field "InputPath" is not allowed when QueryLanguage is JSONata`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","Output":{},"End":true}}}`, `state "A": field "Output" is not allowed when QueryLanguage is JSONPath`},
		{`{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Output":"{% $x + %}","End":true}}}`, `state "A".Output: invalid JSONata expression`},
		{`{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.x","IsNull":true,"Next":"A"}]}}}`, `field "Variable" is not allowed in a JSONata choice rule`},
		{`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::batch:submitJob.sync","End":true}}}`, `state "A".Resource: the run-a-job pattern (.sync) is not supported`},
		{`{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Output":"{% ($f := function($n){$f($n+1)}; $f(0)) %}","End":true}}}`, `function $f calls itself`},
		{`{"QueryLanguage":"Python","StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`, `must be JSONPath or JSONata`},
		{`{"StartAt":"A","States":{"A":{"Type":"Map","ItemReader":{},"ItemProcessor":{"StartAt":"B","States":{"B":{"Type":"Pass","End":true}}},"End":true}}}`, `state "A".ItemReader: is only allowed in a Map whose ItemProcessor.ProcessorConfig.Mode is DISTRIBUTED`},
		{`{"StartAt":"A","States":{"A":{"Type":"Map","ItemReader":{"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket":"b","Key":"k"},"ReaderConfig":{"InputType":"PARQUET"}},"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},"StartAt":"B","States":{"B":{"Type":"Pass","End":true}}},"End":true}}}`, `state "A".ItemReader.ReaderConfig.InputType: "PARQUET" is not supported`},
		{`{"StartAt":"A","States":{"A":{"Type":"Map","ItemBatcher":{"MaxInputBytesPerBatch":300000},"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},"StartAt":"B","States":{"B":{"Type":"Pass","End":true}}},"End":true}}}`, `state "A".ItemBatcher.MaxInputBytesPerBatch: must be an integer between 0 and 262144`},
		{`{"StartAt":"A","States":{"A":{"Type":"Map","ResultWriter":{"Resource":"arn:aws:states:::s3:putObject"},"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},"StartAt":"B","States":{"B":{"Type":"Pass","End":true}}},"End":true}}}`, `state "A".ResultWriter: Parameters (or Arguments) naming the bucket are required`},
		{`{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"X","States":{"X":{"Type":"Pass"}}}]}}}`, `state "P".Branches[0] > state "X": must have Next or End`},
		{`{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":"1","Next":"A"}]}}}`, `state "A".Choices[0].NumericEquals: must be a number`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$.a[*]","End":true}}}`, `state "A".ResultPath: must be a reference path`},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			_, err := asl.Parse([]byte(tc.def))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestSubstitute(t *testing.T) {
	t.Parallel()
	got := string(asl.Substitute([]byte(`{"R":"${Fn}","B":"${Bucket}-x","U":"${Unknown}"}`), map[string]string{"Fn": "arn:aws:lambda:r:1:function:f", "Bucket": "b"}))
	want := `{"R":"arn:aws:lambda:r:1:function:f","B":"b-x","U":"${Unknown}"}`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestMatchesError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		list []string
		name string
		want bool
	}{
		{[]string{"States.ALL"}, "Custom", true},
		{[]string{"States.ALL"}, "States.Timeout", true},
		{[]string{"States.ALL"}, "States.Runtime", false},
		{[]string{"States.ALL"}, "States.DataLimitExceeded", false},
		{[]string{"States.TaskFailed"}, "Custom", true},
		{[]string{"States.TaskFailed"}, "States.Timeout", false},
		{[]string{"A", "B"}, "B", true},
		{[]string{"A"}, "a", false},
	}
	for _, tc := range tests {
		if got := asl.MatchesError(tc.list, tc.name); got != tc.want {
			t.Errorf("MatchesError(%v, %q) = %v, want %v", tc.list, tc.name, got, tc.want)
		}
	}
}
