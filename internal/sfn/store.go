package sfn

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Record is what the store keeps for one execution: its description, the
// definition it runs (so a crashed RUNNING execution can be re-run) and its
// history.
type Record struct {
	Execution  Execution `json:"execution"`
	Definition string    `json:"definition,omitempty"`
	History    []Event   `json:"history"`
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
		return nil, fmt.Errorf("execution %q: %w", arn, ErrExecutionDoesNotExist)
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
// either the old or the new record, never a torn one.
type DirStore struct {
	dir string
	mu  sync.Mutex
}

// NewDirStore creates dir if needed and returns a store over it.
func NewDirStore(dir string) (*DirStore, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create execution store %q: %w", dir, err)
	}
	return &DirStore{dir: dir}, nil
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
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode execution %q: %w", rec.Execution.ExecutionArn, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
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
	if d, err := os.Open(s.dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

func readRecord(path string) (*Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return &rec, nil
}

// Get implements Store. It accepts a full ARN or just the execution name.
func (s *DirStore) Get(arn string) (*Record, error) {
	rec, err := readRecord(s.fileName(arn))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("execution %q: %w", arn, ErrExecutionDoesNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("read execution %q: %w", arn, err)
	}
	return rec, nil
}

// List implements Store: newest first.
func (s *DirStore) List() ([]*Record, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list executions: %w", err)
	}
	var out []*Record
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		rec, err := readRecord(filepath.Join(s.dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("list executions: %w", err)
		}
		out = append(out, rec)
	}
	sortRecords(out)
	return out, nil
}
