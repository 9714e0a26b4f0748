package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagerec/imagerec/internal/config"
	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/objstore/diskstore"
	"github.com/imagerec/imagerec/internal/objstore/s3store"
)

// objectStore is what serve needs of its store: objects and multipart
// uploads (the S3 endpoint takes both).
type objectStore interface {
	objstore.Store
	objstore.Multiparter
}

// openObjectStore opens the buckets' store: the disk store under --data,
// or the S3-compatible --store-endpoint (credentials the AWS way). The
// upload and result buckets are created when missing; a store that does
// not answer yet (another node starting) is waited for, up to storeWait.
func openObjectStore(ctx context.Context, cfg config.Config, log *slog.Logger) (objectStore, error) {
	var st objectStore
	if cfg.StoreEndpoint == "" {
		ds, err := diskstore.Open(filepath.Join(cfg.DataDir, "objects"), diskstore.Options{})
		if err != nil {
			return nil, fmt.Errorf("open object store: %w", err)
		}
		st = ds
	} else {
		awscfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.StoreRegion))
		if err != nil {
			return nil, fmt.Errorf("store-endpoint %s: AWS configuration: %w", cfg.StoreEndpoint, err)
		}
		st = s3store.New(s3.NewFromConfig(awscfg, func(o *s3.Options) {
			o.BaseEndpoint = aws.String(cfg.StoreEndpoint)
			o.UsePathStyle = cfg.StorePathStyle
		}))
	}
	deadline := time.Now().Add(storeWait)
	for _, b := range []string{cfg.UploadBucket, cfg.ResultBucket} {
		for {
			err := st.CreateBucket(ctx, b)
			if err == nil || errors.Is(err, objstore.ErrBucketExists) {
				break
			}
			if cfg.StoreEndpoint == "" || time.Now().After(deadline) || ctx.Err() != nil {
				return nil, fmt.Errorf("create bucket %s in %s: %w", b, storeName(cfg), err)
			}
			log.WarnContext(ctx, "object store not ready; trying again", "store", cfg.StoreEndpoint, "bucket", b, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return st, nil
}

// storeWait is how long serve waits for --store-endpoint at start.
const storeWait = 60 * time.Second

func storeName(cfg config.Config) string {
	if cfg.StoreEndpoint != "" {
		return cfg.StoreEndpoint
	}
	return filepath.Join(cfg.DataDir, "objects")
}
