package facecollection

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/imagerec/imagerec/internal/vision"
)

// Errors callers branch on (rekapi turns them into Rekognition's codes).
var (
	// ErrNotFound: the collection does not exist (ResourceNotFoundException).
	ErrNotFound = errors.New("collection not found")
	// ErrExists: CreateCollection of an existing id (ResourceAlreadyExistsException).
	ErrExists = errors.New("collection already exists")
	// ErrFaceNotFound: no face with that FaceId in the collection.
	ErrFaceNotFound = errors.New("face not found")
	// ErrInvalidID: a CollectionId outside Rekognition's pattern.
	ErrInvalidID = errors.New("invalid collection id")
	// ErrDescriptor: a descriptor of the wrong length.
	ErrDescriptor = errors.New("face descriptor has the wrong length")
	// ErrModelVersion: the collection was made with another face model
	// version than the store's (Add, Comparable); its descriptors cannot
	// be compared with the engine's (InvalidParameterException).
	ErrModelVersion = errors.New("collection made with another face model version")
)

// Rekognition's limits.
const (
	// MaxFacesPerCollection is Rekognition's quota of faces per collection.
	MaxFacesPerCollection = 20_000_000
)

// idPattern is Rekognition's CollectionId pattern (length 1-255).
var idPattern = regexp.MustCompile(`^[a-zA-Z0-9_.\-]{1,255}$`)

// ValidID reports whether id is a valid CollectionId. "." and ".." match
// Rekognition's pattern but would name directories; they are refused.
func ValidID(id string) bool {
	return idPattern.MatchString(id) && id != "." && id != ".."
}

// Face is one indexed face: Rekognition's Face shape and its descriptor.
type Face struct {
	vision.CollectionFace
	// Descriptor is the unit-length identity embedding (stored in the
	// segment's binary part, not its JSON header).
	Descriptor []float32 `json:"-"`
}

// Info describes a collection (DescribeCollection).
type Info struct {
	ID               string    `json:"CollectionId"`
	ARN              string    `json:"CollectionArn"`
	Created          time.Time `json:"Created"`
	FaceModelVersion string    `json:"FaceModelVersion"`
	// Dim is the descriptor length every face of the collection has.
	Dim       int   `json:"Dim"`
	FaceCount int64 `json:"-"`
}

// Options configure a Store. FaceModelVersion and Dim are required.
type Options struct {
	// FaceModelVersion names the descriptor model; new collections record
	// it, and a collection made with another cannot be searched with this
	// one's descriptors.
	FaceModelVersion string
	// Dim is the descriptor length.
	Dim int
	// Region and Account make up the collection ARNs (default us-east-1
	// and 000000000000).
	Region, Account string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// NoSync skips fsync (benchmarks only).
	NoSync bool
}

// Store holds every collection under one directory.
type Store struct {
	dir  string
	opts Options
	mu   sync.Mutex // guards cols
	cols map[string]*collection
}

// Open loads the collections under dir (creating it if needed) and removes
// what an interrupted change left behind.
func Open(dir string, opts Options) (*Store, error) {
	if opts.FaceModelVersion == "" || opts.Dim <= 0 {
		return nil, errors.New("open face collections: FaceModelVersion and Dim are required")
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Account == "" {
		opts.Account = "000000000000"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open face collections: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open face collections: %w", err)
	}
	s := &Store{dir: dir, opts: opts, cols: map[string]*collection{}}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, tmpPrefix) || strings.HasPrefix(name, trashPrefix) {
			if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
				return nil, fmt.Errorf("open face collections: remove leftover %s: %w", name, err)
			}
			continue
		}
		if !e.IsDir() || !ValidID(name) {
			continue
		}
		c, err := loadCollection(filepath.Join(dir, name), opts.NoSync)
		if err != nil {
			return nil, fmt.Errorf("open face collection %q: %w", name, err)
		}
		s.cols[name] = c
	}
	return s, nil
}

// Dim is the descriptor length of this store's new collections.
func (s *Store) Dim() int { return s.opts.Dim }

// FaceModelVersion is the descriptor model of this store's new collections.
func (s *Store) FaceModelVersion() string { return s.opts.FaceModelVersion }

const (
	tmpPrefix   = ".tmp-"
	trashPrefix = ".trash-"
	metaFile    = "collection.json"
)

