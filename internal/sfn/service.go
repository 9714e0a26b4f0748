package sfn

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/imagerec/imagerec/internal/asl"
	"github.com/imagerec/imagerec/internal/fsperm"
)

// The errors Service returns, named by the Step Functions error codes the
// API reports for them.
var (
	ErrStateMachineDoesNotExist   = errors.New("StateMachineDoesNotExist")
	ErrStateMachineAlreadyExists  = errors.New("StateMachineAlreadyExists")
	ErrStateMachineDeleting       = errors.New("StateMachineDeleting")
	ErrInvalidDefinition          = errors.New("InvalidDefinition")
	ErrInvalidName                = errors.New("InvalidName")
	ErrInvalidArn                 = errors.New("InvalidArn")
	ErrValidation                 = errors.New("ValidationException")
	ErrStateMachineTypeNotSupport = errors.New("StateMachineTypeNotSupported")
	ErrInvalidToken               = errors.New("InvalidToken")
	ErrTaskDoesNotExist           = errors.New("TaskDoesNotExist")
	ErrTaskTimedOut               = errors.New("TaskTimedOut")
	ErrExecutionNotRedrivable     = errors.New("ExecutionNotRedrivable")
	ErrInvalidOutput              = errors.New("InvalidOutput")
	ErrResourceNotFound           = errors.New("ResourceNotFound")
)

// State machine types.
const (
	TypeStandard = "STANDARD"
	TypeExpress  = "EXPRESS"
)

// StateMachine describes a state machine, like DescribeStateMachine.
type StateMachine struct {
	Arn          string    `json:"stateMachineArn"`
	Name         string    `json:"name"`
	Definition   string    `json:"definition"`
	RoleArn      string    `json:"roleArn"`
	Type         string    `json:"type"`
	Description  string    `json:"description,omitempty"`
	CreationDate time.Time `json:"creationDate"`
	// RevisionID changes with every update (none before the first).
	RevisionID string    `json:"revisionId,omitempty"`
	UpdateDate time.Time `json:"updateDate,omitzero"`
	// Managed machines belong to imagerec serve (its embedded
	// definitions): UpdateStateMachine and DeleteStateMachine refuse them.
	Managed bool `json:"managed,omitempty"`
}

// ServiceOptions configure a Service. The zero value keeps user-created
// state machines in memory.
type ServiceOptions struct {
	// Dir holds user-created state machines: Dir/NAME/statemachine.json
	// and their executions in Dir/NAME/executions/. Empty: in memory.
	Dir string
	// Region and Account make the ARNs (defaults us-east-1 and
	// 123456789012).
	Region  string
	Account string
	// Registry resolves Task resources of every machine.
	Registry *Registry
	Clock    Clock
	Logger   *slog.Logger
	// Objects serves ItemReader and ResultWriter (Distributed Map); nil
	// fails them with States.ItemReaderFailed / States.ResultWriterFailed.
	Objects Objects
	// OnComplete is called when an execution of any machine ends.
	OnComplete func(Execution)
	// CloseGrace is each executor's Options.CloseGrace.
	CloseGrace time.Duration
	// ExecutionStore, if set, returns the store of a machine's executions
	// (a store shared by a cluster) in place of Dir/NAME/executions.
	ExecutionStore func(machine string) (Store, error)
	// Leaser is each executor's Options.Leaser (a cluster: shared.go).
	Leaser Leaser
}

// Service is the Step Functions of one account and region: state machines
// by name, each with its Executor. It is what the Step Functions API
// (internal/sfnapi) serves.
type Service struct {
	opts ServiceOptions
	log  *slog.Logger

	mu       sync.RWMutex
	machines map[string]*machine
	closed   bool
}

type machine struct {
	info StateMachine
	x    *Executor
}

var machineNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// NewService loads the user-created state machines kept under opts.Dir.
func NewService(opts ServiceOptions) (*Service, error) {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Account == "" {
		opts.Account = "123456789012"
	}
	if opts.Clock == nil {
		opts.Clock = RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = NewRegistry()
	}
	s := &Service{opts: opts, log: opts.Logger.With("component", "sfn"), machines: map[string]*machine{}}
	if opts.Dir == "" {
		return s, nil
	}
	if err := os.MkdirAll(opts.Dir, fsperm.Dir); err != nil {
		return nil, fmt.Errorf("state machine store %s: %w", opts.Dir, err)
	}
	ents, err := os.ReadDir(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("state machine store %s: %w", opts.Dir, err)
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		path := filepath.Join(opts.Dir, e.Name(), "statemachine.json")
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read state machine: %w", err)
		}
		var info StateMachine
		if err := json.Unmarshal(b, &info); err != nil {
			s.log.Error("unreadable state machine file skipped", "file", path, "err", err)
			continue
		}
		if info.Managed {
			// Re-added by AddManaged with its current definition.
			continue
		}
		if _, err := s.open(info, nil, ManagedOptions{}); err != nil {
			s.log.Error("state machine skipped: its definition no longer validates", "state_machine", info.Name, "err", err)
		}
	}
	return s, nil
}

// Registry returns the task registry of every machine.
func (s *Service) Registry() *Registry { return s.opts.Registry }

// MachineExecutionsDir is where a Service whose Dir is dir keeps the
// executions of the state machine name (read-only tools such as `imagerec
// executions` open a DirStore there).
func MachineExecutionsDir(dir, name string) string { return filepath.Join(dir, name, "executions") }

// StateMachineArn returns the ARN of the named state machine.
func (s *Service) StateMachineArn(name string) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", s.opts.Region, s.opts.Account, name)
}

// open makes the executor of info (store nil: its directory store, or
// memory; mo.OnComplete nil: the service's; the rest of mo as
// ManagedOptions says) and registers it.
func (s *Service) open(info StateMachine, store Store, mo ManagedOptions) (*Executor, error) {
	if mo.OnComplete == nil {
		mo.OnComplete = s.opts.OnComplete
	}
	if store == nil && s.opts.ExecutionStore != nil {
		st, err := s.opts.ExecutionStore(info.Name)
		if err != nil {
			return nil, err
		}
		store = st
	}
	if store == nil && s.opts.Dir != "" {
		ds, err := NewDirStore(MachineExecutionsDir(s.opts.Dir, info.Name), DirOptions{Quarantine: true, Logger: s.opts.Logger})
		if err != nil {
			return nil, err
		}
		store = ds
	}
	x, err := New([]byte(info.Definition), s.opts.Registry, Options{
		Clock: s.opts.Clock, Logger: s.opts.Logger, Store: store,
		StateMachineName: info.Name, Region: s.opts.Region, Account: s.opts.Account,
		RoleArn: info.RoleArn, Type: info.Type, OnComplete: mo.OnComplete,
		CloseGrace: s.opts.CloseGrace, Objects: s.opts.Objects, OnEvent: mo.OnEvent,
		Leaser: s.opts.Leaser, Dispatch: mo.Dispatch, MapDispatch: mo.MapDispatch,
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = x.Close()
		return nil, ErrExecutorClosed
	}
	s.machines[info.Name] = &machine{info: info, x: x}
	return x, nil
}

// ManagedOptions are the settings of a managed state machine.
type ManagedOptions struct {
	// Store keeps its executions (nil: under ServiceOptions.Dir).
	Store Store
	// OnComplete replaces the service's for this machine.
	OnComplete func(Execution)
	// OnEvent is this machine's Options.OnEvent.
	OnEvent func(arn string, e Event)
	// Dispatch is this machine's Options.Dispatch (a cluster's gateway
	// hands its executions to the workers, which have the same managed
	// machines).
	Dispatch func(ctx context.Context, arn string, again bool) error
	// MapDispatch is this machine's Options.MapDispatch (a cluster's
	// nodes hand the child executions of its Distributed Maps to the
	// workers).
	MapDispatch func(ctx context.Context, arn string, again bool) error
}

// AddManaged adds one of imagerec's own state machines (the pipeline's,
// the backfill's) with its current definition. Its creation date is kept
// across restarts.
func (s *Service) AddManaged(name string, def []byte, mo ManagedOptions) (*Executor, error) {
	now := s.opts.Clock.Now().UTC()
	info := StateMachine{
		Arn: s.StateMachineArn(name), Name: name, Definition: string(def), Type: TypeStandard,
		RoleArn:      fmt.Sprintf("arn:aws:iam::%s:role/imagerec-local", s.opts.Account),
		CreationDate: now, Managed: true,
	}
	if old, ok := s.readInfo(name); ok && old.Managed {
		info.CreationDate = old.CreationDate
		info.RevisionID, info.UpdateDate = old.RevisionID, old.UpdateDate
		if old.Definition != info.Definition {
			info.RevisionID, info.UpdateDate = newRevision(), now
		}
	}
	if _, err := asl.Parse(def); err != nil {
		return nil, fmt.Errorf("state machine %s: %w", name, err)
	}
	if err := s.writeInfo(info); err != nil {
		return nil, err
	}
	return s.open(info, mo.Store, mo)
}

func (s *Service) readInfo(name string) (StateMachine, bool) {
	if s.opts.Dir == "" {
		return StateMachine{}, false
	}
	b, err := os.ReadFile(filepath.Join(s.opts.Dir, name, "statemachine.json"))
	if err != nil {
		return StateMachine{}, false
	}
	var info StateMachine
	if json.Unmarshal(b, &info) != nil {
		return StateMachine{}, false
	}
	return info, true
}

// writeInfo persists a machine's description (temporary file, fsync,
// rename).
func (s *Service) writeInfo(info StateMachine) error {
	if s.opts.Dir == "" {
		return nil
	}
	dir := filepath.Join(s.opts.Dir, info.Name)
	if err := os.MkdirAll(dir, fsperm.Dir); err != nil {
		return fmt.Errorf("write state machine %s: %w", info.Name, err)
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state machine %s: %w", info.Name, err)
	}
	return writeFileAtomic(dir, "statemachine.json", b)
}

func writeFileAtomic(dir, name string, b []byte) error {
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, werr := tmp.Write(b)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	syncDir(dir)
	return nil
}

func newRevision() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}

