package s3api

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("0", 64))
	f.Add("AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e")
	f.Add("")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err != nil {
			if err.Status != 400 && err.Status != 403 {
				t.Fatalf("status %d", err.Status)
			}
			return
		}
		if !validSignature(a.Signature) || a.AccessKeyID == "" || len(a.Date) != 8 || len(a.SignedHeaders) == 0 {
			t.Fatalf("accepted %q as %+v", h, a)
		}
		for i := 1; i < len(a.SignedHeaders); i++ {
			if a.SignedHeaders[i-1] >= a.SignedHeaders[i] {
				t.Fatalf("signed headers not sorted: %v", a.SignedHeaders)
			}
		}
		again := sigV4Algorithm + " Credential=" + a.AccessKeyID + "/" + a.scope() + ", SignedHeaders=" + strings.Join(a.SignedHeaders, ";") + ", Signature=" + a.Signature
		b, err := parseAuthorization(again)
		if err != nil || b.scope() != a.scope() || b.Signature != a.Signature {
			t.Fatalf("re-parse of %q: %+v, %v", again, b, err)
		}
	})
}

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

func FuzzChunked(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"), false)
	f.Add([]byte("0\r\n\r\n"), false)
	f.Add([]byte("ffffffffffffffff\r\nx"), false)
	f.Add([]byte(exampleChunkedBody(strings.Repeat("a", 1024))), true)
	f.Add([]byte("400;chunk-signature="+sig2+"\r\nabc"), true)
	v := exampleVerifier()
	ar, aerr := v.verify(exampleChunkedPut(""))
	if aerr != nil {
		f.Fatal(aerr)
	}
	f.Fuzz(func(t *testing.T, body []byte, signed bool) {
		out, trailers, err := drainChunked(body, signed, ar)
		if err != nil {
			return
		}
		if len(out) > len(body) || len(trailers) > maxTrailers {
			t.Fatalf("decoded %d bytes and %d trailers from %d", len(out), len(trailers), len(body))
		}
		if signed && !strings.Contains(string(body), "chunk-signature=") {
			t.Fatalf("signed body without signatures accepted")
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

// FuzzVerifyRequest feeds arbitrary query strings (presigned parameters)
// and Authorization headers to the verifier: it must refuse or accept
// without panicking, and never accept a request not signed with the key.
func FuzzVerifyRequest(f *testing.F) {
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404", "")
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=-1", "")
	f.Add("", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
	v := exampleVerifier()
	f.Fuzz(func(t *testing.T, rawQuery, authz string) {
		r := exampleGet()
		r.URL.RawQuery = rawQuery
		r.Header.Del("Authorization")
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		ar, err := v.verify(r)
		if err != nil {
			if err.Status != 400 && err.Status != 403 {
				t.Fatalf("status %d for %q %q", err.Status, rawQuery, authz)
			}
			return
		}
		if ar.auth.AccessKeyID != exampleKeyID || !validSignature(ar.seedSig) {
			t.Fatalf("accepted %q %q as %+v", rawQuery, authz, ar.auth)
		}
	})
}
