// Command imagerec recognises uploaded images: it serves an S3-compatible
// endpoint, runs the shared Amazon States Language workflow locally and
// recognises images with local ONNX models. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// Env is what every subcommand gets from main: its streams, the process
// environment as a function, and a logger. Subcommands never touch os.* for
// these, so tests can run them in-process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	Logger *slog.Logger
}

// command is one subcommand. run returns an *exitError to choose a non-zero
// exit code without printing; any other error is printed and exits 1.
type command struct {
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

// exitError carries an exit status that has already been explained.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// commands lists the subcommands. Each lives in its own file.
func commands() map[string]command {
	return map[string]command{
		"version":    {"print the version", cmdVersion},
		"recognize":  {"recognise image files with the local engine (JSON to stdout or --out DIR)", cmdRecognize},
		"serve":      {"run the local pipeline: S3 endpoint, events, state machine, recognition", cmdServe},
		"states":     {"validate or run an Amazon States Language definition", cmdStates},
		"executions": {"list, describe or show the history of stored executions", cmdExecutions},
		"models":     {"install, list or verify the ONNX runtime and models", cmdModels},
		"backfill":   {"recognise the images already in the upload bucket (on a running serve)", cmdBackfill},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &Env{
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Getenv: os.Getenv,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel(os.Getenv("IMAGEREC_LOG_LEVEL"))})),
	}, os.Args[1:])
	stop()
	os.Exit(code)
}

func logLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// run dispatches args to a subcommand and returns the exit code.
func run(ctx context.Context, env *Env, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stdout, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" || args[0] == "-v" {
		args = []string{"version"}
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "imagerec: unknown command %q\n\n", args[0])
		usage(env.Stderr, cmds)
		return 2
	}
	err := c.run(ctx, env, args[1:])
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ee):
		return ee.code
	default:
		fmt.Fprintf(env.Stderr, "imagerec %s: %v\n", args[0], err)
		return 1
	}
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "imagerec: automatic image recognition on upload, locally or on AWS")
	fmt.Fprintln(w, "\nUsage: imagerec <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'imagerec <command> --help' for a command's flags.")
}

// newFlagSet returns a FlagSet that reports to env.Stderr and returns errors
// instead of exiting.
func newFlagSet(env *Env, name, usageLine string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: imagerec %s\n\nFlags:\n", usageLine)
		fs.PrintDefaults()
	}
	return fs
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

// version is set by the linker: -ldflags "-X main.version=...".
var version = "dev"

func cmdVersion(_ context.Context, env *Env, _ []string) error {
	fmt.Fprintln(env.Stdout, "imagerec", version)
	return nil
}
