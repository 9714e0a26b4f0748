package gallery

import (
	"encoding/base64"
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Index holds the items newest first. The zero value is not usable; call
// New.
type Index struct {
	mu    sync.RWMutex
	byKey map[string]*Item
	// order is newest first: Modified descending, then Key ascending.
	order []*Item
}

// New returns an empty index.
func New() *Index { return &Index{byKey: map[string]*Item{}} }

// before reports whether a comes before b in the gallery's order.
func before(aTime time.Time, aKey string, bTime time.Time, bKey string) bool {
	if !aTime.Equal(bTime) {
		return aTime.After(bTime)
	}
	return aKey < bKey
}

// search returns the position of (t, key) in order.
func (x *Index) search(t time.Time, key string) int {
	return sort.Search(len(x.order), func(i int) bool {
		o := x.order[i]
		return !before(o.Modified, o.Key, t, key)
	})
}

func (x *Index) removeLocked(key string) {
	old, ok := x.byKey[key]
	if !ok {
		return
	}
	delete(x.byKey, key)
	i := x.search(old.Modified, old.Key)
	if i < len(x.order) && x.order[i] == old {
		x.order = append(x.order[:i], x.order[i+1:]...)
	}
}

// Put adds it, replacing the item of the same key (a new document for the
// object, a result replacing an error).
func (x *Index) Put(it Item) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(it.Key)
	p := &it
	x.byKey[it.Key] = p
	i := x.search(it.Modified, it.Key)
	x.order = append(x.order, nil)
	copy(x.order[i+1:], x.order[i:])
	x.order[i] = p
}

// PutAll adds many items at once (the initial load), sorting once.
func (x *Index) PutAll(items []Item) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, it := range items {
		if old, ok := x.byKey[it.Key]; ok {
			if it.Modified.Before(old.Modified) {
				continue // an older document than the one held
			}
			x.removeLocked(it.Key)
		}
		p := &it
		x.byKey[it.Key] = p
		x.order = append(x.order, p)
	}
	sort.Slice(x.order, func(i, j int) bool {
		a, b := x.order[i], x.order[j]
		return before(a.Modified, a.Key, b.Modified, b.Key)
	})
}

// RemoveDocument removes the item whose document is docKey and reports
// whether there was one. A document removed after another replaced it
// (the stale error document of an object that now has a result) leaves
// the item.
func (x *Index) RemoveDocument(docKey string) bool {
	key, _, err := UploadKey(docKey)
	if err != nil {
		return false
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if it, ok := x.byKey[key]; ok && it.Document == docKey {
		x.removeLocked(key)
		return true
	}
	return false
}

// Get returns the item of an uploaded object's key.
func (x *Index) Get(key string) (Item, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	it, ok := x.byKey[key]
	if !ok {
		return Item{}, false
	}
	return *it, true
}

// Len returns the number of items.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.order)
}

// Query selects a page of items. The zero value is the first page of all
// items.
type Query struct {
	// Text keeps items with a label (name, alias or parent) containing
	// each of its words, case-insensitively.
	Text string
	// Faces, HasText, Moderation and Failed keep only the items with
	// faces, with lines of text, with a moderation label, or with an
	// error document. Several combine (all must hold).
	Faces, HasText, Moderation, Failed bool
	// After is the cursor of the previous page (zero: from the newest).
	After Cursor
	// Limit is the page size: 1 to MaxLimit, default DefaultLimit.
	Limit int
}

// Page sizes.
const (
	DefaultLimit = 60
	MaxLimit     = 500
)

// Counts are how many items match the query's text, by filter.
type Counts struct {
	All        int `json:"all"`
	Faces      int `json:"faces"`
	Text       int `json:"text"`
	Moderation int `json:"moderation"`
	Failed     int `json:"failed"`
}

// Page is one page of a query.
type Page struct {
	Items []Item `json:"items"`
	// Next is the cursor of the following page, empty on the last.
	Next string `json:"next,omitempty"`
	// Total is how many items match the whole query.
	Total int `json:"total"`
	// Counts are the matches of the text alone, by filter.
	Counts Counts `json:"counts"`
}

func (q Query) keep(it *Item) bool {
	return (!q.Faces || it.Faces > 0) && (!q.HasText || it.TextLines > 0) &&
		(!q.Moderation || len(it.Moderation) > 0) && (!q.Failed || it.Failed)
}

// Query returns a page of the items q selects, newest first.
func (x *Index) Query(q Query) Page {
	if q.Limit <= 0 {
		q.Limit = DefaultLimit
	}
	q.Limit = min(q.Limit, MaxLimit)
	words := strings.Fields(strings.ToLower(q.Text))
	x.mu.RLock()
	defer x.mu.RUnlock()
	start := 0
	if !q.After.IsZero() {
		start = x.search(q.After.Modified, q.After.Key)
		if start < len(x.order) && x.order[start].Key == q.After.Key && x.order[start].Modified.Equal(q.After.Modified) {
			start++
		}
	}
	p := Page{Items: []Item{}}
	for i, it := range x.order {
		if len(words) > 0 && !it.matches(words) {
			continue
		}
		p.Counts.All++
		if it.Faces > 0 {
			p.Counts.Faces++
		}
		if it.TextLines > 0 {
			p.Counts.Text++
		}
		if len(it.Moderation) > 0 {
			p.Counts.Moderation++
		}
		if it.Failed {
			p.Counts.Failed++
		}
		if !q.keep(it) {
			continue
		}
		p.Total++
		if i < start {
			continue
		}
		switch {
		case len(p.Items) < q.Limit:
			p.Items = append(p.Items, *it)
		case p.Next == "":
			last := p.Items[len(p.Items)-1]
			p.Next = Cursor{Modified: last.Modified, Key: last.Key}.String()
		}
	}
	return p
}

// Cursor marks a position in the gallery's order: the last item of a page.
type Cursor struct {
	Modified time.Time
	Key      string
}

// IsZero reports whether c is the start.
func (c Cursor) IsZero() bool { return c.Key == "" && c.Modified.IsZero() }

// String encodes c for a URL: base64url of the time's Unix nanoseconds, a
// NUL and the key.
func (c Cursor) String() string {
	if c.IsZero() {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.Modified.UnixNano(), 10) + "\x00" + c.Key))
}

// ErrBadCursor is returned by ParseCursor for a string String did not make.
var ErrBadCursor = errors.New("bad cursor")

// ParseCursor decodes a cursor made by Cursor.String; "" is the start.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	if strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return Cursor{}, ErrBadCursor // the decoder would skip \r and \n
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return Cursor{}, ErrBadCursor
	}
	ns, key, ok := strings.Cut(string(b), "\x00")
	if !ok || key == "" {
		return Cursor{}, ErrBadCursor
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != ns {
		return Cursor{}, ErrBadCursor
	}
	return Cursor{Modified: time.Unix(0, n).UTC(), Key: key}, nil
}
