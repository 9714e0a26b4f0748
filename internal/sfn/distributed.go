package sfn

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/imagerec/imagerec/internal/asl"
)

// A Distributed Map runs each item (or batch) as a child execution of the
// item processor, with its own history and record, under a Map Run that
// counts them. Map Run and child names are deterministic (the parent
// execution, the state's path and occurrence, the item's index), so a
// re-run after a restart or a redrive finds the same Map Run and reuses
// the children that already succeeded: none runs twice.

// MapRun describes a Map Run, like DescribeMapRun.
type MapRun struct {
	MapRunArn                  string       `json:"mapRunArn"`
	ExecutionArn               string       `json:"executionArn"`
	StateMachineArn            string       `json:"stateMachineArn"` // the child executions' (SM/Label)
	Status                     string       `json:"status"`
	StartDate                  time.Time    `json:"startDate"`
	StopDate                   *time.Time   `json:"stopDate,omitempty"`
	MaxConcurrency             int64        `json:"maxConcurrency"`
	ToleratedFailurePercentage float64      `json:"toleratedFailurePercentage"`
	ToleratedFailureCount      int64        `json:"toleratedFailureCount"`
	ItemCounts                 MapRunCounts `json:"itemCounts"`
	ExecutionCounts            MapRunCounts `json:"executionCounts"`
	RedriveCount               int          `json:"redriveCount"`
	RedriveDate                *time.Time   `json:"redriveDate,omitempty"`
}

// MapRunCounts are DescribeMapRun's itemCounts and executionCounts.
type MapRunCounts struct {
	Pending               int64 `json:"pending"`
	Running               int64 `json:"running"`
	Succeeded             int64 `json:"succeeded"`
	Failed                int64 `json:"failed"`
	TimedOut              int64 `json:"timedOut"`
	Aborted               int64 `json:"aborted"`
	Total                 int64 `json:"total"`
	ResultsWritten        int64 `json:"resultsWritten"`
	FailuresNotRedrivable int64 `json:"failuresNotRedrivable"`
	PendingRedrive        int64 `json:"pendingRedrive"`
}

// mapRun is a Map Run in this process.
type mapRun struct {
	mu   sync.Mutex
	info MapRun
}

func (m *mapRun) snapshot() MapRun {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.info
}

// defaultDistributedConcurrency bounds a Distributed Map without
// MaxConcurrency (AWS allows 10,000 child executions at once; one machine
// gains nothing from more than a few dozen).
const defaultDistributedConcurrency = 40

// deterministicID is a UUID-shaped name made from parts.
func deterministicID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

// batch groups item inputs into child inputs {"Items": [...]} (with
// "BatchInput"), at most maxItems items and maxBytes bytes each.
func batch(inputs []any, b *batchPlan) ([][]int, []any, *asl.Error) {
	var (
		groups [][]int
		out    []any
		cur    []int
	)
	make1 := func(idx []int) *asl.Object {
		o := asl.NewObject(2)
		if b.hasInput {
			o.Set("BatchInput", b.input)
		}
		items := make([]any, len(idx))
		for i, j := range idx {
			items[i] = inputs[j]
		}
		o.Set("Items", items)
		return o
	}
	flush := func() {
		if len(cur) > 0 {
			groups = append(groups, cur)
			out = append(out, make1(cur))
			cur = nil
		}
	}
	for i := range inputs {
		next := append(append([]int(nil), cur...), i)
		if b.maxItems > 0 && int64(len(next)) > b.maxItems ||
			b.maxBytes > 0 && int64(asl.Size(make1(next), int(b.maxBytes)+1)) > b.maxBytes {
			if len(cur) == 0 {
				return nil, nil, &asl.Error{Name: asl.ErrNameRuntime, Cause: fmt.Sprintf("item %d is larger than MaxInputBytesPerBatch (%d bytes) on its own", i, b.maxBytes)}
			}
			flush()
			next = []int{i}
			if b.maxBytes > 0 && int64(asl.Size(make1(next), int(b.maxBytes)+1)) > b.maxBytes {
				return nil, nil, &asl.Error{Name: asl.ErrNameRuntime, Cause: fmt.Sprintf("item %d is larger than MaxInputBytesPerBatch (%d bytes) on its own", i, b.maxBytes)}
			}
		}
		cur = next
	}
	flush()
	return groups, out, nil
}

