package sfn

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/imagerec/imagerec/internal/asl"
)

// readItems reads a Distributed Map's items with its ItemReader:
// s3:listObjectsV2 (one item per object, shaped like Step Functions'
// {"Etag","Key","LastModified","Size","StorageClass"}) or s3:getObject of
// a JSON array, JSON Lines or CSV file. Failures are
// States.ItemReaderFailed.
func (r *runner) readItems(ctx context.Context, p *readerPlan) ([]any, *asl.Error) {
	fail := func(format string, args ...any) *asl.Error {
		return &asl.Error{Name: asl.ErrNameItemReaderFailed, Cause: fmt.Sprintf(format, args...)}
	}
	var objs Objects
	if r.x != nil {
		objs = r.x.opts.Objects
	}
	if objs == nil {
		return nil, fail("no object store is configured for ItemReader")
	}
	bucket, _ := p.params.Val("Bucket").(string)
	if bucket == "" {
		return nil, fail("the ItemReader parameters must name a Bucket, got %s", jsonText(p.params))
	}
	limit := int(p.maxItems)
	full := func(items []any) bool { return limit > 0 && len(items) >= limit }
	switch p.spec.Resource {
	case asl.ResourceS3ListObjectsV2:
		prefix, _ := p.params.Val("Prefix").(string)
		after := ""
		var items []any
		for !full(items) {
			page, more, err := objs.List(ctx, bucket, prefix, after, 1000)
			if err != nil {
				return nil, fail("list s3://%s/%s: %v", bucket, prefix, err)
			}
			for _, o := range page {
				if full(items) {
					break
				}
				it := asl.NewObject(5)
				it.Set("Etag", `"`+o.ETag+`"`)
				it.Set("Key", o.Key)
				it.Set("LastModified", json.Number(strconv.FormatInt(o.LastModified.Unix(), 10)))
				it.Set("Size", json.Number(strconv.FormatInt(o.Size, 10)))
				it.Set("StorageClass", o.StorageClass)
				items = append(items, it)
				after = o.Key
			}
			if !more || len(page) == 0 {
				break
			}
		}
		if items == nil {
			items = []any{}
		}
		return items, nil
	case asl.ResourceS3GetObject:
		key, _ := p.params.Val("Key").(string)
		body, err := objs.Get(ctx, bucket, key)
		if err != nil {
			return nil, fail("read s3://%s/%s: %v", bucket, key, err)
		}
		items, err := parseItems(p.spec, body, limit)
		if err != nil {
			return nil, fail("read s3://%s/%s as %s: %v", bucket, key, p.spec.InputType, err)
		}
		return items, nil
	}
	return nil, fail("ItemReader resource %q is not supported", p.spec.Resource)
}

// parseItems decodes an item file: a JSON array, JSON Lines, or CSV rows
// as objects of strings keyed by the header.
func parseItems(spec *asl.ItemReader, body []byte, limit int) ([]any, error) {
	items := []any{}
	full := func() bool { return limit > 0 && len(items) >= limit }
	switch spec.InputType {
	case "JSON":
		v, err := asl.Decode(body)
		if err != nil {
			return nil, err
		}
		arr, ok := v.([]any)
		if !ok {
			return nil, errors.New("the file does not hold a JSON array")
		}
		if limit > 0 && len(arr) > limit {
			arr = arr[:limit]
		}
		return arr, nil
	case "JSONL":
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 64<<10), MaxPayloadBytes+1)
		for line := 1; sc.Scan() && !full(); line++ {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			v, err := asl.Decode(sc.Bytes())
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			items = append(items, v)
		}
		return items, sc.Err()
	case "CSV":
		cr := csv.NewReader(bytes.NewReader(body))
		cr.Comma = spec.CSVDelimiter
		cr.FieldsPerRecord = -1
		headers := spec.CSVHeaders
		if spec.CSVHeaderLocation != "GIVEN" {
			h, err := cr.Read()
			if err == io.EOF {
				return items, nil
			}
			if err != nil {
				return nil, err
			}
			headers = h
		}
		for !full() {
			row, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			if len(row) > len(headers) {
				line, _ := cr.FieldPos(0)
				return nil, fmt.Errorf("line %d has %d fields, the header %d", line, len(row), len(headers))
			}
			o := asl.NewObject(len(headers))
			for i, h := range headers {
				v := ""
				if i < len(row) {
					v = row[i]
				}
				o.Set(h, v)
			}
			items = append(items, o)
		}
		return items, nil
	}
	return nil, fmt.Errorf("input type %q is not supported", spec.InputType)
}
