package sfn

import (
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/imagerec/imagerec/internal/asl"
)

// Event is one history event, shaped like Step Functions'
// GetExecutionHistory: {"timestamp","type","id","previousEventId",
// "<type>EventDetails": {...}}.
type Event struct {
	Timestamp       time.Time
	Type            string
	ID              int64
	PreviousEventID int64
	Details         map[string]any
}

// DetailsKey is the JSON key Step Functions uses for an event type's
// details.
func DetailsKey(typ string) string {
	switch {
	case strings.HasSuffix(typ, "StateEntered"):
		return "stateEnteredEventDetails"
	case strings.HasSuffix(typ, "StateExited"):
		return "stateExitedEventDetails"
	}
	return strings.ToLower(typ[:1]) + typ[1:] + "EventDetails"
}

// MarshalJSON implements json.Marshaler.
func (e Event) MarshalJSON() ([]byte, error) {
	m := map[string]any{
		"timestamp":       e.Timestamp.UTC().Format(time.RFC3339Nano),
		"type":            e.Type,
		"id":              e.ID,
		"previousEventId": e.PreviousEventID,
	}
	if e.Details != nil {
		m[DetailsKey(e.Type)] = e.Details
	}
	return json.Marshal(m)
}

// UnmarshalJSON implements json.Unmarshaler.
func (e *Event) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*e = Event{}
	var ts string
	_ = json.Unmarshal(m["timestamp"], &ts)
	e.Timestamp, _ = time.Parse(time.RFC3339Nano, ts)
	_ = json.Unmarshal(m["type"], &e.Type)
	_ = json.Unmarshal(m["id"], &e.ID)
	_ = json.Unmarshal(m["previousEventId"], &e.PreviousEventID)
	for k, v := range m {
		if strings.HasSuffix(k, "EventDetails") {
			if err := json.Unmarshal(v, &e.Details); err != nil {
				return err
			}
		}
	}
	return nil
}

// lazyJSON is an event detail holding a JSON value (a state's input or
// output) that is turned into its JSON text only when the history is read
// or stored: most histories of synchronous runs are never read. Values are
// never modified once built, so holding them is safe.
type lazyJSON struct{ v any }

// MarshalJSON implements json.Marshaler: the detail is the JSON text as a
// string, as in Step Functions' history.
func (l lazyJSON) MarshalJSON() ([]byte, error) { return json.Marshal(asl.MarshalString(l.v)) }

// materialize returns events whose details hold plain strings instead of
// lazy values.
func materialize(events []Event) []Event {
	out := make([]Event, len(events))
	for i, e := range events {
		out[i] = e
		lazy := false
		for _, v := range e.Details {
			if _, ok := v.(lazyJSON); ok {
				lazy = true
				break
			}
		}
		if !lazy {
			continue
		}
		d := make(map[string]any, len(e.Details))
		for k, v := range e.Details {
			if l, ok := v.(lazyJSON); ok {
				v = asl.MarshalString(l.v)
			}
			d[k] = v
		}
		out[i].Details = d
	}
	return out
}

// history collects an execution's events; safe for concurrent use (Map
// iterations and Parallel branches add events concurrently).
type history struct {
	mu     sync.Mutex
	clock  Clock
	events []Event
	// onAdd, when set, sees each event after it is added.
	onAdd func(Event)
}

// add appends an event and returns its id.
func (h *history) add(prev int64, typ string, details map[string]any) int64 {
	h.mu.Lock()
	id := int64(len(h.events) + 1)
	if prev < 0 {
		prev = id - 1
	}
	e := Event{Timestamp: h.clock.Now(), Type: typ, ID: id, PreviousEventID: prev, Details: details}
	h.events = append(h.events, e)
	h.mu.Unlock()
	if h.onAdd != nil {
		h.onAdd(e)
	}
	return id
}

func (h *history) snapshot() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Event(nil), h.events...)
}
