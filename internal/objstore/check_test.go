package objstore_test

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imagerec/imagerec/internal/objstore"
)

func TestRangeLength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                 string
		offset, length, size int64
		want                 int64
		wantErr              error
	}{
		{name: "whole", offset: 0, length: -1, size: 10, want: 10},
		{name: "empty object", offset: 0, length: -1, size: 0, want: 0},
		{name: "clipped", offset: 4, length: 100, size: 10, want: 6},
		{name: "inside", offset: 2, length: 3, size: 10, want: 3},
		{name: "zero length", offset: 2, length: 0, size: 10, want: 0},
		{name: "at end", offset: 10, length: -1, size: 10, wantErr: objstore.ErrInvalidRange},
		{name: "negative", offset: -1, length: -1, size: 10, wantErr: objstore.ErrInvalidRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := objstore.RangeLength("k", tt.offset, tt.length, tt.size)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("n = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCheckPartNumberAndDigest(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, -1, objstore.MaxPartNumber + 1} {
		if err := objstore.CheckPartNumber(n); !errors.Is(err, objstore.ErrInvalidPart) {
			t.Errorf("CheckPartNumber(%d) = %v, want ErrInvalidPart", n, err)
		}
	}
	for _, n := range []int{1, objstore.MaxPartNumber} {
		if err := objstore.CheckPartNumber(n); err != nil {
			t.Errorf("CheckPartNumber(%d) = %v", n, err)
		}
	}
	sum := md5.Sum([]byte("x"))
	other := md5.Sum([]byte("y"))
	if err := objstore.CheckDigest(nil, sum[:]); err != nil {
		t.Errorf("no digest sent: %v", err)
	}
	if err := objstore.CheckDigest(sum[:], sum[:]); err != nil {
		t.Errorf("equal digests: %v", err)
	}
	if err := objstore.CheckDigest(other[:], sum[:]); !errors.Is(err, objstore.ErrBadDigest) {
		t.Errorf("different digests: %v, want ErrBadDigest", err)
	}
}

func TestCompleteParts(t *testing.T) {
	t.Parallel()
	etag := func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
	have := map[int]objstore.Part{
		1: {PartNumber: 1, ETag: etag("a"), Size: objstore.MinPartSize},
		2: {PartNumber: 2, ETag: etag("b"), Size: 1},
		3: {PartNumber: 3, ETag: etag("c"), Size: 1},
	}
	lookup := func(n int) (objstore.Part, bool) { p, ok := have[n]; return p, ok }
	ask := func(ns ...int) []objstore.Part {
		var out []objstore.Part
		for _, n := range ns {
			out = append(out, objstore.Part{PartNumber: n, ETag: `"` + have[n].ETag + `"`})
		}
		return out
	}
	tests := []struct {
		name    string
		parts   []objstore.Part
		wantErr error
	}{
		{name: "ok", parts: ask(1, 2)},
		{name: "one small part", parts: ask(3)},
		{name: "none", wantErr: objstore.ErrInvalidPart},
		{name: "order", parts: ask(2, 1), wantErr: objstore.ErrInvalidPartOrder},
		{name: "repeated", parts: ask(1, 1), wantErr: objstore.ErrInvalidPartOrder},
		{name: "small middle part", parts: ask(1, 2, 3), wantErr: objstore.ErrEntityTooSmall},
		{name: "missing", parts: []objstore.Part{{PartNumber: 9, ETag: etag("a")}}, wantErr: objstore.ErrInvalidPart},
		{name: "etag differs", parts: []objstore.Part{{PartNumber: 1, ETag: etag("z")}}, wantErr: objstore.ErrInvalidPart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, gotETag, err := objstore.CompleteParts(tt.parts, lookup)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			var etags []string
			var want []objstore.Part
			for _, p := range tt.parts {
				want = append(want, have[p.PartNumber])
				etags = append(etags, have[p.PartNumber].ETag)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("parts (-want +got):\n%s", diff)
			}
			wantETag, _ := objstore.MultipartETag(etags)
			if gotETag != wantETag || !strings.HasSuffix(gotETag, fmt.Sprintf("-%d", len(etags))) {
				t.Errorf("etag = %q, want %q", gotETag, wantETag)
			}
		})
	}
}

func TestCandidatesPage(t *testing.T) {
	t.Parallel()
	index := map[string]map[string]string{}
	for _, k := range []string{"a/1", "a/2", "b/x/1", "b/x/2", "b/y", "c", "\u00e9"} {
		index[k] = map[string]string{"k": k}
	}
	info := func(m map[string]string) objstore.ObjectInfo {
		return objstore.ObjectInfo{Key: m["k"], Metadata: m}
	}
	keys := func(r objstore.ListResult) []string {
		var out []string
		for _, o := range r.Objects {
			out = append(out, o.Key)
		}
		return append(out, r.CommonPrefixes...)
	}
	tests := []struct {
		name      string
		opts      objstore.ListOptions
		want      []string
		truncated bool
		next      string
	}{
		{name: "all", want: []string{"a/1", "a/2", "b/x/1", "b/x/2", "b/y", "c", "\u00e9"}},
		{name: "prefix", opts: objstore.ListOptions{Prefix: "b/"}, want: []string{"b/x/1", "b/x/2", "b/y"}},
		{name: "delimiter", opts: objstore.ListOptions{Delimiter: "/"}, want: []string{"c", "\u00e9", "a/", "b/"}},
		{name: "max keys", opts: objstore.ListOptions{MaxKeys: 2}, want: []string{"a/1", "a/2"}, truncated: true, next: "a/2"},
		{name: "start after", opts: objstore.ListOptions{StartAfter: "b/x/2"}, want: []string{"b/y", "c", "\u00e9"}},
		{name: "continue past prefix", opts: objstore.ListOptions{Delimiter: "/", StartAfter: "a/"}, want: []string{"c", "\u00e9", "b/"}},
		{name: "prefix delimiter truncated", opts: objstore.ListOptions{Prefix: "b/", Delimiter: "/", MaxKeys: 1}, want: []string{"b/x/"}, truncated: true, next: "b/x/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := objstore.Page(objstore.Candidates(index, info, tt.opts), tt.opts)
			if diff := cmp.Diff(tt.want, keys(res)); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			if res.IsTruncated != tt.truncated || res.NextStartAfter != tt.next {
				t.Errorf("truncated %v next %q, want %v %q", res.IsTruncated, res.NextStartAfter, tt.truncated, tt.next)
			}
			for _, o := range res.Objects {
				o.Metadata["k"] = "changed"
			}
			if index["a/1"]["k"] != "a/1" {
				t.Errorf("Page shares Metadata maps with the index")
			}
		})
	}
}

func TestSortUploads(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ups := []objstore.Upload{
		{Key: "b", UploadID: "3", Initiated: t0},
		{Key: "a", UploadID: "2", Initiated: t0.Add(time.Second)},
		{Key: "a", UploadID: "1", Initiated: t0},
	}
	objstore.SortUploads(ups)
	var ids []string
	for _, u := range ups {
		ids = append(ids, u.UploadID)
	}
	if diff := cmp.Diff([]string{"1", "2", "3"}, ids); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}
