package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/imagerec/imagerec/deploy"
	"github.com/imagerec/imagerec/internal/sfn"
	"github.com/imagerec/imagerec/internal/sfn/natsstore"
)

const executionsUsage = "executions list | describe ID | history ID [--data DIR | --queue URLS] [--state-machine NAME] [--json]"

// cmdExecutions implements `imagerec executions list|describe ID|history ID
// [--data DIR]` over the durable execution store of `imagerec serve`.
func cmdExecutions(ctx context.Context, env *Env, args []string) error {
	usage := executionsUsage
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
			"  --queue URLS           a cluster's NATS URLs (as serve --queue): the executions every node shares\n"+
			"  --queue-creds FILE     NATS credentials file\n"+
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
	queueURLs := fs.String("queue", "", "NATS `URLs` of a cluster's queue (comma-separated, as serve --queue): read the executions every node shares there instead of --data")
	queueCreds := fs.String("queue-creds", "", "NATS credentials `file` (as serve --queue-creds)")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	if *queueURLs != "" {
		st, closeStore, err := sharedStore(ctx, *queueURLs, *queueCreds, *machine)
		if err != nil {
			return err
		}
		defer closeStore()
		return printExecutions(env, sub, pos, *asJSON, st, nil, "the cluster at "+redactQueue(strings.Split(*queueURLs, ",")))
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
	return printExecutions(env, sub, pos, *asJSON, store, store, dir)
}

// sharedStore opens the execution store a cluster's processes share
// (serve --queue): the machine's records in the queue's JetStream.
func sharedStore(ctx context.Context, urls, creds, machine string) (sfn.Store, func(), error) {
	opts := []nats.Option{nats.Name("imagerec-executions"), nats.Timeout(5 * time.Second)}
	if creds != "" {
		opts = append(opts, nats.UserCredentials(creds))
	}
	nc, err := nats.Connect(urls, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to nats %s: %w", redactQueue(strings.Split(urls, ",")), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	st, err := natsstore.Open(ctx, js, natsstore.Options{Patience: 5 * time.Second})
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return st.Store(machine), nc.Close, nil
}

// printExecutions runs sub (list, describe, history) over store, named
// where in messages; dir, when set, is the disk store (its unreadable and
// quarantined files are reported).
func printExecutions(env *Env, sub string, pos []string, asJSON bool, store sfn.Store, dir *sfn.DirStore, where string) error {
	enc := json.NewEncoder(env.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	switch sub {
	case "list":
		var recs []*sfn.Record
		var err error
		if dir != nil {
			var unreadable []string
			recs, unreadable, err = dir.ListReport()
			for _, f := range unreadable {
				fmt.Fprintf(env.Stderr, "imagerec executions: %s is unreadable (skipped; serve moves it to quarantine)\n", f)
			}
			if n, qerr := dir.Quarantined(); qerr == nil && n > 0 {
				fmt.Fprintf(env.Stderr, "imagerec executions: %d quarantined execution file(s) in %s\n", n, filepath.Join(where, sfn.QuarantineDir))
			}
		} else {
			recs, err = store.List()
		}
		if err != nil {
			return err
		}
		if asJSON {
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
			fmt.Fprintln(env.Stderr, "Usage: imagerec "+executionsUsage)
			return &exitError{2}
		}
		rec, err := store.Get(pos[0])
		if errors.Is(err, sfn.ErrExecutionDoesNotExist) {
			fmt.Fprintf(env.Stderr, "imagerec executions: no execution %q in %s\n", pos[0], where)
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
