package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/imagerec/imagerec/deploy"
	"github.com/imagerec/imagerec/internal/sfn"
)

// cmdExecutions implements `imagerec executions list|describe ID|history ID
// [--data DIR]` over the durable execution store of `imagerec serve`.
func cmdExecutions(_ context.Context, env *Env, args []string) error {
	usage := "executions list | describe ID | history ID [--data DIR] [--state-machine NAME] [--json]"
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, "Usage: imagerec "+usage)
		return &exitError{2}
	}
	if isHelp(args[0]) {
		fmt.Fprintln(env.Stdout, "Usage: imagerec "+usage+"\n\n"+
			"  list      executions started by imagerec serve, newest first\n"+
			"  describe  one execution, like aws stepfunctions describe-execution\n"+
			"  history   its events, like aws stepfunctions get-execution-history\n\n"+
			"Flags:\n  --data DIR             data directory of imagerec serve (default ./data)\n"+
			"  --state-machine NAME   whose executions (default imagerec, the pipeline's; also imagerec-backfill\n"+
			"                         and the machines created with aws stepfunctions create-state-machine)\n"+
			"  --json                 print JSON (list)")
		return nil
	}
	sub := args[0]
	fs := newFlagSet(env, "executions "+sub, usage)
	data := fs.String("data", "./data", "data `directory` of imagerec serve (executions are under DIR/executions)")
	asJSON := fs.Bool("json", false, "print JSON (list)")
	machine := fs.String("state-machine", deploy.LocalStateMachine, "state machine `NAME` whose executions to read")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	// The same stores serve's sfn.Service keeps: the pipeline's in
	// DATA/executions, every other machine's beside its definition.
	dir := filepath.Join(*data, "executions")
	if *machine != deploy.LocalStateMachine {
		dir = sfn.MachineExecutionsDir(filepath.Join(*data, "statemachines"), *machine)
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		// Reading must not create the store: report that there is none.
		fmt.Fprintf(env.Stderr, "imagerec executions: no executions under %s\n", dir)
		if sub == "list" {
			return nil
		}
		return &exitError{1}
	}
	// Read-only: unreadable files are named and skipped; serve, which owns
	// the directory, moves them to quarantine/.
	store, err := sfn.NewDirStore(dir, sfn.DirOptions{})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(env.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	switch sub {
	case "list":
		recs, unreadable, err := store.ListReport()
		if err != nil {
			return err
		}
		for _, f := range unreadable {
			fmt.Fprintf(env.Stderr, "imagerec executions: %s is unreadable (skipped; serve moves it to quarantine)\n", f)
		}
		if n, err := store.Quarantined(); err == nil && n > 0 {
			fmt.Fprintf(env.Stderr, "imagerec executions: %d quarantined execution file(s) in %s\n", n, filepath.Join(dir, sfn.QuarantineDir))
		}
		if *asJSON {
			execs := make([]sfn.Execution, len(recs))
			for i, r := range recs {
				execs[i] = r.Execution
			}
			return enc.Encode(map[string]any{"executions": execs})
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSTATUS\tSTART\tSTOP\tERROR")
		for _, r := range recs {
			e := r.Execution
			stop := "-"
			if e.StopDate != nil {
				stop = e.StopDate.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Name, e.Status, e.StartDate.Format(time.RFC3339), stop, e.Error)
		}
		return tw.Flush()
	case "describe", "history":
		if len(pos) != 1 {
			fmt.Fprintln(env.Stderr, "Usage: imagerec "+usage)
			return &exitError{2}
		}
		rec, err := store.Get(pos[0])
		if errors.Is(err, sfn.ErrExecutionDoesNotExist) {
			fmt.Fprintf(env.Stderr, "imagerec executions: no execution %q in %s\n", pos[0], dir)
			return &exitError{1}
		}
		if err != nil {
			return err
		}
		if sub == "describe" {
			return enc.Encode(rec.Execution)
		}
		return enc.Encode(map[string]any{"events": rec.History})
	}
	fmt.Fprintf(env.Stderr, "imagerec executions: unknown subcommand %q (list, describe, history)\n", sub)
	return &exitError{2}
}

// parseInterleaved parses flags that may come before or after positional
// arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