// distributedMap runs a Distributed Map state's child executions under
// its Map Run.
func (r *runner) distributedMap(ctx context.Context, s *step, p mapPlan, inputs []any, groups [][]int) (any, *asl.Error) {
	st := s.st
	x := r.x
	if x == nil {
		return nil, &asl.Error{Name: asl.ErrNameRuntime, Cause: "a Distributed Map needs an executor"}
	}
	label := st.Label
	if label == "" {
		label = st.Name
	}
	children, err := x.childExecutor(label, st)
	if err != nil {
		return nil, &asl.Error{Name: asl.ErrNameRuntime, Cause: err.Error()}
	}
	id := deterministicID(r.arn, s.f.path+"/"+st.Name, strconv.Itoa(s.occurrence))
	mr := x.startMapRun(fmt.Sprintf("arn:aws:states:%s:%s:mapRun:%s/%s:%s", x.opts.Region, x.opts.Account, x.opts.StateMachineName, label, id),
		r.arn, children.smArn, p, len(p.items), len(inputs))
	if r.mapRunStarted != nil {
		r.mapRunStarted(mr.info.MapRunArn)
	}
	r.hist.add(-1, "MapStateStarted", map[string]any{"length": len(p.items)})
	r.hist.add(-1, "MapRunStarted", map[string]any{"mapRunArn": mr.info.MapRunArn})

	concurrency := int(p.concurrency)
	if concurrency <= 0 {
		concurrency = defaultDistributedConcurrency
	}
	itemsOf := func(i int) int64 {
		if groups == nil {
			return 1
		}
		return int64(len(groups[i]))
	}
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	execs := make([]Execution, len(inputs))
	var (
		mu          sync.Mutex
		failedItems int64
		exceeded    bool
	)
	tolerance := p
	tolerance.items = p.items
	// In a cluster the children are handed to the queue (spread.go): the
	// Map Run must be stored RUNNING before they look at it.
	spread := x.opts.MapDispatch != nil && x.opts.Leaser != nil && r.save != nil
	var markEnd func()
	if spread {
		r.save()
		markEnd = sync.OnceFunc(func() {
			// Stopped, timed out or over its tolerance: the Map Run's end,
			// stored, stops the children where they run.
			mu.Lock()
			status := StatusAborted
			if exceeded {
				status = StatusFailed
			}
			mu.Unlock()
			x.endMapRun(mr, status)
			r.save()
		})
	}
	pool(mctx, len(inputs), concurrency, func(i int) {
		name := deterministicID(id, strconv.Itoa(i))
		n := itemsOf(i)
		mr.mu.Lock()
		mr.info.ItemCounts.Pending -= n
		mr.info.ItemCounts.Running += n
		mr.info.ExecutionCounts.Pending--
		mr.info.ExecutionCounts.Running++
		mr.mu.Unlock()
		var (
			ex  Execution
			err error
		)
		if spread {
			ex, err = children.handChild(mctx, x.opts.MapDispatch, name, inputs[i], mr.info.MapRunArn, r.arn, markEnd)
		} else {
			ex, err = children.runChild(mctx, name, inputs[i], mr.info.MapRunArn)
		}
		if err != nil {
			ex = Execution{Name: name, ExecutionArn: children.ExecutionArn(name), Status: StatusFailed, Error: asl.ErrNameRuntime, HasError: true, Cause: err.Error(), HasCause: true}
		}
		execs[i] = ex
		if spread && ex.Status == StatusRunning {
			return // this process stops: the child goes on elsewhere
		}
		mr.count(ex.Status, n)
		if ex.Status == StatusSucceeded || ex.Status == StatusAborted && mctx.Err() != nil {
			return
		}
		mu.Lock()
		failedItems += n
		if tolerance.exceeded(failedItems) && !exceeded {
			exceeded = true
			cancel()
		}
		mu.Unlock()
		if r.checkpoint != nil {
			r.checkpoint()
		}
	})
	var res any
	var rerr *asl.Error
	switch {
	case exceeded:
		rerr = &asl.Error{Name: asl.ErrNameExceedToleratedFailureThreshold, Cause: "The specified tolerated failure threshold was exceeded"}
		if !p.tolerant() {
			// No tolerance given: the first failure fails the Map with it.
			for _, ex := range execs {
				if ex.Status == StatusFailed || ex.Status == StatusTimedOut {
					rerr = &asl.Error{Name: ex.Error, Cause: ex.Cause, NoCause: !ex.HasCause}
					break
				}
			}
		}
	case cause(ctx) != nil:
		rerr = ctxError(cause(ctx))
	}
	if p.writer != nil && cause(ctx) == nil {
		// Results are written whether the Map Run failed or not, as on AWS.
		out, werr := r.writeResults(ctx, mr, p.writer, execs, inputs)
		if rerr == nil {
			res, rerr = out, werr
		}
	}
	if rerr == nil && p.writer == nil {
		outs := make([]any, len(execs))
		for i, ex := range execs {
			if ex.Status != StatusSucceeded {
				outs[i] = errorObject(&asl.Error{Name: ex.Error, Cause: ex.Cause, NoCause: !ex.HasCause})
				continue
			}
			v, derr := asl.Decode(ex.Output)
			if derr != nil {
				v = nil
			}
			outs[i] = v
		}
		res = outs
	}
	status := StatusSucceeded
	switch {
	case rerr == errCanceled || rerr != nil && rerr.Name == "States.Canceled":
		status = StatusAborted
		r.hist.add(-1, "MapRunAborted", nil)
	case rerr != nil:
		status = StatusFailed
		r.hist.add(-1, "MapRunFailed", map[string]any{"error": rerr.Name, "cause": rerr.Cause})
	default:
		r.hist.add(-1, "MapRunSucceeded", nil)
	}
	x.endMapRun(mr, status)
	if r.checkpoint != nil {
		r.checkpoint()
	}
	if rerr != nil {
		if rerr != errCanceled {
			r.hist.add(-1, "MapStateFailed", nil)
		}
		return nil, rerr
	}
	r.hist.add(-1, "MapStateSucceeded", nil)
	return res, nil
}

