package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/imagerec/imagerec/deploy"
	"github.com/imagerec/imagerec/internal/asl"
	"github.com/imagerec/imagerec/internal/config"
	"github.com/imagerec/imagerec/internal/sfn"
)

// statesRegistry returns the task registry `states run` resolves Task
// resources through: the pipeline tasks serve registers, built on first use
// from serve's configuration (config.Load: the object store under the data
// directory, the ONNX engine from the cache). Call the returned function
// when the run is over.
func statesRegistry(cfg config.Config, log *slog.Logger) (*sfn.Registry, func()) {
	reg := sfn.NewRegistry()
	lazy := &lazyTasks{cfg: cfg, log: log}
	registerTasks(reg, lazy.get, nil)
	return reg, lazy.Close
}

// statesConfig is serve's configuration from the environment (config.Load
// with no flags): the buckets, data and cache directories `states` uses.
func statesConfig(env *Env) (config.Config, error) {
	cfg, err := config.Load(env.Getenv, nil, io.Discard)
	if err != nil {
		return cfg, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

// withDefaults adds serve's substitutions for placeholders --sub left unset.
func withDefaults(cfg config.Config, subs subFlag) subFlag {
	for k, v := range deploy.LocalSubstitutions(cfg.ResultBucket) {
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
	cfg, err := statesConfig(env)
	if err != nil {
		return err
	}
	def, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("read definition: %w", err)
	}
	if _, err := asl.Parse(asl.Substitute(def, withDefaults(cfg, subs))); err != nil {
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
	cfg, err := statesConfig(env)
	if err != nil {
		return err
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
	reg, done := statesRegistry(cfg, env.Logger)
	defer done()
	res, err := sfn.RunDefinition(ctx, asl.Substitute(def, withDefaults(cfg, subs)), input, reg,
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