// Create makes an empty collection.
func (s *Store) Create(id string) (Info, error) {
	if !ValidID(id) {
		return Info{}, fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cols[id]; ok {
		return Info{}, fmt.Errorf("%w: %s", ErrExists, id)
	}
	info := Info{
		ID:               id,
		ARN:              fmt.Sprintf("aws:rekognition:%s:%s:collection/%s", s.opts.Region, s.opts.Account, id),
		Created:          s.opts.Now().UTC().Truncate(time.Millisecond),
		FaceModelVersion: s.opts.FaceModelVersion,
		Dim:              s.opts.Dim,
	}
	meta, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return Info{}, fmt.Errorf("create collection %s: %w", id, err)
	}
	tmp := filepath.Join(s.dir, tmpPrefix+randomHex())
	final := filepath.Join(s.dir, id)
	err = os.Mkdir(tmp, 0o700)
	if err == nil {
		err = writeSynced(filepath.Join(tmp, metaFile), meta, s.opts.NoSync)
	}
	if err == nil {
		err = syncDir(tmp, s.opts.NoSync)
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err == nil {
		err = syncDir(s.dir, s.opts.NoSync)
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		return Info{}, fmt.Errorf("create collection %s: %w", id, err)
	}
	s.cols[id] = &collection{dir: final, info: info, index: map[string]int{}, noSync: s.opts.NoSync}
	return info, nil
}

// Delete removes a collection and its faces.
func (s *Store) Delete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cols[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	trash := filepath.Join(s.dir, trashPrefix+randomHex())
	if err := os.Rename(c.dir, trash); err != nil {
		return fmt.Errorf("delete collection %s: %w", id, err)
	}
	delete(s.cols, id)
	c.deleted = true
	if err := syncDir(s.dir, s.opts.NoSync); err != nil {
		return fmt.Errorf("delete collection %s: %w", id, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("delete collection %s: %w", id, err)
	}
	return nil
}

// Describe returns a collection's Info with its current face count.
func (s *Store) Describe(id string) (Info, error) {
	c, err := s.get(id)
	if err != nil {
		return Info{}, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	info := c.info
	info.FaceCount = int64(len(c.faces))
	return info, nil
}

// List returns every collection's Info, sorted by id.
func (s *Store) List() []Info {
	s.mu.Lock()
	ids := make([]string, 0, len(s.cols))
	for id := range s.cols {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	slices.Sort(ids)
	out := make([]Info, 0, len(ids))
	for _, id := range ids {
		if info, err := s.Describe(id); err == nil {
			out = append(out, info)
		}
	}
	return out
}

func (s *Store) get(id string) (*collection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cols[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return c, nil
}

// Add stores faces durably; each must carry a descriptor of the
// collection's length, computed by the store's face model version (a
// collection of another version is ErrModelVersion). Their FaceIds must
// be new (NewID makes them).
func (s *Store) Add(id string, faces []Face) error {
	c, err := s.get(id)
	if err != nil {
		return err
	}
	if err := s.comparable(c); err != nil {
		return err
	}
	return c.apply(faces, nil)
}

// Comparable reports whether descriptors of the store's face model
// version can be searched in (or added to) collection id: ErrNotFound, or
// ErrModelVersion naming both versions and what to do. As on Rekognition,
// a collection keeps the version it was made with; the faces of an older
// one can still be listed, deleted and searched by FaceId among
// themselves.
func (s *Store) Comparable(id string) error {
	c, err := s.get(id)
	if err != nil {
		return err
	}
	return s.comparable(c)
}

func (s *Store) comparable(c *collection) error {
	c.mu.RLock()
	v := c.info.FaceModelVersion
	c.mu.RUnlock()
	if v == s.opts.FaceModelVersion {
		return nil
	}
	return fmt.Errorf("%w: collection %s has FaceModelVersion %s and this engine computes %s; "+
		"create a new collection and index the faces again (its faces can still be listed, deleted and searched by FaceId)",
		ErrModelVersion, c.info.ID, v, s.opts.FaceModelVersion)
}

// Faces returns the collection's faces sorted by FaceId (ListFaces), without
// descriptors.
func (s *Store) Faces(id string) ([]Face, error) {
	c, err := s.get(id)
	if err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Face, len(c.faces))
	for i, f := range c.faces {
		f.Descriptor = nil
		out[i] = f
	}
	slices.SortFunc(out, func(a, b Face) int { return strings.Compare(a.FaceID, b.FaceID) })
	return out, nil
}

// Face returns one face with its descriptor.
func (s *Store) Face(id, faceID string) (Face, error) {
	c, err := s.get(id)
	if err != nil {
		return Face{}, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	i, ok := c.index[faceID]
	if !ok {
		return Face{}, fmt.Errorf("%w: %s in %s", ErrFaceNotFound, faceID, id)
	}
	f := c.faces[i]
	f.Descriptor = slices.Clone(c.vec(i))
	return f, nil
}

// DeleteFaces removes the faces with the given ids and returns the ids
// that were deleted and those that were not in the collection.
func (s *Store) DeleteFaces(id string, faceIDs []string) (deleted, missing []string, err error) {
	c, err := s.get(id)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	seen := map[string]bool{}
	for _, f := range faceIDs {
		if seen[f] {
			continue
		}
		seen[f] = true
		if _, ok := c.index[f]; ok {
			deleted = append(deleted, f)
		} else {
			missing = append(missing, f)
		}
	}
	c.mu.Unlock()
	if len(deleted) == 0 {
		return []string{}, missing, nil
	}
	if err := c.apply(nil, deleted); err != nil {
		return nil, nil, err
	}
	return deleted, missing, nil
}

// NewID returns a random UUID (version 4), the form of Rekognition's
// FaceId and ImageId.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// writeSynced writes data to path and fsyncs it.
func writeSynced(path string, data []byte, noSync bool) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && !noSync {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// syncDir fsyncs a directory so that renames into it are durable.
func syncDir(dir string, noSync bool) error {
	if noSync {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