// CreateInput is CreateStateMachine's request.
type CreateInput struct {
	Name        string
	Definition  string
	RoleArn     string
	Type        string
	Description string
}

// Create adds a state machine. Creating one that exists with the same
// definition, role and type returns it (CreateStateMachine is idempotent);
// otherwise it is ErrStateMachineAlreadyExists.
func (s *Service) Create(_ context.Context, in CreateInput) (StateMachine, error) {
	if !machineNameRE.MatchString(in.Name) {
		return StateMachine{}, fmt.Errorf("%w: Invalid Name: '%s' (1 to 80 characters: letters, digits, - and _)", ErrInvalidName, in.Name)
	}
	if in.Type == "" {
		in.Type = TypeStandard
	}
	if in.Type != TypeStandard && in.Type != TypeExpress {
		return StateMachine{}, fmt.Errorf("%w: type must be STANDARD or EXPRESS, got %q", ErrValidation, in.Type)
	}
	if err := checkRoleArn(in.RoleArn); err != nil {
		return StateMachine{}, err
	}
	if _, err := asl.Parse([]byte(in.Definition)); err != nil {
		return StateMachine{}, fmt.Errorf("%w: %w", ErrInvalidDefinition, err)
	}
	s.mu.RLock()
	m, ok := s.machines[in.Name]
	s.mu.RUnlock()
	if ok {
		if m.info.Definition == in.Definition && m.info.RoleArn == in.RoleArn && m.info.Type == in.Type {
			return m.info, nil
		}
		return StateMachine{}, fmt.Errorf("%w: State Machine Already Exists: '%s'", ErrStateMachineAlreadyExists, m.info.Arn)
	}
	info := StateMachine{
		Arn: s.StateMachineArn(in.Name), Name: in.Name, Definition: in.Definition, RoleArn: in.RoleArn,
		Type: in.Type, Description: in.Description, CreationDate: s.opts.Clock.Now().UTC(),
	}
	if err := s.writeInfo(info); err != nil {
		return StateMachine{}, err
	}
	if _, err := s.open(info, nil, ManagedOptions{}); err != nil {
		return StateMachine{}, err
	}
	return info, nil
}

func checkRoleArn(arn string) error {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || !strings.HasPrefix(parts[5], "role/") {
		return fmt.Errorf("%w: Invalid Role Arn: '%s'", ErrInvalidArn, arn)
	}
	return nil
}

// UpdateInput is UpdateStateMachine's request; nil fields are unchanged.
type UpdateInput struct {
	Definition *string
	RoleArn    *string
}