// count moves a child from running to its end status.
func (m *mapRun) count(status string, items int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range []*MapRunCounts{&m.info.ItemCounts, &m.info.ExecutionCounts} {
		n := items
		if c == &m.info.ExecutionCounts {
			n = 1
		}
		c.Running -= n
		switch status {
		case StatusSucceeded:
			c.Succeeded += n
		case StatusTimedOut:
			c.TimedOut += n
		case StatusAborted:
			c.Aborted += n
		default:
			c.Failed += n
		}
	}
}

// startMapRun registers a Map Run (or takes up the one a previous run of
// the same state left: a re-run after a restart, or a redrive).
func (x *Executor) startMapRun(arn, parent, childSM string, p mapPlan, items, execs int) *mapRun {
	now := x.opts.Clock.Now().UTC()
	x.mrMu.Lock()
	defer x.mrMu.Unlock()
	mr, ok := x.mapRuns[arn]
	if !ok {
		mr = &mapRun{info: MapRun{MapRunArn: arn, ExecutionArn: parent, StateMachineArn: childSM, StartDate: now}}
		x.mapRuns[arn] = mr
	}
	mr.mu.Lock()
	defer mr.mu.Unlock()
	if ok && mr.info.Status != StatusRunning && mr.info.Status != "" {
		mr.info.RedriveCount++
		mr.info.RedriveDate = &now
	}
	mr.info.Status = StatusRunning
	mr.info.StopDate = nil
	mr.info.MaxConcurrency = p.concurrency
	mr.info.ToleratedFailureCount = max(p.tolCount, 0)
	mr.info.ToleratedFailurePercentage = max(p.tolPct, 0)
	mr.info.ItemCounts = MapRunCounts{Pending: int64(items), Total: int64(items)}
	mr.info.ExecutionCounts = MapRunCounts{Pending: int64(execs), Total: int64(execs)}
	return mr
}

