package s3api

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"testing"
	"unicode/utf8"
)

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=5-", "bytes=-3", "bytes=-0", "bytes=0-1,3-4", "bytes= 2 - 4 ", "bytes=9-2", "items=1-2", "bytes=99999999999999999999-"} {
		f.Add(s, int64(10))
	}
	f.Add("bytes=0-0", int64(0))
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			return
		}
		r, ok, err := parseRange(h, size)
		if err != nil {
			if ok || err.Status != 416 {
				t.Fatalf("parseRange(%q, %d) = %+v, %v, %v", h, size, r, ok, err)
			}
			return
		}
		if ok && (r.Start < 0 || r.Length <= 0 || r.Start+r.Length > size) {
			t.Fatalf("parseRange(%q, %d) = %+v outside the object", h, size, r)
		}
	})
}

func FuzzParseListQuery(f *testing.F) {
	for _, s := range []string{
		"list-type=2&prefix=photos%2F&delimiter=%2F&max-keys=5",
		"list-type=2&continuation-token=cGhvdG9zLzA0LmpwZw&start-after=a",
		"list-type=2&encoding-type=url&fetch-owner=true",
		"marker=abc&max-keys=-1", "list-type=3", "max-keys=99999999999999999999", "prefix=%FF",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		lq, aerr := parseListQuery(q)
		if aerr != nil {
			if aerr.Status != 400 {
				t.Fatalf("status %d", aerr.Status)
			}
			return
		}
		if lq.MaxKeys < 0 || lq.MaxKeys > 1000 || !utf8.ValidString(lq.after()) {
			t.Fatalf("parseListQuery(%q) = %+v", raw, lq)
		}
		if lq.ContinuationToken != "" {
			if _, ok := decodeToken(lq.ContinuationToken); !ok {
				t.Fatalf("undecodable token %q accepted", lq.ContinuationToken)
			}
		}
	})
}

func FuzzParseCompleteRequest(f *testing.F) {
	f.Add(`<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>"a54357aff0632cce46d942af68356b38"</ETag><PartNumber>1</PartNumber></Part><Part><ETag>"0c78aef83f66abc1fa1e8477f296d394"</ETag><PartNumber>2</PartNumber><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part></CompleteMultipartUpload>`)
	f.Add(`<CompleteMultipartUpload></CompleteMultipartUpload>`)
	f.Add(`<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>`)
	f.Add(`<Other/>`)
	f.Add(`<CompleteMultipartUpload><Part><PartNumber>1`)
	f.Fuzz(func(t *testing.T, body string) {
		parts, err := parseCompleteRequest([]byte(body))
		if err != nil {
			if err.Status != 400 {
				t.Fatalf("status %d", err.Status)
			}
			return
		}
		if len(parts) == 0 || len(parts) > 10000 {
			t.Fatalf("%d parts accepted", len(parts))
		}
		for _, p := range parts {
			if p.PartNumber < 1 || p.PartNumber > 10000 || p.ETag == "" {
				t.Fatalf("part %+v accepted", p)
			}
		}
	})
}

func FuzzParseDeleteRequest(f *testing.F) {
	f.Add(`<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a b</Key></Object><Object><Key>c+d</Key><VersionId>null</VersionId></Object><Quiet>true</Quiet></Delete>`)
	f.Add(`<Delete></Delete>`)
	f.Add(`<Delete><Object><Key>&lt;x&gt;</Key></Object>`)
	f.Add(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><Delete><Object><Key>&a;</Key></Object></Delete>`)
	f.Fuzz(func(t *testing.T, body string) {
		d, err := parseDeleteRequest([]byte(body))
		if err != nil {
			if err.Status != 400 {
				t.Fatalf("status %d", err.Status)
			}
			return
		}
		if len(d.Objects) == 0 || len(d.Objects) > 1000 {
			t.Fatalf("%d objects accepted", len(d.Objects))
		}
	})
}

func FuzzParseNotification(f *testing.F) {
	f.Add(`<NotificationConfiguration><QueueConfiguration><Id>q</Id><Queue>arn:aws:sqs:us-east-1:1:q</Queue><Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>prefix</Name><Value>in/</Value></FilterRule><FilterRule><Name>Suffix</Name><Value>.jpg</Value></FilterRule></S3Key></Filter></QueueConfiguration></NotificationConfiguration>`)
	f.Add(`<NotificationConfiguration/>`)
	f.Add(`<NotificationConfiguration><TopicConfiguration><Event>s3:Bogus</Event></TopicConfiguration></NotificationConfiguration>`)
	f.Fuzz(func(t *testing.T, body string) {
		rules, err := parseNotification("bkt", []byte(body))
		if err != nil {
			return
		}
		for _, r := range rules {
			if r.Bucket != "bkt" || r.Validate() != nil {
				t.Fatalf("rule %+v accepted", r)
			}
		}
	})
}

func FuzzPostPolicy(f *testing.F) {
	f.Add(`{"expiration":"2099-01-01T00:00:00Z","conditions":[{"bucket":"b"},["starts-with","$key","up/"],["content-length-range",1,100],["eq","$Content-Type","image/jpeg"]]}`, "up/x.jpg")
	f.Add(`{"expiration":"x","conditions":[["content-length-range","1","a"],[1,2,3],{"k":1}]}`, "")
	f.Add(`{"conditions":[["starts-with","key",""]]}`, "k")
	f.Fuzz(func(t *testing.T, policy, key string) {
		var p postPolicy
		if err := json.Unmarshal([]byte(policy), &p); err != nil {
			return
		}
		fields := map[string]string{"key": key, "content-type": "image/jpeg"}
		covered := map[string]bool{}
		for _, c := range p.Conditions {
			if err := checkCondition(c, func(n string) string { return fields[n] }, covered); err != nil && err.Status != 400 && err.Status != 403 {
				t.Fatalf("status %d", err.Status)
			}
		}
		lo, hi, ok := contentLengthRange(base64.StdEncoding.EncodeToString([]byte(policy)))
		_, _, _ = lo, hi, ok
	})
}
