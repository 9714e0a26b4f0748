package objstore

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// Candidates returns, unsorted, the ObjectInfo (from info) of the entries
// of a driver's in-memory index (objects by key) that ListObjects with
// opts may return: keys under opts.Prefix after opts.StartAfter. The caller
// holds whatever lock guards objects and passes the result to Page after
// releasing it.
//
// Without a delimiter only the MaxKeys+1 smallest keys can matter (one
// more than a page tells Page it is truncated): those are selected with a
// bounded heap, so a page of a large bucket costs one pass over the keys
// and no copy or sort of the others.
func Candidates[E any](objects map[string]E, info func(E) ObjectInfo, opts ListOptions) []ObjectInfo {
	if opts.Delimiter != "" {
		all := make([]ObjectInfo, 0, len(objects))
		for k, e := range objects {
			if strings.HasPrefix(k, opts.Prefix) && k > opts.StartAfter {
				all = append(all, info(e))
			}
		}
		return all
	}
	limit := opts.MaxKeys
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	limit++
	// keys is a max-heap of the smallest keys seen so far.
	keys := make([]string, 0, min(limit, len(objects)))
	for k := range objects {
		if k <= opts.StartAfter || !strings.HasPrefix(k, opts.Prefix) {
			continue
		}
		switch {
		case len(keys) < limit:
			keys = append(keys, k)
			siftUp(keys, len(keys)-1)
		case k < keys[0]:
			keys[0] = k
			siftDown(keys, 0)
		}
	}
	out := make([]ObjectInfo, len(keys))
	for i, k := range keys {
		out[i] = info(objects[k])
	}
	return out
}

func siftUp(h []string, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h[p] >= h[i] {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func siftDown(h []string, i int) {
	for {
		l, big := 2*i+1, i
		if l < len(h) && h[l] > h[big] {
			big = l
		}
		if r := l + 1; r < len(h) && h[r] > h[big] {
			big = r
		}
		if big == i {
			return
		}
		h[i], h[big] = h[big], h[i]
		i = big
	}
}

// Page sorts objects by key (UTF-8 byte order, in place), applies opts and
// returns one page whose ObjectInfos have their own Metadata maps. Drivers
// that list from an index of their own use it (with Candidates) so that
// every driver lists the same way.
func Page(objects []ObjectInfo, opts ListOptions) ListResult {
	slices.SortFunc(objects, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	max := opts.MaxKeys
	if max <= 0 || max > 1000 {
		max = 1000
	}
	var res ListResult
	lastPrefix := ""
	n := 0
	for _, o := range objects {
		if o.Key <= opts.StartAfter || !strings.HasPrefix(o.Key, opts.Prefix) {
			continue
		}
		if opts.Delimiter != "" {
			rest := o.Key[len(opts.Prefix):]
			if i := strings.Index(rest, opts.Delimiter); i >= 0 {
				cp := opts.Prefix + rest[:i+len(opts.Delimiter)]
				if cp == lastPrefix {
					continue
				}
				// A continuation token inside a common prefix skips it.
				if strings.HasPrefix(opts.StartAfter, cp) {
					continue
				}
				if n == max {
					res.IsTruncated = true
					break
				}
				lastPrefix = cp
				res.CommonPrefixes = append(res.CommonPrefixes, cp)
				res.NextStartAfter = cp
				n++
				continue
			}
		}
		if n == max {
			res.IsTruncated = true
			break
		}
		o.Metadata = maps.Clone(o.Metadata)
		res.Objects = append(res.Objects, o)
		res.NextStartAfter = o.Key
		n++
	}
	if !res.IsTruncated {
		res.NextStartAfter = ""
	}
	return res
}

// SortUploads sorts uploads as ListMultipartUploads returns them: by key,
// then by initiation time.
func SortUploads(ups []Upload) {
	slices.SortStableFunc(ups, func(a, b Upload) int {
		return cmp.Or(strings.Compare(a.Key, b.Key), a.Initiated.Compare(b.Initiated))
	})
}
