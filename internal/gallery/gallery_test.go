package gallery_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imagerec/imagerec/internal/gallery"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func TestSummarize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc, fixture string
		body               string
		check              func(t *testing.T, it gallery.Item)
		wantErr            string
	}{
		{name: "face", doc: "people/astronaut.jpg.json", fixture: "astronaut.json", check: func(t *testing.T, it gallery.Item) {
			if it.Key != "people/astronaut.jpg" || it.Failed || it.Faces != 1 || it.TextLines != 0 || it.Width != 512 || it.Height != 512 {
				t.Errorf("item = %+v", it)
			}
			if len(it.Labels) == 0 || it.Labels[0].Confidence < it.Labels[len(it.Labels)-1].Confidence {
				t.Errorf("labels not most confident first: %+v", it.Labels)
			}
			if !strings.HasPrefix(it.Execution, "astronaut.jpg-") || it.ETag != "0123456789abcdef0123456789abcdef" || it.Bucket != "image-upload-bucket" {
				t.Errorf("execution %q etag %q bucket %q", it.Execution, it.ETag, it.Bucket)
			}
		}},
		{name: "text", doc: "page.png.json", fixture: "page.json", check: func(t *testing.T, it gallery.Item) {
			if it.TextLines != 7 || it.Faces != 0 {
				t.Errorf("text lines %d faces %d", it.TextLines, it.Faces)
			}
		}},
		{name: "labels capped", doc: "dog.jpg.json", fixture: "dog.json", check: func(t *testing.T, it gallery.Item) {
			// Bicycle, Car and Dog first; Vehicle, Animal... are parents.
			if len(it.Labels) != gallery.MaxLabels || it.Labels[0].Name != "Bicycle" || it.Labels[1].Name != "Car" || it.Labels[2].Name != "Dog" {
				t.Errorf("labels = %+v", it.Labels)
			}
		}},
		{name: "error document", doc: "broken.jpg.error.json", fixture: "broken.error.json", check: func(t *testing.T, it gallery.Item) {
			want := gallery.Item{Key: "broken.jpg", Bucket: "image-upload-bucket", Document: "broken.jpg.error.json", Modified: t0,
				ETag: "ffffffffffffffffffffffffffffffff", Execution: "broken.jpg-abc", Failed: true,
				Error: "InvalidImageFormatException", Message: "not an image: the file is plain text"}
			if diff := cmp.Diff(want, it, cmp.AllowUnexported(gallery.Item{})); diff != "" {
				t.Errorf("item (-want +got):\n%s", diff)
			}
		}},
		{name: "error document without a code", doc: "x.error.json", body: `{"Message":"m"}`, check: func(t *testing.T, it gallery.Item) {
			if it.Error != "UnknownError" || !it.Failed {
				t.Errorf("item = %+v", it)
			}
		}},
		{name: "empty result", doc: "blank.png.json", body: `{}`, check: func(t *testing.T, it gallery.Item) {
			if it.Key != "blank.png" || len(it.Labels) != 0 || it.Execution != "" {
				t.Errorf("item = %+v", it)
			}
		}},
		{name: "pending result", doc: "_imagerec/pending/abc.json", body: `{}`, wantErr: "not a result"},
		{name: "stray file", doc: "notes.txt", body: `hello`, wantErr: "not a result"},
		{name: "only a suffix", doc: ".json", body: `{}`, wantErr: "not a result"},
		{name: "not JSON", doc: "a.jpg.json", body: `{"Labels": [`, wantErr: `result document "a.jpg.json": unexpected end`},
		{name: "wrong shape", doc: "a.jpg.json", body: `{"Labels": {"Name": 1}}`, wantErr: `result document "a.jpg.json": json: cannot unmarshal`},
		{name: "error document not JSON", doc: "a.jpg.error.json", body: ``, wantErr: `error document "a.jpg.error.json": unexpected end`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := []byte(tc.body)
			if tc.fixture != "" {
				body = fixture(t, tc.fixture)
			}
			it, err := gallery.Summarize(tc.doc, t0, body)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, it)
		})
	}
}

func TestSummarizeNotDocument(t *testing.T) {
	t.Parallel()
	if _, err := gallery.Summarize("_imagerec/thumbs/x.json", t0, nil); !errors.Is(err, gallery.ErrNotDocument) {
		t.Errorf("err = %v, want ErrNotDocument", err)
	}
}

