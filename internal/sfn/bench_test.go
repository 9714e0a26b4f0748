package sfn_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/imagerec/imagerec/internal/sfn"
)

func passChain(n int) string {
	var b strings.Builder
	b.WriteString(`{"StartAt":"S0","States":{`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"S%d":{"Type":"Pass","Parameters":{"i":%d,"v.$":"$.v"}`, i, i)
		if i == n-1 {
			b.WriteString(`,"End":true}`)
		} else {
			fmt.Fprintf(&b, `,"Next":"S%d"}`, i+1)
		}
	}
	b.WriteString(`}}`)
	return b.String()
}

// BenchmarkPassChain reports state transitions per second for a chain of
// 1,000 Pass states with Parameters.
func BenchmarkPassChain(b *testing.B) {
	const n = 1000
	x, err := sfn.New([]byte(passChain(n)), nil, sfn.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	b.ResetTimer()
	for i := range b.N {
		ex, err := x.RunSync(b.Context(), fmt.Sprintf("e%d", i), json.RawMessage(`{"v":"payload"}`))
		if err != nil || ex.Status != sfn.StatusSucceeded {
			b.Fatal(ex.Status, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "transitions/s")
}

// BenchmarkMap10k reports transitions per second for a Map over 10,000
// items, each iteration one Pass state.
func BenchmarkMap10k(b *testing.B) {
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"x.$":"$"},"End":true}}},"End":true}}}`
	x, err := sfn.New([]byte(def), nil, sfn.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	items := make([]int, 10000)
	for i := range items {
		items[i] = i
	}
	in, _ := json.Marshal(items)
	b.ResetTimer()
	for i := range b.N {
		ex, err := x.RunSync(b.Context(), fmt.Sprintf("e%d", i), in)
		if err != nil || ex.Status != sfn.StatusSucceeded {
			b.Fatal(ex.Status, err)
		}
	}
	b.ReportMetric(float64(10001*b.N)/b.Elapsed().Seconds(), "transitions/s")
}
