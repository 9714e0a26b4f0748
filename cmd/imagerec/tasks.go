package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/imagerec/imagerec/deploy"
	"github.com/imagerec/imagerec/internal/config"
	"github.com/imagerec/imagerec/internal/membudget"
	"github.com/imagerec/imagerec/internal/notify/lognotify"
	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/objstore/diskstore"
	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/sfn"
	"github.com/imagerec/imagerec/internal/vision/onnx"
)

// registerTasks registers the pipeline's task functions under the function
// names the shared state machine's resources resolve to. serve and `states
// run` both use it, so a definition behaves the same in either.
func registerTasks(reg *sfn.Registry, get func(context.Context) (*pipeline.Tasks, error), observe func(string, time.Duration)) {
	reg.RegisterFunction(deploy.FunctionInspect, task(get, observe, "inspect", (*pipeline.Tasks).Inspect))
	reg.RegisterFunction(deploy.FunctionRecognize, task(get, observe, "recognize", (*pipeline.Tasks).Recognize))
	reg.RegisterFunction(deploy.FunctionStore, task(get, observe, "store", (*pipeline.Tasks).Store))
	reg.RegisterFunction(deploy.FunctionNotify, task(get, observe, "notify", (*pipeline.Tasks).Notify))
}

// task puts a pipeline task method behind the task boundary
// (pipeline.Handle) as an executor task: the tasks are built on first use
// and the method's run time goes to observe.
func task[I, O any](get func(context.Context) (*pipeline.Tasks, error), observe func(string, time.Duration), name string, f func(*pipeline.Tasks, context.Context, I) (O, error)) sfn.Task {
	h := pipeline.Handle(name, func(ctx context.Context, in I) (O, error) {
		tasks, err := get(ctx)
		if err != nil {
			var zero O
			return zero, err
		}
		start := time.Now()
		out, err := f(tasks, ctx, in)
		if observe != nil {
			observe(name, time.Since(start))
		}
		return out, err
	})
	return sfn.TaskFunc(func(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
		out, err := h.Invoke(ctx, raw)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	})
}

// lazyTasks builds the pipeline tasks for `states run` on first use: the
// object store under the data directory and the ONNX engine, so a
// definition without pipeline Task states never loads models.
type lazyTasks struct {
	env   *Env
	once  sync.Once
	tasks *pipeline.Tasks
	err   error
	close []func()
}

func (l *lazyTasks) get(ctx context.Context) (*pipeline.Tasks, error) {
	l.once.Do(func() {
		data := envOr(l.env.Getenv, "IMAGEREC_DATA", "./data")
		store, err := diskstore.Open(filepath.Join(data, "objects"), diskstore.Options{})
		if err != nil {
			l.err = &pipeline.Error{Name: pipeline.ErrNameTransient, Message: "open object store", Err: err}
			return
		}
		// The buckets serve creates, so results have somewhere to go.
		for _, b := range []string{envOr(l.env.Getenv, "IMAGEREC_UPLOAD_BUCKET", "image-upload-bucket"), envOr(l.env.Getenv, "IMAGEREC_RESULT_BUCKET", "image-result-bucket")} {
			if err := store.CreateBucket(ctx, b); err != nil && !errors.Is(err, objstore.ErrBucketExists) {
				l.err = &pipeline.Error{Name: pipeline.ErrNameTransient, Message: "create bucket " + b, Err: err}
				return
			}
		}
		size, _ := membudget.Choose(0, os.ReadFile)
		engine, err := onnx.New(ctx, onnx.Config{CacheRoot: envOr(l.env.Getenv, "IMAGEREC_CACHE", config.DefaultCacheDir()), Logger: l.env.Logger, Budget: membudget.New(size)})
		if err != nil {
			l.err = &pipeline.Error{Name: pipeline.ErrNameTransient, Message: "recognition engine (run `imagerec models install`)", Err: err}
			return
		}
		l.close = append(l.close, func() { _ = engine.Close() })
		l.tasks = &pipeline.Tasks{
			Objects:    pipeline.StoreObjects{Store: store},
			Recognizer: engine,
			Notifier:   lognotify.New(l.env.Logger),
			Logger:     l.env.Logger,
		}
	})
	return l.tasks, l.err
}

func (l *lazyTasks) Close() {
	for _, c := range l.close {
		c()
	}
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// localSubstitutions are the defaults for ${...} placeholders in `states`
// commands: the same values serve uses, so deploy/statemachine.asl.json
// validates and runs as it is. --sub overrides them.
func localSubstitutions(getenv func(string) string) map[string]string {
	return deploy.LocalSubstitutions(envOr(getenv, "IMAGEREC_RESULT_BUCKET", "image-result-bucket"))
}
