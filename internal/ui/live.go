package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// message is one Server-Sent Event.
type message struct {
	event string
	data  []byte
}

// subscriberBuffer is how many events a slow browser may lag behind
// before its stream is closed (it reconnects and reloads).
const subscriberBuffer = 256

// hub fans events out to the open event streams.
type hub struct {
	mu     sync.Mutex
	subs   map[chan message]struct{}
	closed bool
	done   chan struct{}
}

func newHub() *hub { return &hub{subs: map[chan message]struct{}{}, done: make(chan struct{})} }

func (h *hub) subscribe() (chan message, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	ch := make(chan message, subscriberBuffer)
	h.subs[ch] = struct{}{}
	return ch, true
}

func (h *hub) unsubscribe(ch chan message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

// publish sends v as JSON to every stream; a stream that is full is
// closed rather than blocking the pipeline.
func (h *hub) publish(event string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		return // the values published are plain structs
	}
	m := message{event: event, data: data}
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- m:
		default:
			delete(h.subs, ch)
			close(ch)
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	close(h.done)
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}

// keepAlive is how often an idle stream gets a comment line, so proxies
// and the browser keep it open: the only traffic of an idle page.
const keepAlive = 30 * time.Second

// events streams the hub to one signed-in browser.
func (h *Handler) events(w http.ResponseWriter, r *http.Request, ss *session) {
	rc := http.NewResponseController(w)
	ch, ok := h.hub.subscribe()
	if !ok {
		http.Error(w, "server is stopping", http.StatusServiceUnavailable)
		return
	}
	defer h.hub.unsubscribe(ch)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, "retry: 3000\nevent: hello\ndata: {}\n\n"); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", m.event, m.data); err != nil {
				return
			}
		case <-tick.C:
			if _, live := h.sessions.get(r); !live || ss == nil {
				return
			}
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
