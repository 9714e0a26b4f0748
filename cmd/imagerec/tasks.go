package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/imagerec/imagerec/deploy"
	"github.com/imagerec/imagerec/internal/config"
	"github.com/imagerec/imagerec/internal/facecollection"
	"github.com/imagerec/imagerec/internal/membudget"
	"github.com/imagerec/imagerec/internal/notify"
	"github.com/imagerec/imagerec/internal/notify/lognotify"
	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/objstore/diskstore"
	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/sfn"
	"github.com/imagerec/imagerec/internal/vision"
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

// newTasks builds the pipeline tasks over store and rec with cfg's
// options: serve and `states run` run the same tasks.
func newTasks(cfg config.Config, store objstore.Store, rec vision.Recognizer, n notify.Notifier, log *slog.Logger) *pipeline.Tasks {
	return &pipeline.Tasks{
		Objects:    pipeline.StoreObjects{Store: store},
		Recognizer: rec,
		Notifier:   n,
		Logger:     log.With("component", "pipeline"),
		Options:    vision.Options{Features: cfg.Features, MinConfidence: cfg.MinConfidence},
		MaxBytes:   cfg.MaxBytes,
		// Faces is set by searchFaces.
		FaceCollection: cfg.FaceCollection,
		IndexFaces:     cfg.IndexFaces,
	}
}

// openCollections opens the face collections under the data directory,
// for the descriptors engine computes; nil when it computes none (the
// face models are not installed).
func openCollections(cfg config.Config, engine *onnx.Engine) (*facecollection.Store, error) {
	v := engine.FaceModelVersion()
	if v == "" {
		return nil, nil
	}
	faces, err := facecollection.Open(filepath.Join(cfg.DataDir, "collections"), facecollection.Options{
		FaceModelVersion: v, Dim: engine.DescriptorLen(), Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("face collections: %w", err)
	}
	return faces, nil
}

// searchFaces has tasks search every image's faces in cfg.FaceCollection
// (created when missing) when it is set: serve and `states run` alike.
func searchFaces(tasks *pipeline.Tasks, faces *facecollection.Store, cfg config.Config, log *slog.Logger) error {
	if cfg.FaceCollection == "" {
		return nil
	}
	if faces == nil {
		return fmt.Errorf("--face-collection %s: face collections need the face models (run `imagerec models install`)", cfg.FaceCollection)
	}
	switch _, err := faces.Create(cfg.FaceCollection); {
	case err == nil:
		log.Info("face collection created", "collection", cfg.FaceCollection)
	case !errors.Is(err, facecollection.ErrExists):
		return fmt.Errorf("--face-collection: %w", err)
	}
	// A collection made with another face model version would fail every
	// upload with faces: refuse at start, naming the versions.
	if err := faces.Comparable(cfg.FaceCollection); err != nil {
		return fmt.Errorf("--face-collection: %w", err)
	}
	tasks.Faces = faces
	log.Info("uploads' faces are searched in a face collection", "collection", cfg.FaceCollection, "index", cfg.IndexFaces)
	return nil
}

// lazyTasks builds the pipeline tasks for `states run` on first use, as
// serve would with the same configuration: the object store under the
// data directory (with serve's buckets, so results have somewhere to go)
// and the ONNX engine, so a definition without pipeline Task states never
// loads models.
type lazyTasks struct {
	cfg   config.Config
	log   *slog.Logger
	once  sync.Once
	tasks *pipeline.Tasks
	err   error
	close []func()
}

func (l *lazyTasks) get(ctx context.Context) (*pipeline.Tasks, error) {
	l.once.Do(func() {
		store, err := diskstore.Open(filepath.Join(l.cfg.DataDir, "objects"), diskstore.Options{})
		if err != nil {
			l.err = &pipeline.Error{Name: pipeline.ErrNameTransient, Message: "open object store", Err: err}
			return
		}
		for _, b := range []string{l.cfg.UploadBucket, l.cfg.ResultBucket} {
			if err := store.CreateBucket(ctx, b); err != nil && !errors.Is(err, objstore.ErrBucketExists) {
				l.err = &pipeline.Error{Name: pipeline.ErrNameTransient, Message: "create bucket " + b, Err: err}
				return
			}
		}
		size, _ := membudget.Choose(l.cfg.MemoryBudget, os.ReadFile)
		engine, err := onnx.New(ctx, onnx.Config{CacheRoot: l.cfg.CacheDir, Features: l.cfg.Features, Logger: l.log, Budget: membudget.New(size)})
		if err != nil {
			l.err = &pipeline.Error{Name: pipeline.ErrNameTransient, Message: "recognition engine (run `imagerec models install`)", Err: err}
			return
		}
		l.close = append(l.close, func() { _ = engine.Close() })
		l.tasks = newTasks(l.cfg, store, engine, lognotify.New(l.log), l.log)
		if l.cfg.FaceCollection == "" {
			return
		}
		faces, err := openCollections(l.cfg, engine)
		if err == nil {
			err = searchFaces(l.tasks, faces, l.cfg, l.log)
		}
		if err != nil {
			l.tasks, l.err = nil, &pipeline.Error{Name: pipeline.ErrNameInvalidInput, Message: "face collection", Err: err}
		}
	})
	return l.tasks, l.err
}

func (l *lazyTasks) Close() {
	for _, c := range l.close {
		c()
	}
}