func (x *Executor) endMapRun(mr *mapRun, status string) {
	now := x.opts.Clock.Now().UTC()
	mr.mu.Lock()
	mr.info.Status = status
	mr.info.StopDate = &now
	mr.mu.Unlock()
}

// childExecutor returns the executor of the child executions of the
// Distributed Map labelled label (state machine SM/label), storing them
// beside the parent's executions.
func (x *Executor) childExecutor(label string, st *asl.State) (*Executor, error) {
	def := asl.Marshal(st.ItemProcessor.Raw)
	x.mu.Lock()
	defer x.mu.Unlock()
	if c, ok := x.children[label]; ok {
		c.mu.Lock()
		c.sm, c.def = st.ItemProcessor, def
		c.mu.Unlock()
		return c, nil
	}
	store, err := subStore(x.opts.Store, label)
	if err != nil {
		return nil, err
	}
	opts := x.opts
	opts.Store = store
	opts.StateMachineName = x.opts.StateMachineName + "/" + label
	opts.Type = st.ChildType
	opts.OnComplete = nil
	opts.CloseGrace = 0
	opts.checkpointAll = true
	// A child's own Distributed Maps run their children in its process.
	opts.MapDispatch = nil
	c := &Executor{
		sm: st.ItemProcessor, def: def, reg: x.reg, opts: opts, ctx: x.ctx, cancel: func() {},
		parentStore: x.opts.Store,
		log:         x.log.With("map_run_label", label),
		smArn:       fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", opts.Region, opts.Account, opts.StateMachineName),
		running:     map[string]*active{},
		mapRuns:     map[string]*mapRun{},
		children:    map[string]*Executor{},
	}
	x.children[label] = c
	return c, nil
}

// children returns the child executor of label for reading (Describe,
// History) when no Map Run of it ran in this process.
func (x *Executor) childReader(label string) (*Executor, error) {
	x.mu.Lock()
	c, ok := x.children[label]
	x.mu.Unlock()
	if ok {
		return c, nil
	}
	store, err := subStore(x.opts.Store, label)
	if err != nil {
		return nil, err
	}
	opts := x.opts
	opts.Store = store
	opts.StateMachineName = x.opts.StateMachineName + "/" + label
	return &Executor{
		reg: x.reg, opts: opts, ctx: x.ctx, cancel: func() {}, log: x.log,
		smArn:   fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", opts.Region, opts.Account, opts.StateMachineName),
		running: map[string]*active{}, mapRuns: map[string]*mapRun{}, children: map[string]*Executor{},
	}, nil
}

// runChild runs child execution name to its end in the calling goroutine
// and returns it. A child that already succeeded is returned as it is; one
// a stop left RUNNING runs again from the start; one that failed, timed
// out or was aborted is redriven (RedriveCount counts it).
func (x *Executor) runChild(ctx context.Context, name string, input any, mapRunArn string) (Execution, error) {
	arn := x.ExecutionArn(name)
	rec, err := x.opts.Store.Get(arn)
	if err == nil && rec.Execution.Status == StatusSucceeded {
		return rec.Execution, nil
	}
	now := x.opts.Clock.Now().UTC()
	ex := Execution{
		ExecutionArn: arn, StateMachineArn: x.smArn, Name: name, Status: StatusRunning,
		StartDate: now, Input: json.RawMessage(asl.Marshal(input)), MapRunArn: mapRunArn,
	}
	if err == nil {
		ex.StartDate = rec.Execution.StartDate
		ex.RedriveCount = rec.Execution.RedriveCount
		ex.RedriveDate = rec.Execution.RedriveDate
		if rec.Execution.Status != StatusRunning {
			ex.RedriveCount++
			ex.RedriveDate = &now
		}
	}
	x.mu.Lock()
	if _, running := x.running[arn]; running {
		x.mu.Unlock()
		return Execution{}, fmt.Errorf("child execution %s is already running", arn)
	}
	a := x.begin(ex)
	x.mu.Unlock()
	if err == nil {
		// Left RUNNING by a stop, it goes on at its last state; failed,
		// timed out or aborted, it is redriven from the state it ended in.
		// Either way with its history.
		redrive := rec.Execution.Status != StatusRunning
		kept := rec.Callbacks
		if redrive {
			kept = map[string]*CallbackOutcome{}
			for k, o := range rec.Callbacks {
				if o.Status == StatusSucceeded {
					kept[k] = o
				}
			}
		}
		a.callbacks = newCallbacks(kept, a.callbacks.persist)
		if from := loadResume(rec); from != nil {
			a.from, a.redrive = from, redrive
			a.hist.events = append(a.hist.events, rec.History...)
		}
	}
	if perr := x.persist(a); perr != nil {
		x.mu.Lock()
		delete(x.running, arn)
		x.mu.Unlock()
		return Execution{}, perr
	}
	x.run(ctx, a, input)
	x.mu.Lock()
	defer x.mu.Unlock()
	return a.exec, nil
}

