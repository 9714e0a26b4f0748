package tfconv

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const umdPrefix = `!function(e){if("object"==typeof exports&&"undefined"!=typeof module)module.exports=e();else{("undefined"!=typeof window?window:this).model=e()}}(function(){return function e(a,n,i){}({1:[function(e,a,n){a.exports=`
const umdSuffix = `},{}]},{},[1])(1)});`

func TestUnwrapJS(t *testing.T) {
	tests := []struct {
		name    string
		js      string
		want    string // JSON (compared as values) or raw bytes
		isJSON  bool
		wantErr bool
	}{
		{"object literal", umdPrefix + `{modelTopology:{keras_version:"2.2.4",ok:!0,no:!1,n:null,v:void 0,x:.999,y:-.5,z:1e-5,h:0x10,'q':'it\'s',"s":"a\"b\u00e9\n",arr:[1,2,],emp:{}},w:[{name:"a/b",shape:[3,3],quantization:{min:-.03,scale:.0004}}]}` + umdSuffix,
			`{"modelTopology":{"keras_version":"2.2.4","ok":true,"no":false,"n":null,"v":null,"x":0.999,"y":-0.5,"z":1e-05,"h":16,"q":"it's","s":"a\"bé\n","arr":[1,2],"emp":{}},"w":[{"name":"a/b","shape":[3,3],"quantization":{"min":-0.03,"scale":0.0004}}]}`, true, false},
		{"base64 shard", umdPrefix + `"AAECAw=="` + umdSuffix, "\x00\x01\x02\x03", false, false},
		{"no literal", `module.exports=e();`, "", false, true},
		{"bad base64", umdPrefix + `"!!!"` + umdSuffix, "", false, true},
		{"unterminated", umdPrefix + `{a:[1,2`, "", false, true},
		{"expression", umdPrefix + `{a:f(1)}` + umdSuffix, "", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := UnwrapJS([]byte(tc.js))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if !tc.isJSON {
				if string(got) != tc.want {
					t.Errorf("got %q, want %q", got, tc.want)
				}
				return
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, got)
			}
			if err := json.Unmarshal([]byte(tc.want), &w); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnwrapJSDepthLimit(t *testing.T) {
	deep := umdPrefix
	for i := 0; i < maxJSDepth+10; i++ {
		deep += "["
	}
	if _, err := UnwrapJS([]byte(deep)); err == nil {
		t.Error("deeply nested literal accepted")
	}
}

// FuzzUnwrapJS feeds untrusted JS to UnwrapJS: it must not panic, and
// whatever object literal it accepts must come out as valid JSON.
func FuzzUnwrapJS(f *testing.F) {
	f.Add([]byte(umdPrefix + `{a:1,b:[!0,!1,null],c:"x"}` + umdSuffix))
	f.Add([]byte(umdPrefix + `"AAECAw=="` + umdSuffix))
	f.Add([]byte(`x.exports={a:'\x41\u0042'}`))
	f.Fuzz(func(t *testing.T, js []byte) {
		out, err := UnwrapJS(js)
		if err != nil {
			return
		}
		i := indexExportsLiteral(js)
		if i >= 0 && js[i] == '{' && !json.Valid(out) {
			t.Errorf("accepted %q but produced invalid JSON %q", js, out)
		}
	})
}

// indexExportsLiteral mirrors UnwrapJS's search for the literal.
func indexExportsLiteral(js []byte) int {
	const key = ".exports="
	for off := 0; ; {
		i := indexFrom(js, key, off)
		if i < 0 {
			return -1
		}
		j := i + len(key)
		if j < len(js) && (js[j] == '"' || js[j] == '\'' || js[j] == '{' || js[j] == '[') {
			return j
		}
		off = j
	}
}

func indexFrom(b []byte, s string, off int) int {
	for i := off; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return i
		}
	}
	return -1
}
