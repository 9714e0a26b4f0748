package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagerec/imagerec/internal/config"
	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/sfn"
	"github.com/imagerec/imagerec/internal/ui"
)

// uiExecutions shows the executor's executions on the page.
type uiExecutions struct{ x *sfn.Executor }

func (u uiExecutions) ListExecutions(ctx context.Context, limit int) ([]ui.Execution, error) {
	execs, err := u.x.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ui.Execution, 0, min(limit, len(execs)))
	for _, e := range execs {
		if len(out) == limit {
			break
		}
		v := ui.Execution{ARN: e.ExecutionArn, Name: e.Name, Status: e.Status, StartDate: e.StartDate,
			Input: string(e.Input), Output: string(e.Output), Error: e.Error, Cause: e.Cause}
		if e.StopDate != nil {
			v.StopDate = *e.StopDate
		}
		out = append(out, v)
	}
	return out, nil
}

func (u uiExecutions) History(ctx context.Context, arn string) ([]ui.Event, error) {
	events, err := u.x.History(ctx, arn)
	if err != nil {
		return nil, err
	}
	out := make([]ui.Event, 0, len(events))
	for _, e := range events {
		d, _ := json.Marshal(e.Details)
		if len(e.Details) == 0 {
			d = nil
		}
		out = append(out, ui.Event{ID: e.ID, Type: e.Type, Timestamp: e.Timestamp, Details: string(d)})
	}
	return out, nil
}

// uiObjects lists a bucket for the page.
type uiObjects struct{ st objstore.Store }

func (u uiObjects) List(ctx context.Context, bucket, prefix string, limit int) ([]ui.Object, error) {
	var out []ui.Object
	opts := objstore.ListOptions{Prefix: prefix}
	for len(out) < limit {
		page, err := u.st.ListObjects(ctx, bucket, opts)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Objects {
			out = append(out, ui.Object{Key: o.Key, Size: o.Size, LastModified: o.LastModified})
		}
		if !page.IsTruncated {
			break
		}
		opts.StartAfter = page.NextStartAfter
	}
	return out, nil
}

// presigner signs URLs to the endpoint with the SDK, so the page's uploads
// and downloads pass the same SigV4 checks as any client.
type presigner struct{ c *s3.PresignClient }

func newPresigner(endpoint string, cfg config.Config) presigner {
	c := s3.New(s3.Options{
		Region:       cfg.Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
	})
	return presigner{s3.NewPresignClient(c, s3.WithPresignExpires(15*time.Minute))}
}

func (p presigner) PresignGet(ctx context.Context, bucket, key string) (string, error) {
	r, err := p.c.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", fmt.Errorf("presign get %s/%s: %w", bucket, key, err)
	}
	return r.URL, nil
}

func (p presigner) PresignPut(ctx context.Context, bucket, key, contentType string) (string, error) {
	in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if contentType != "" {
		in.ContentType = aws.String(contentType)
	}
	r, err := p.c.PresignPutObject(ctx, in)
	if err != nil {
		return "", fmt.Errorf("presign put %s/%s: %w", bucket, key, err)
	}
	return r.URL, nil
}