// Update changes a state machine's definition or role. Running executions
// keep the definition they started with.
func (s *Service) Update(_ context.Context, arn string, in UpdateInput) (StateMachine, error) {
	m, err := s.machine(arn)
	if err != nil {
		return StateMachine{}, err
	}
	if m.info.Managed {
		return StateMachine{}, fmt.Errorf("%w: state machine '%s' belongs to imagerec serve, which deploys it from its embedded definition; change the definition file and restart instead", ErrValidation, m.info.Name)
	}
	if in.Definition == nil && in.RoleArn == nil {
		return StateMachine{}, fmt.Errorf("%w: either the definition or the roleArn must be specified", ErrValidation)
	}
	info := m.info
	if in.RoleArn != nil {
		if err := checkRoleArn(*in.RoleArn); err != nil {
			return StateMachine{}, err
		}
		info.RoleArn = *in.RoleArn
	}
	if in.Definition != nil {
		if err := m.x.SetDefinition([]byte(*in.Definition)); err != nil {
			return StateMachine{}, fmt.Errorf("%w: %w", ErrInvalidDefinition, err)
		}
		info.Definition = *in.Definition
	}
	info.RevisionID, info.UpdateDate = newRevision(), s.opts.Clock.Now().UTC()
	if err := s.writeInfo(info); err != nil {
		return StateMachine{}, err
	}
	s.mu.Lock()
	m.info = info
	s.mu.Unlock()
	return info, nil
}

