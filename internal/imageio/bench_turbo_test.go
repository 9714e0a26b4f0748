//go:build cgo && !noturbo

package imageio

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"testing"
)

// BenchmarkBareTurbo is libjpeg-turbo alone at the same scales, the
// yardstick for BenchmarkDecodeJPEG (issue goal: Decode <= 1.25x this).
func BenchmarkBareTurbo(b *testing.B) {
	for _, name := range []string{"12MP", "2MP"} {
		for _, d := range []int{1, 2, 4, 8} {
			b.Run(fmt.Sprintf("%s/1:%d", name, d), func(b *testing.B) {
				data := photo(b, name)
				cfg, _ := jpeg.DecodeConfig(bytes.NewReader(data))
				dst := make([]byte, 3*cfg.Width*cfg.Height)
				b.SetBytes(int64(len(data)))
				cpu := processCPU()
				for b.Loop() {
					if _, _, err := bareTurboDecode(data, dst, d); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, cpu)
			})
		}
	}
}
