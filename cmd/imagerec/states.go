package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/imagerec/imagerec/internal/asl"
	"github.com/imagerec/imagerec/internal/sfn"
)

// statesRegistry returns the task registry `states run` resolves Task
// resources through: the pipeline tasks serve registers, built on first use
// (object store under $IMAGEREC_DATA, default ./data; the ONNX engine).
// Call the returned function when the run is over.
func statesRegistry(env *Env) (*sfn.Registry, func()) {
	reg := sfn.NewRegistry()
	lazy := &lazyTasks{env: env}
	registerTasks(reg, lazy.get, nil)
	return reg, lazy.Close
}

// withDefaults adds serve's substitutions for placeholders --sub left unset.
func withDefaults(env *Env, subs subFlag) subFlag {
	for k, v := range localSubstitutions(env.Getenv) {
		if _, ok := subs[k]; !ok {
			subs[k] = v
		}
	}
	return subs
}

// cmdStates implements `imagerec states validate FILE` and
// `imagerec states run --definition F --input F`.
func cmdStates(ctx context.Context, env *Env, args []string) error {
	const usage = "Usage: imagerec states validate FILE | states run --definition FILE [--input FILE] [--sub Name=Value]...\n\n" +
		"  validate  check an Amazon States Language definition (located errors)\n" +
		"  run       run a definition; prints {\"status\",\"output\"} or {\"status\",\"error\",\"cause\"}\n\n" +
		"Run 'imagerec states validate --help' or 'imagerec states run --help' for their flags."
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, usage)
		return &exitError{2}
	}
	if isHelp(args[0]) {
		fmt.Fprintln(env.Stdout, usage)
		return nil
	}
	switch args[0] {
	case "validate":
		return statesValidate(env, args[1:])
	case "run":
		return statesRun(ctx, env, args[1:])
	}
	fmt.Fprintf(env.Stderr, "imagerec states: unknown subcommand %q (validate, run)\n", args[0])
	return &exitError{2}
}

// subFlag collects repeated --sub Name=Value definition substitutions.
type subFlag map[string]string

func (s subFlag) String() string { return "" }

func (s subFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want Name=Value, got %q", v)
	}
	s[k] = val
	return nil
}

func statesValidate(env *Env, args []string) error {
	fs := newFlagSet(env, "states validate", "states validate [--sub Name=Value]... FILE")
	subs := subFlag{}
	fs.Var(subs, "sub", "definition substitution `Name=Value` for ${Name} (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return &exitError{2}
	}
	def, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("read definition: %w", err)
	}
	if _, err := asl.Parse(asl.Substitute(def, withDefaults(env, subs))); err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", fs.Arg(0), err)
		return &exitError{1}
	}
	fmt.Fprintf(env.Stdout, "%s: valid\n", fs.Arg(0))
	return nil
}

func statesRun(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "states run", "states run --definition FILE [--input FILE] [--type STANDARD|EXPRESS] [--sub Name=Value]...")
	defPath := fs.String("definition", "", "state machine definition `file` (ASL JSON)")
	inPath := fs.String("input", "", "execution input `file` (JSON; - for stdin; default {})")
	smType := fs.String("type", "STANDARD", "state machine `type`: STANDARD or EXPRESS")
	smName := fs.String("state-machine-name", "imagerec-local", "state machine name used in ARNs and $$.StateMachine")
	subs := subFlag{}
	fs.Var(subs, "sub", "definition substitution `Name=Value` for ${Name} (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *defPath == "" || fs.NArg() != 0 {
		fs.Usage()
		return &exitError{2}
	}
	def, err := os.ReadFile(*defPath)
	if err != nil {
		return fmt.Errorf("read definition: %w", err)
	}
	input := []byte("{}")
	switch *inPath {
	case "":
	case "-":
		if input, err = io.ReadAll(env.Stdin); err != nil {
			return fmt.Errorf("read input: %w", err)
		}
	default:
		if input, err = os.ReadFile(*inPath); err != nil {
			return fmt.Errorf("read input: %w", err)
		}
	}
	reg, done := statesRegistry(env)
	defer done()
	res, err := sfn.RunDefinition(ctx, asl.Substitute(def, withDefaults(env, subs)), input, reg,
		sfn.Options{Logger: env.Logger, StateMachineName: *smName, Type: strings.ToUpper(*smType)})
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", *defPath, err)
		return &exitError{1}
	}
	enc := json.NewEncoder(env.Stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		return err
	}
	if res.Status != sfn.StatusSucceeded {
		return &exitError{1}
	}
	return nil
}
