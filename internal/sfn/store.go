package sfn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/imagerec/imagerec/internal/fsperm"
)

// Record is what the store keeps for one execution: its description, the
// definition it runs (so a crashed RUNNING execution can be re-run) and its
// history.
type Record struct {
	Execution  Execution `json:"execution"`
	Definition string    `json:"definition,omitempty"`
	History    []Event   `json:"history"`
	// Callbacks are the outcomes of its task tokens (.waitForTaskToken).
	Callbacks map[string]*CallbackOutcome `json:"callbacks,omitempty"`
	// MapRuns are the Map Runs it started (Distributed Map).
	MapRuns []MapRun `json:"mapRuns,omitempty"`
	// Resume is the top-level state it was last in: where a redrive
	// starts.
	Resume *ResumePoint `json:"resume,omitempty"`
	// Parent is the ARN of the parent execution of a child that a
	// Distributed Map handed to another process (Options.MapDispatch).
	Parent string `json:"parent,omitempty"`
}

// SubStorer is a Store that holds nested stores: the child executions of
// a Distributed Map are kept in the sub-store named by its label.
type SubStorer interface {
	Sub(name string) (Store, error)
}

// subStore returns st's sub-store name, or st itself when it has none
// (child ARNs differ from their parents', so they never collide).
func subStore(st Store, name string) (Store, error) {
	if ss, ok := st.(SubStorer); ok {
		return ss.Sub(name)
	}
	return st, nil
}

// Sub implements SubStorer: a store in the directory mapruns/NAME.
func (s *DirStore) Sub(name string) (Store, error) {
	safe := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 || r == ':' || r == '.' {
			return '_'
		}
		return r
	}, name)
	return NewDirStore(filepath.Join(s.dir, "mapruns", safe), s.opts)
}

// Sub implements SubStorer.
func (s *MemStore) Sub(name string) (Store, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subs == nil {
		s.subs = map[string]*MemStore{}
	}
	sub, ok := s.subs[name]
	if !ok {
		sub = NewMemStore()
		s.subs[name] = sub
	}
	return sub, nil
}

// Store persists execution records.
type Store interface {
	Put(rec *Record) error
	Get(arn string) (*Record, error)
	List() ([]*Record, error)
}

// ErrExecutionDoesNotExist is returned for an unknown execution ARN.
var ErrExecutionDoesNotExist = errors.New("ExecutionDoesNotExist")

// MemStore keeps records in memory.
type MemStore struct {
	mu   sync.Mutex
	recs map[string]*Record
	subs map[string]*MemStore
}

// NewMemStore returns an empty in-memory store.
func NewMemStore() *MemStore { return &MemStore{recs: map[string]*Record{}} }

func copyRecord(r *Record) *Record {
	c := *r
	c.History = append([]Event(nil), r.History...)
	return &c
}

// Put implements Store.
func (s *MemStore) Put(rec *Record) error {
	s.mu.Lock()
	s.recs[rec.Execution.ExecutionArn] = copyRecord(rec)
	s.mu.Unlock()
	return nil
}

// Get implements Store.
func (s *MemStore) Get(arn string) (*Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[arn]
	if !ok {
		return nil, fmt.Errorf("%w: Execution Does Not Exist: '%s'", ErrExecutionDoesNotExist, arn)
	}
	return copyRecord(r), nil
}

// List implements Store.
func (s *MemStore) List() ([]*Record, error) {
	s.mu.Lock()
	out := make([]*Record, 0, len(s.recs))
	for _, r := range s.recs {
		out = append(out, copyRecord(r))
	}
	s.mu.Unlock()
	sortRecords(out)
	return out, nil
}

func sortRecords(recs []*Record) {
	sort.Slice(recs, func(i, j int) bool {
		a, b := recs[i].Execution, recs[j].Execution
		if !a.StartDate.Equal(b.StartDate) {
			return a.StartDate.After(b.StartDate)
		}
		return a.ExecutionArn < b.ExecutionArn
	})
}

// DirStore keeps one JSON file per execution in a directory. Files are
// written to a temporary name, fsynced and renamed, so a crash leaves
// either the old or the new record, never a torn one. A file damaged from
// outside (truncated, overwritten) does not stop the store: List skips it
// and, with DirOptions.Quarantine, it is moved to <dir>/quarantine/ and
// whatever description of the execution can still be read from it is
// written back, so the execution keeps its name, input and status (its
// history is lost).
type DirStore struct {
	dir  string
	opts DirOptions
	log  *slog.Logger
	mu   sync.Mutex
}

// QuarantineDir is the subdirectory of a DirStore that holds unreadable
// execution files.
const QuarantineDir = "quarantine"

// DirOptions configure a DirStore. The zero value only skips unreadable
// files (for read-only tools such as `imagerec executions`).
type DirOptions struct {
	// Quarantine moves an unreadable execution file to QuarantineDir,
	// logged at ERROR with both names, and writes back what it still
	// describes. The one process that owns the directory sets it.
	Quarantine bool
	// Logger receives a line per unreadable file; nil discards.
	Logger *slog.Logger
}

// CorruptRecordError is returned by Get (without Quarantine) for an
// execution file that cannot be decoded.
type CorruptRecordError struct {
	Path string
	Err  error
}

func (e *CorruptRecordError) Error() string {
	return fmt.Sprintf("execution file %s is unreadable: %v", e.Path, e.Err)
}

func (e *CorruptRecordError) Unwrap() error { return e.Err }