// mapRunChildren lists a Map Run's child executions, newest first.
func (x *Executor) mapRunChildren(label, mapRunArn string) ([]Execution, error) {
	c, err := x.childReader(label)
	if err != nil {
		return nil, err
	}
	all, err := c.List(context.Background())
	if err != nil {
		return nil, err
	}
	var out []Execution
	for _, ex := range all {
		if ex.MapRunArn == mapRunArn {
			out = append(out, ex)
		}
	}
	// Running ones first appear in the store at their start.
	return out, nil
}

// describeMapRun finds a Map Run of this machine's executions.
func (x *Executor) describeMapRun(arn string) (MapRun, bool) {
	x.mrMu.Lock()
	mr, ok := x.mapRuns[arn]
	x.mrMu.Unlock()
	if ok {
		return mr.snapshot(), true
	}
	recs, err := x.opts.Store.List()
	if err != nil {
		return MapRun{}, false
	}
	for _, rec := range recs {
		for _, m := range rec.MapRuns {
			if m.MapRunArn == arn {
				return m, true
			}
		}
	}
	return MapRun{}, false
}

// listMapRuns returns the Map Runs an execution started.
func (x *Executor) listMapRuns(arn string) ([]MapRun, error) {
	x.mu.Lock()
	a, running := x.running[arn]
	x.mu.Unlock()
	var arns []string
	if running {
		x.mrMu.Lock()
		arns = append(arns, a.mapRuns...)
		x.mrMu.Unlock()
	}
	if running {
		out := make([]MapRun, 0, len(arns))
		for _, m := range arns {
			if mr, ok := x.describeMapRun(m); ok {
				out = append(out, mr)
			}
		}
		return out, nil
	}
	rec, err := x.opts.Store.Get(arn)
	if err != nil {
		return nil, err
	}
	return rec.MapRuns, nil
}

// resultEntry is one child execution in a ResultWriter file.
type resultEntry struct {
	ExecutionArn        string       `json:"ExecutionArn"`
	Input               string       `json:"Input"`
	InputDetails        includedFlag `json:"InputDetails"`
	Name                string       `json:"Name"`
	Output              *string      `json:"Output,omitempty"`
	OutputDetails       includedFlag `json:"OutputDetails"`
	Error               *string      `json:"Error,omitempty"`
	Cause               *string      `json:"Cause,omitempty"`
	RedriveCount        int          `json:"RedriveCount"`
	RedriveStatus       string       `json:"RedriveStatus"`
	RedriveStatusReason string       `json:"RedriveStatusReason,omitempty"`
	StartDate           string       `json:"StartDate"`
	StateMachineArn     string       `json:"StateMachineArn"`
	Status              string       `json:"Status"`
	StopDate            string       `json:"StopDate,omitempty"`
}

type includedFlag struct {
	Included bool `json:"Included"`
}

// resultFile is one manifest entry.
type resultFile struct {
	Key  string `json:"Key"`
	Size int    `json:"Size"`
}