// Delete removes a user-created state machine. Its running executions are
// stopped first (AWS lets them finish; see docs/adr/0012), then it and
// its execution records are removed. Deleting a machine that does not
// exist succeeds, as on AWS.
func (s *Service) Delete(ctx context.Context, arn string) error {
	m, err := s.machine(arn)
	if errors.Is(err, ErrStateMachineDoesNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if m.info.Managed {
		return fmt.Errorf("%w: state machine '%s' belongs to imagerec serve and cannot be deleted", ErrValidation, m.info.Name)
	}
	s.mu.Lock()
	delete(s.machines, m.info.Name)
	s.mu.Unlock()
	for _, arn := range m.x.runningArns() {
		_, _ = m.x.Stop(ctx, arn, "", "the state machine was deleted")
	}
	_ = m.x.Close()
	if s.opts.Dir != "" {
		if err := os.RemoveAll(filepath.Join(s.opts.Dir, m.info.Name)); err != nil {
			return fmt.Errorf("delete state machine %s: %w", m.info.Name, err)
		}
	}
	return nil
}

// Describe returns a state machine by ARN.
func (s *Service) Describe(arn string) (StateMachine, error) {
	m, err := s.machine(arn)
	if err != nil {
		return StateMachine{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return m.info, nil
}

// Executor returns the executor of a state machine by ARN.
func (s *Service) Executor(arn string) (*Executor, error) {
	m, err := s.machine(arn)
	if err != nil {
		return nil, err
	}
	return m.x, nil
}

// List returns every state machine, oldest first (then by name).
func (s *Service) List() []StateMachine {
	s.mu.RLock()
	out := make([]StateMachine, 0, len(s.machines))
	for _, m := range s.machines {
		out = append(out, m.info)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreationDate.Equal(out[j].CreationDate) {
			return out[i].CreationDate.Before(out[j].CreationDate)
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// machine finds a state machine by ARN.
func (s *Service) machine(arn string) (*machine, error) {
	name, ok := strings.CutPrefix(arn, fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:", s.opts.Region, s.opts.Account))
	if !ok {
		if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":stateMachine:") {
			return nil, fmt.Errorf("%w: Invalid Arn: '%s'", ErrInvalidArn, arn)
		}
		return nil, fmt.Errorf("%w: State Machine Does Not Exist: '%s'", ErrStateMachineDoesNotExist, arn)
	}
	s.mu.RLock()
	m, found := s.machines[name]
	s.mu.RUnlock()
	if !found {
		return nil, fmt.Errorf("%w: State Machine Does Not Exist: '%s'", ErrStateMachineDoesNotExist, arn)
	}
	return m, nil
}

// ExecutionExecutor returns the executor that owns an execution ARN
// (arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME).
func (s *Service) ExecutionExecutor(arn string) (*Executor, error) {
	prefix := fmt.Sprintf("arn:aws:states:%s:%s:execution:", s.opts.Region, s.opts.Account)
	rest, ok := strings.CutPrefix(arn, prefix)
	if !ok {
		if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":execution:") {
			return nil, fmt.Errorf("%w: Invalid Arn: '%s'", ErrInvalidArn, arn)
		}
		return nil, fmt.Errorf("%w: Execution Does Not Exist: '%s'", ErrExecutionDoesNotExist, arn)
	}
	name, _, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, fmt.Errorf("%w: Invalid Arn: '%s'", ErrInvalidArn, arn)
	}
	name, label, child := strings.Cut(name, "/") // a Map Run's child: MACHINE/LABEL
	s.mu.RLock()
	m, found := s.machines[name]
	s.mu.RUnlock()
	if !found {
		return nil, fmt.Errorf("%w: Execution Does Not Exist: '%s'", ErrExecutionDoesNotExist, arn)
	}
	if child {
		return m.x.childReader(label)
	}
	return m.x, nil
}

// Recover re-runs, in every state machine, the executions a stop left
// RUNNING.
func (s *Service) Recover(ctx context.Context) ([]string, error) {
	s.mu.RLock()
	ms := make([]*machine, 0, len(s.machines))
	for _, m := range s.machines {
		ms = append(ms, m)
	}
	s.mu.RUnlock()
	var all []string
	var errs []error
	for _, m := range ms {
		arns, err := m.x.Recover(ctx)
		all = append(all, arns...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return all, errors.Join(errs...)
}

// Close closes every executor (see Executor.Close).
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	ms := make([]*machine, 0, len(s.machines))
	for _, m := range s.machines {
		ms = append(ms, m)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = m.x.Close()
		}()
	}
	wg.Wait()
	return nil
}

// mapRunMachine finds the machine and label of a Map Run ARN
// (arn:aws:states:REGION:ACCOUNT:mapRun:MACHINE/LABEL:ID).
func (s *Service) mapRunMachine(arn string) (*machine, string, error) {
	rest, ok := strings.CutPrefix(arn, fmt.Sprintf("arn:aws:states:%s:%s:mapRun:", s.opts.Region, s.opts.Account))
	notFound := fmt.Errorf("%w: Map Run Does Not Exist: '%s'", ErrResourceNotFound, arn)
	if !ok {
		if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":mapRun:") {
			return nil, "", fmt.Errorf("%w: Invalid Arn: '%s'", ErrInvalidArn, arn)
		}
		return nil, "", notFound
	}
	path, _, ok := strings.Cut(rest, ":")
	name, label, hasLabel := strings.Cut(path, "/")
	if !ok || !hasLabel {
		return nil, "", fmt.Errorf("%w: Invalid Arn: '%s'", ErrInvalidArn, arn)
	}
	s.mu.RLock()
	m, found := s.machines[name]
	s.mu.RUnlock()
	if !found {
		return nil, "", notFound
	}
	return m, label, nil
}

// MapRunExecutions lists the child executions of a Map Run, newest first.
func (s *Service) MapRunExecutions(_ context.Context, mapRunArn string) ([]Execution, error) {
	m, label, err := s.mapRunMachine(mapRunArn)
	if err != nil {
		return nil, err
	}
	if _, ok := m.x.describeMapRun(mapRunArn); !ok {
		return nil, fmt.Errorf("%w: Map Run Does Not Exist: '%s'", ErrResourceNotFound, mapRunArn)
	}
	return m.x.mapRunChildren(label, mapRunArn)
}

// DescribeMapRun returns a Map Run.
func (s *Service) DescribeMapRun(_ context.Context, mapRunArn string) (MapRun, error) {
	m, _, err := s.mapRunMachine(mapRunArn)
	if err != nil {
		return MapRun{}, err
	}
	mr, ok := m.x.describeMapRun(mapRunArn)
	if !ok {
		return MapRun{}, fmt.Errorf("%w: Map Run Does Not Exist: '%s'", ErrResourceNotFound, mapRunArn)
	}
	return mr, nil
}

// ListMapRuns returns the Map Runs an execution started.
func (s *Service) ListMapRuns(_ context.Context, executionArn string) ([]MapRun, error) {
	x, err := s.ExecutionExecutor(executionArn)
	if err != nil {
		return nil, err
	}
	return x.listMapRuns(executionArn)
}

// Redrive restarts an execution that failed, timed out or was aborted
// (see Executor.Redrive).
func (s *Service) Redrive(ctx context.Context, executionArn string) (time.Time, error) {
	x, err := s.ExecutionExecutor(executionArn)
	if err != nil {
		return time.Time{}, err
	}
	return x.Redrive(ctx, executionArn)
}
