package awslambda

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/imagerec/imagerec/internal/pipeline"
)

// S3API is the part of *s3.Client the tasks use.
type S3API interface {
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

var _ S3API = (*s3.Client)(nil)

// S3Objects is pipeline.Objects over Amazon S3.
type S3Objects struct{ Client S3API }

var _ pipeline.Objects = S3Objects{}

// notFound maps S3's missing-object errors to pipeline.ErrNotFound,
// keeping the SDK error.
func notFound(err error) error {
	var nsk *s3types.NoSuchKey
	var nf *s3types.NotFound
	var nsb *s3types.NoSuchBucket
	var ae smithy.APIError
	if errors.As(err, &nsk) || errors.As(err, &nf) || errors.As(err, &nsb) ||
		(errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound" || ae.ErrorCode() == "NoSuchBucket")) {
		return fmt.Errorf("%w: %w", pipeline.ErrNotFound, err)
	}
	return err
}

func meta(size *int64, etag, version, ctype *string) pipeline.ObjectMeta {
	return pipeline.ObjectMeta{
		Size:        aws.ToInt64(size),
		ETag:        strings.Trim(aws.ToString(etag), `"`),
		VersionID:   aws.ToString(version),
		ContentType: aws.ToString(ctype),
	}
}

// Head implements pipeline.Objects.
func (o S3Objects) Head(ctx context.Context, bucket, key string) (pipeline.ObjectMeta, error) {
	out, err := o.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return pipeline.ObjectMeta{}, fmt.Errorf("head s3://%s/%s: %w", bucket, key, notFound(err))
	}
	return meta(out.ContentLength, out.ETag, out.VersionId, out.ContentType), nil
}

// Open implements pipeline.Objects.
func (o S3Objects) Open(ctx context.Context, bucket, key string) (io.ReadCloser, pipeline.ObjectMeta, error) {
	out, err := o.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, pipeline.ObjectMeta{}, fmt.Errorf("get s3://%s/%s: %w", bucket, key, notFound(err))
	}
	return out.Body, meta(out.ContentLength, out.ETag, out.VersionId, out.ContentType), nil
}

// Put implements pipeline.Objects.
func (o S3Objects) Put(ctx context.Context, bucket, key string, body []byte, contentType string) error {
	_, err := o.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(bucket),
		Key:         aws.String(key),
		Body:        bytes.NewReader(body),
		ContentType: aws.String(contentType),
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// Delete implements pipeline.Objects. S3 deletes of missing keys succeed.
func (o S3Objects) Delete(ctx context.Context, bucket, key string) error {
	if _, err := o.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		return fmt.Errorf("delete s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}