// writeResults writes the ResultWriter files, AWS's layout:
// PREFIX/MAPRUNID/manifest.json naming SUCCEEDED_0.json, FAILED_0.json
// and PENDING_0.json (each written when it has entries), and returns the
// Map's output {"MapRunArn","ResultWriterDetails":{"Bucket","Key"}}.
func (r *runner) writeResults(ctx context.Context, mr *mapRun, w *writerPlan, execs []Execution, inputs []any) (any, *asl.Error) {
	fail := func(err error) *asl.Error {
		return &asl.Error{Name: asl.ErrNameResultWriterFailed, Cause: err.Error()}
	}
	objs := r.x.opts.Objects
	if objs == nil {
		return nil, fail(fmt.Errorf("no object store is configured for ResultWriter"))
	}
	info := mr.snapshot()
	id := info.MapRunArn[strings.LastIndex(info.MapRunArn, ":")+1:]
	dir := id
	if w.prefix != "" {
		dir = strings.TrimSuffix(w.prefix, "/") + "/" + id
	}
	groups := map[string][]resultEntry{}
	for i, ex := range execs {
		group := "FAILED"
		switch ex.Status {
		case StatusSucceeded:
			group = "SUCCEEDED"
		case "", StatusRunning:
			group = "PENDING"
		case StatusAborted:
			if ex.StopDate == nil {
				group = "PENDING"
			}
		}
		if group == "PENDING" && ex.ExecutionArn == "" {
			ex.Input = json.RawMessage(asl.Marshal(inputs[i]))
		}
		status, reason := RedriveStatus(ex)
		e := resultEntry{
			ExecutionArn: ex.ExecutionArn, Input: string(ex.Input), InputDetails: includedFlag{true}, Name: ex.Name,
			OutputDetails: includedFlag{true}, RedriveCount: ex.RedriveCount, RedriveStatus: status, RedriveStatusReason: reason,
			StartDate: formatTime(ex.StartDate), StateMachineArn: ex.StateMachineArn, Status: ex.Status,
		}
		if ex.Status == StatusSucceeded {
			out := string(ex.Output)
			e.Output = &out
		}
		if ex.HasError {
			e.Error = &ex.Error
		}
		if ex.HasCause {
			e.Cause = &ex.Cause
		}
		if ex.StopDate != nil {
			e.StopDate = formatTime(*ex.StopDate)
		}
		groups[group] = append(groups[group], e)
	}
	manifest := struct {
		DestinationBucket string                  `json:"DestinationBucket"`
		MapRunArn         string                  `json:"MapRunArn"`
		ResultFiles       map[string][]resultFile `json:"ResultFiles"`
	}{w.bucket, info.MapRunArn, map[string][]resultFile{"FAILED": {}, "PENDING": {}, "SUCCEEDED": {}}}
	var written int64
	for _, g := range []string{"SUCCEEDED", "FAILED", "PENDING"} {
		entries := groups[g]
		if len(entries) == 0 {
			continue
		}
		b, err := json.Marshal(entries)
		if err != nil {
			return nil, fail(err)
		}
		key := dir + "/" + g + "_0.json"
		if err := objs.Put(ctx, w.bucket, key, b, "application/json"); err != nil {
			return nil, fail(fmt.Errorf("write s3://%s/%s: %w", w.bucket, key, err))
		}
		manifest.ResultFiles[g] = append(manifest.ResultFiles[g], resultFile{Key: key, Size: len(b)})
		written += int64(len(entries))
	}
	mb, err := json.Marshal(manifest)
	if err != nil {
		return nil, fail(err)
	}
	key := dir + "/manifest.json"
	if err := objs.Put(ctx, w.bucket, key, mb, "application/json"); err != nil {
		return nil, fail(fmt.Errorf("write s3://%s/%s: %w", w.bucket, key, err))
	}
	mr.mu.Lock()
	mr.info.ItemCounts.ResultsWritten = written
	mr.info.ExecutionCounts.ResultsWritten = written
	mr.mu.Unlock()
	out := asl.NewObject(2)
	out.Set("MapRunArn", info.MapRunArn)
	det := asl.NewObject(2)
	det.Set("Bucket", w.bucket)
	det.Set("Key", key)
	out.Set("ResultWriterDetails", det)
	return out, nil
}