// sample makes an index of n items, one a second from t0 (item n-1 is the
// newest); every third has a face, every fifth text, every seventh is
// failed, item 11 is flagged.
func sample(t testing.TB, n int) *gallery.Index {
	t.Helper()
	x := gallery.New()
	items := make([]gallery.Item, 0, n)
	for i := range n {
		key := fmt.Sprintf("img%05d.jpg", i)
		body := `{"Labels":[{"Name":"Dog","Confidence":90,"Parents":[{"Name":"Animal"}]}]`
		if i%2 == 1 {
			body = `{"Labels":[{"Name":"Bicycle","Confidence":80,"Aliases":[{"Name":"Bike"}],"Parents":[{"Name":"Vehicle"}]}]`
		}
		if i%3 == 0 {
			body += `,"FaceDetails":[{}]`
		}
		if i%5 == 0 {
			body += `,"TextDetections":[{"Type":"LINE"},{"Type":"WORD"}]`
		}
		if i == 11 {
			body += `,"ModerationLabels":[{"Name":"Violence"}]`
		}
		doc := key + ".json"
		if i%7 == 0 {
			doc, body = key+".error.json", `{"Error":"InvalidImageFormatException","Message":"bad"`
		}
		it, err := gallery.Summarize(doc, t0.Add(time.Duration(i)*time.Second), []byte(body+"}"))
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, it)
	}
	x.PutAll(items)
	return x
}

func keys(p gallery.Page) []string {
	var ks []string
	for _, it := range p.Items {
		ks = append(ks, it.Key)
	}
	return ks
}

func TestQuery(t *testing.T) {
	t.Parallel()
	x := sample(t, 30)
	tests := []struct {
		name       string
		q          gallery.Query
		wantFirst  []string
		wantTotal  int
		wantCounts gallery.Counts
	}{
		{name: "all newest first", q: gallery.Query{Limit: 3}, wantFirst: []string{"img00029.jpg", "img00028.jpg", "img00027.jpg"}, wantTotal: 30,
			wantCounts: gallery.Counts{All: 30, Faces: 8, Text: 5, Moderation: 1, Failed: 5}},
		{name: "label search", q: gallery.Query{Text: "DOG", Limit: 2}, wantFirst: []string{"img00026.jpg", "img00024.jpg"}, wantTotal: 12,
			wantCounts: gallery.Counts{All: 12, Faces: 4, Text: 2, Failed: 0}},
		{name: "alias and parent", q: gallery.Query{Text: "bike vehicle", Limit: 1}, wantFirst: []string{"img00029.jpg"}, wantTotal: 13,
			wantCounts: gallery.Counts{All: 13, Faces: 4, Text: 3, Moderation: 1}},
		{name: "substring", q: gallery.Query{Text: "cycl"}, wantTotal: 13, wantCounts: gallery.Counts{All: 13, Faces: 4, Text: 3, Moderation: 1}},
		{name: "no match", q: gallery.Query{Text: "zebra"}, wantFirst: nil, wantTotal: 0},
		{name: "faces", q: gallery.Query{Faces: true, Limit: 2}, wantFirst: []string{"img00027.jpg", "img00024.jpg"}, wantTotal: 8,
			wantCounts: gallery.Counts{All: 30, Faces: 8, Text: 5, Moderation: 1, Failed: 5}},
		{name: "faces and text", q: gallery.Query{Faces: true, HasText: true}, wantFirst: []string{"img00015.jpg"}, wantTotal: 1,
			wantCounts: gallery.Counts{All: 30, Faces: 8, Text: 5, Moderation: 1, Failed: 5}},
		{name: "moderation", q: gallery.Query{Moderation: true}, wantFirst: []string{"img00011.jpg"}, wantTotal: 1,
			wantCounts: gallery.Counts{All: 30, Faces: 8, Text: 5, Moderation: 1, Failed: 5}},
		{name: "failed", q: gallery.Query{Failed: true, Limit: 2}, wantFirst: []string{"img00028.jpg", "img00021.jpg"}, wantTotal: 5,
			wantCounts: gallery.Counts{All: 30, Faces: 8, Text: 5, Moderation: 1, Failed: 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := x.Query(tc.q)
			got := keys(p)
			unlimited := tc.wantFirst == nil && tc.q.Limit == 0
			if (unlimited && len(got) != tc.wantTotal) || (!unlimited && !cmp.Equal(got, tc.wantFirst)) {
				t.Errorf("keys = %v, want %v", got, tc.wantFirst)
			}
			if p.Total != tc.wantTotal || p.Counts != tc.wantCounts {
				t.Errorf("total %d counts %+v, want %d %+v", p.Total, p.Counts, tc.wantTotal, tc.wantCounts)
			}
			if (p.Next != "") != (tc.q.Limit > 0 && tc.wantTotal > tc.q.Limit) {
				t.Errorf("next = %q with %d of %d", p.Next, len(p.Items), p.Total)
			}
		})
	}
}

// TestPagingIsStable walks every page while new items arrive at the top:
// each item is seen once, in order, and none is skipped.
func TestPagingIsStable(t *testing.T) {
	t.Parallel()
	x := sample(t, 100)
	var seen []string
	q := gallery.Query{Limit: 7}
	for page := 0; ; page++ {
		p := x.Query(q)
		seen = append(seen, keys(p)...)
		// A new result arrives between pages.
		it, err := gallery.Summarize(fmt.Sprintf("new%03d.jpg.json", page), t0.Add(time.Hour+time.Duration(page)*time.Second), []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		x.Put(it)
		if p.Next == "" {
			break
		}
		c, err := gallery.ParseCursor(p.Next)
		if err != nil {
			t.Fatal(err)
		}
		q.After = c
	}
	if len(seen) != 100 || seen[0] != "img00099.jpg" || seen[99] != "img00000.jpg" {
		t.Fatalf("saw %d items: %v ... %v", len(seen), seen[:3], seen[len(seen)-3:])
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] >= seen[i-1] {
			t.Fatalf("out of order at %d: %s after %s", i, seen[i], seen[i-1])
		}
	}
}

