package diskstore_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/objstore/diskstore"
)

func BenchmarkPutObject(b *testing.B) {
	for _, size := range []int{1 << 20, 5 << 20} {
		for _, nosync := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dMB/nosync=%v", size>>20, nosync), func(b *testing.B) {
				body := make([]byte, size)
				rand.Read(body)
				s, err := diskstore.Open(b.TempDir(), diskstore.Options{NoSync: nosync})
				if err != nil {
					b.Fatal(err)
				}
				if err := s.CreateBucket(b.Context(), "bench"); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(size))
				for i := 0; b.Loop(); i++ {
					if _, err := s.PutObject(b.Context(), "bench", fmt.Sprintf("k%d", i%8), bytes.NewReader(body), objstore.PutOptions{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
