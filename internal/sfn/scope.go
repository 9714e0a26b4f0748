package sfn

import "sync"

// scope holds workflow variables. Parallel branches and Map iterations get
// a child scope: they read the outer variables, and what they assign stays
// inside them.
type scope struct {
	parent *scope
	mu     sync.RWMutex
	vars   map[string]any
}

func newScope(parent *scope) *scope { return &scope{parent: parent} }

func (s *scope) get(name string) (any, bool) {
	for c := s; c != nil; c = c.parent {
		c.mu.RLock()
		v, ok := c.vars[name]
		c.mu.RUnlock()
		if ok {
			return v, true
		}
	}
	return nil, false
}

func (s *scope) set(name string, v any) {
	s.mu.Lock()
	if s.vars == nil {
		s.vars = map[string]any{}
	}
	s.vars[name] = v
	s.mu.Unlock()
}

// all returns every visible variable, inner scopes shadowing outer ones.
func (s *scope) all() map[string]any {
	out := map[string]any{}
	var chain []*scope
	for c := s; c != nil; c = c.parent {
		chain = append(chain, c)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		c := chain[i]
		c.mu.RLock()
		for k, v := range c.vars {
			out[k] = v
		}
		c.mu.RUnlock()
	}
	return out
}
