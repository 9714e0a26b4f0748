package facecollection

import (
	"cmp"
	"container/heap"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/imagerec/imagerec/internal/vision"
)

// Match is one search result.
type Match struct {
	Face       Face    // without Descriptor
	Similarity float64 // 0-100, see Similarity
}

// FaceMatch is the match as Rekognition reports it, Similarity rounded to
// three decimals.
func (m Match) FaceMatch() vision.FaceMatch {
	return vision.FaceMatch{Similarity: math.Round(m.Similarity*1000) / 1000, Face: m.Face.CollectionFace}
}

// Calibration of Similarity (docs/face-collections.md): cosine
// similarityMid of two centred, unit-length descriptors of the identity
// model (face-api.js's FaceRecognitionNet) maps to 50 and similarityAt80
// to 80. On the labelled pairs, similarityMid is the cosine that 1% of
// different-person pairs exceed and similarityAt80 one that only one of
// 1,224 exceeds (0.08%), so that Rekognition's default threshold of 80
// keeps false matches about as rare as Rekognition documents them to be
// at its default.
const (
	similarityMid  = 0.41
	similarityAt80 = 0.55
)

// similaritySlope makes Similarity(similarityAt80) = 80.
var similaritySlope = math.Log(4) / (similarityAt80 - similarityMid)

// Similarity maps the cosine of two descriptors onto Rekognition's 0-100
// Similarity, a logistic curve through the calibration points.
func Similarity(cos float32) float64 {
	return 100 / (1 + math.Exp(-similaritySlope*(float64(cos)-similarityMid)))
}

// minCosine is the lowest cosine whose Similarity is at least sim.
func minCosine(sim float64) float32 {
	switch {
	case sim <= 0:
		return -2
	case sim >= 100:
		return 2
	}
	return float32(similarityMid + math.Log(sim/(100-sim))/similaritySlope)
}

// parallelFrom is the collection size from which Search splits the scan
// across the CPUs.
const parallelFrom = 8192

// Search returns the faces most similar to the unit-length descriptor q,
// most similar first: at most maxFaces of them, each with Similarity at
// least minSimilarity, leaving out the face excludeID (SearchFaces does
// not return the face it searched for).
func (s *Store) Search(id string, q []float32, maxFaces int, minSimilarity float64, excludeID string) ([]Match, error) {
	return s.search(id, q, maxFaces, minSimilarity, func(f *Face) bool { return f.FaceID == excludeID })
}

// search is Search leaving out the faces skip reports.
func (s *Store) search(id string, q []float32, maxFaces int, minSimilarity float64, skip func(*Face) bool) ([]Match, error) {
	c, err := s.get(id)
	if err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	d := c.info.Dim
	if len(q) != d {
		return nil, fmt.Errorf("%w: %d values, collection %s wants %d", ErrDescriptor, len(q), id, d)
	}
	n := len(c.faces)
	if maxFaces <= 0 || n == 0 {
		return []Match{}, nil
	}
	minCos := minCosine(minSimilarity)
	parts := 1
	if n >= parallelFrom {
		parts = runtime.GOMAXPROCS(0)
	}
	tops := make([]topK, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*n/parts, (p+1)*n/parts
		wg.Go(func() {
			t := topK{k: maxFaces}
			for i := lo; i < hi; i++ {
				cos := dot(q, c.vecs[i*d:(i+1)*d])
				if cos >= minCos && !skip(&c.faces[i]) {
					t.offer(scored{i, cos})
				}
			}
			tops[p] = t
		})
	}
	wg.Wait()
	var all []scored
	for _, t := range tops {
		all = append(all, t.h...)
	}
	slices.SortFunc(all, func(a, b scored) int {
		if c := cmp.Compare(b.cos, a.cos); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	if len(all) > maxFaces {
		all = all[:maxFaces]
	}
	out := make([]Match, len(all))
	for i, sc := range all {
		f := c.faces[sc.i]
		f.Descriptor = nil
		out[i] = Match{Face: f, Similarity: Similarity(sc.cos)}
	}
	return out, nil
}

// dot is the dot product of two vectors of equal length.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Cosine is the dot product of two unit-length descriptors (CompareFaces).
func Cosine(a, b []float32) (float32, error) {
	if len(a) != len(b) {
		return 0, fmt.Errorf("%w: %d and %d values", ErrDescriptor, len(a), len(b))
	}
	return dot(a, b), nil
}

type scored struct {
	i   int
	cos float32
}

// topK keeps the k best scores in a min-heap.
type topK struct {
	k int
	h scoreHeap
}

func (t *topK) offer(s scored) {
	if len(t.h) < t.k {
		heap.Push(&t.h, s)
		return
	}
	if s.cos > t.h[0].cos {
		t.h[0] = s
		heap.Fix(&t.h, 0)
	}
}

type scoreHeap []scored

func (h scoreHeap) Len() int           { return len(h) }
func (h scoreHeap) Less(i, j int) bool { return h[i].cos < h[j].cos }
func (h scoreHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *scoreHeap) Push(x any)        { *h = append(*h, x.(scored)) }
func (h *scoreHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