// NewDirStore creates dir if needed and returns a store over it.
func NewDirStore(dir string, opts DirOptions) (*DirStore, error) {
	if err := os.MkdirAll(dir, fsperm.Dir); err != nil {
		return nil, fmt.Errorf("create execution store %q: %w", dir, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DirStore{dir: dir, opts: opts, log: log.With("component", "sfn")}, nil
}

// fileName maps an ARN to a file name: its last component (the execution
// name is unique per state machine), made safe for the file system.
func (s *DirStore) fileName(arn string) string {
	name := arn
	if i := strings.LastIndex(arn, ":"); i >= 0 {
		name = arn[i+1:]
	}
	safe := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 || r == ':' {
			return '_'
		}
		return r
	}, name)
	if safe == "" || safe == "." || safe == ".." {
		safe = "_" + safe
	}
	return filepath.Join(s.dir, safe+".json")
}

// Put implements Store.
func (s *DirStore) Put(rec *Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.put(rec)
}

// put writes rec; s.mu must be held.
func (s *DirStore) put(rec *Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode execution %q: %w", rec.Execution.ExecutionArn, err)
	}
	path := s.fileName(rec.Execution.ExecutionArn)
	tmp, err := os.CreateTemp(s.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("write execution %q: %w", rec.Execution.ExecutionArn, err)
	}
	_, werr := tmp.Write(b)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write execution %q: %w", rec.Execution.ExecutionArn, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write execution %q: %w", rec.Execution.ExecutionArn, err)
	}
	syncDir(s.dir)
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// readRecord reads one file. A file that is not a record is a
// *CorruptRecordError; other errors are I/O errors.
func readRecord(path string) (*Record, []byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, b, &CorruptRecordError{Path: path, Err: err}
	}
	if rec.Execution.ExecutionArn == "" || rec.Execution.Name == "" {
		return nil, b, &CorruptRecordError{Path: path, Err: errors.New("no execution ARN or name")}
	}
	return &rec, b, nil
}

// read reads path; an unreadable file is quarantined (with Quarantine)
// and the record salvaged from it returned, or reported. A nil record
// and nil error means the file was quarantined and nothing was salvaged.
func (s *DirStore) read(path string) (*Record, error) {
	rec, _, err := readRecord(path)
	var ce *CorruptRecordError
	if err == nil || !errors.As(err, &ce) {
		return rec, err
	}
	if !s.opts.Quarantine {
		s.log.Warn("unreadable execution file skipped", "file", path, "err", ce.Err)
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Put may have replaced it meanwhile.
	rec, b, err := readRecord(path)
	if !errors.As(err, &ce) {
		return rec, err
	}
	qdir := filepath.Join(s.dir, QuarantineDir)
	if err := os.MkdirAll(qdir, fsperm.Dir); err != nil {
		return nil, fmt.Errorf("quarantine %s: %w", path, err)
	}
	dst := filepath.Join(qdir, filepath.Base(path))
	for i := 1; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, os.ErrNotExist) {
			break
		}
		dst = filepath.Join(qdir, fmt.Sprintf("%s.%d", filepath.Base(path), i))
	}
	if err := os.Rename(path, dst); err != nil {
		return nil, fmt.Errorf("quarantine %s: %w", path, err)
	}
	syncDir(s.dir)
	ex, ok := salvage(b)
	if !ok || s.fileName(ex.ExecutionArn) != path {
		s.log.Error("unreadable execution file moved to quarantine; nothing could be recovered from it, the execution is left to the queue and reconciliation",
			"file", path, "quarantined", dst, "err", ce.Err)
		return nil, nil
	}
	rec = &Record{Execution: ex}
	if err := s.put(rec); err != nil {
		return nil, err
	}
	s.log.Error("unreadable execution file moved to quarantine; its description was recovered, its history is lost",
		"file", path, "quarantined", dst, "execution", ex.Name, "status", ex.Status, "err", ce.Err)
	return rec, nil
}

// salvage decodes the leading "execution" object of a damaged record
// (Put writes it first): enough to list the execution and, when it was
// RUNNING, to re-run it.
func salvage(b []byte) (Execution, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return Execution{}, false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return Execution{}, false
		}
		if t == "execution" {
			var ex Execution
			if err := dec.Decode(&ex); err != nil || ex.ExecutionArn == "" || ex.Name == "" || !json.Valid(ex.Input) {
				return Execution{}, false
			}
			return ex, true
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return Execution{}, false
		}
	}
	return Execution{}, false
}

// Get implements Store. It accepts a full ARN or just the execution name.
func (s *DirStore) Get(arn string) (*Record, error) {
	rec, err := s.read(s.fileName(arn))
	if errors.Is(err, os.ErrNotExist) || (err == nil && rec == nil) {
		return nil, fmt.Errorf("%w: Execution Does Not Exist: '%s'", ErrExecutionDoesNotExist, arn)
	}
	if err != nil {
		return nil, fmt.Errorf("read execution %q: %w", arn, err)
	}
	return rec, nil
}

// List implements Store: newest first, unreadable files skipped.
func (s *DirStore) List() ([]*Record, error) {
	recs, _, err := s.ListReport()
	return recs, err
}

// ListReport is List that also names the files it skipped as unreadable
// (without Quarantine; with it they are quarantined and not named here).
func (s *DirStore) ListReport() (recs []*Record, unreadable []string, err error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, nil, fmt.Errorf("list executions: %w", err)
	}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(s.dir, e.Name())
		rec, err := s.read(path)
		var ce *CorruptRecordError
		switch {
		case errors.As(err, &ce):
			unreadable = append(unreadable, path)
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, nil, fmt.Errorf("list executions: %w", err)
		case rec != nil:
			recs = append(recs, rec)
		}
	}
	sortRecords(recs)
	return recs, unreadable, nil
}

// Quarantined returns how many files QuarantineDir holds.
func (s *DirStore) Quarantined() (int, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, QuarantineDir))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("list quarantined executions: %w", err)
	}
	return len(ents), nil
}
