package facecollection

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/imagerec/imagerec/internal/vision"
)

// BenchmarkSearch times one exact search (top 10, no threshold) of a
// collection of 1,000, 10,000 and 100,000 faces with the identity model's
// 128-value descriptors (and FaceRes's 1024, the collections made before
// the identity model changed).
func BenchmarkSearch(b *testing.B) {
	for _, dim := range []int{128, 1024} {
		for _, n := range []int{1_000, 10_000, 100_000} {
			b.Run(fmt.Sprintf("dim=%d/faces=%d", dim, n), func(b *testing.B) { benchSearch(b, dim, n) })
		}
	}
}

func benchSearch(b *testing.B, dim, n int) {
	s, err := Open(b.TempDir(), Options{FaceModelVersion: "bench", Dim: dim, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Create("c"); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, uint64(n)))
	batch := make([]Face, 0, 4096)
	for i := range n {
		batch = append(batch, Face{CollectionFace: vision.CollectionFace{FaceID: NewID(), ImageID: NewID()}, Descriptor: unit(r, dim)})
		if len(batch) == cap(batch) || i == n-1 {
			if err := s.Add("c", batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	q := unit(r, dim)
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Search("c", q, 10, 0, ""); err != nil {
			b.Fatal(err)
		}
	}
}