func TestPutReplacesAndRemoveDocument(t *testing.T) {
	t.Parallel()
	x := sample(t, 10)
	// img00007 failed; a new result replaces the error document.
	it, err := gallery.Summarize("img00007.jpg.json", t0.Add(time.Hour), []byte(`{"Labels":[{"Name":"Cat","Confidence":99}]}`))
	if err != nil {
		t.Fatal(err)
	}
	x.Put(it)
	if x.Len() != 10 {
		t.Errorf("len = %d after replacing", x.Len())
	}
	if got := keys(x.Query(gallery.Query{Limit: 1})); !cmp.Equal(got, []string{"img00007.jpg"}) {
		t.Errorf("newest = %v", got)
	}
	// The pipeline then removes the stale error document: the item stays.
	if x.RemoveDocument("img00007.jpg.error.json") {
		t.Error("removing the replaced error document removed the item")
	}
	if got, ok := x.Get("img00007.jpg"); !ok || got.Failed || got.Labels[0].Name != "Cat" {
		t.Errorf("item = %+v, %v", got, ok)
	}
	if !x.RemoveDocument("img00007.jpg.json") || x.Len() != 9 {
		t.Errorf("remove: len %d", x.Len())
	}
	if _, ok := x.Get("img00007.jpg"); ok {
		t.Error("removed item still there")
	}
	if x.RemoveDocument("_imagerec/pending/a.json") || x.RemoveDocument("nothing.json") {
		t.Error("removed what was not there")
	}
	// An older document loaded after a newer one is ignored.
	old, _ := gallery.Summarize("img00003.jpg.json", t0.Add(-time.Hour), []byte(`{}`))
	x.PutAll([]gallery.Item{old})
	if got, _ := x.Get("img00003.jpg"); !got.Modified.Equal(t0.Add(3 * time.Second)) {
		t.Errorf("older document replaced the newer: %v", got.Modified)
	}
	if x.Len() != 9 {
		t.Errorf("len = %d", x.Len())
	}
}

func TestCursor(t *testing.T) {
	t.Parallel()
	c := gallery.Cursor{Modified: t0.Add(123456789), Key: "a/b c\x00d.jpg"}
	got, err := gallery.ParseCursor(c.String())
	if err != nil || !got.Modified.Equal(c.Modified) || got.Key != c.Key {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if c, err := gallery.ParseCursor(""); err != nil || !c.IsZero() {
		t.Errorf("empty cursor: %+v, %v", c, err)
	}
	for _, bad := range []string{"!!", "MTIz", "eAB4", "KzEyAHg", "MDEyAHg"} {
		if _, err := gallery.ParseCursor(bad); !errors.Is(err, gallery.ErrBadCursor) {
			t.Errorf("ParseCursor(%q) = %v, want ErrBadCursor", bad, err)
		}
	}
}

func FuzzParseCursor(f *testing.F) {
	f.Add("")
	f.Add(gallery.Cursor{Modified: t0, Key: "k.jpg"}.String())
	f.Add("MTIzAHg")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := gallery.ParseCursor(s)
		if err != nil {
			return
		}
		if s != "" && c.String() != s {
			t.Errorf("ParseCursor(%q) = %+v, which encodes as %q", s, c, c.String())
		}
	})
}

func FuzzSummarize(f *testing.F) {
	for _, n := range []string{"astronaut.json", "page.json", "broken.error.json"} {
		f.Add("k.jpg.json", fixture(f, n))
	}
	f.Add("k.jpg.error.json", []byte(`{"Error":1}`))
	f.Fuzz(func(t *testing.T, doc string, body []byte) {
		it, err := gallery.Summarize(doc, t0, body)
		if err != nil {
			return
		}
		if it.Key == "" || len(it.Labels) > gallery.MaxLabels || (it.Failed && it.Error == "") {
			t.Errorf("Summarize(%q) = %+v", doc, it)
		}
		x := gallery.New()
		x.Put(it)
		if p := x.Query(gallery.Query{}); p.Total != 1 {
			t.Errorf("query of one item: %+v", p)
		}
	})
}

// BenchmarkQuery10k measures a page of the gallery over 10,000 results:
// the first page, a label search and a filter.
func BenchmarkQuery10k(b *testing.B) {
	x := sample(b, 10000)
	for _, bc := range []struct {
		name string
		q    gallery.Query
	}{
		{"first-page", gallery.Query{}},
		{"search", gallery.Query{Text: "bike"}},
		{"faces", gallery.Query{Faces: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if p := x.Query(bc.q); len(p.Items) == 0 {
					b.Fatal("empty page")
				}
			}
		})
	}
}
