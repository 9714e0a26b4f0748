package s3event_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
	"github.com/imagerec/imagerec/internal/goldentest"
	"github.com/imagerec/imagerec/internal/s3event"
)

// minioFixture is MinIO's message for the object of sampleRecord.
const minioFixture = "../../testdata/events/minio-nats-put.json"

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldentest.Compare(t, filepath.Join("testdata", name), got)
}

func sampleRecord() s3event.Record {
	return s3event.NewRecord(s3event.ObjectParams{
		EventName:       s3event.ObjectCreatedPut,
		Region:          "us-east-1",
		Time:            time.Date(2026, 11, 28, 13, 45, 6, 789123456, time.UTC),
		PrincipalID:     "AKIAIMAGEREC",
		SourceIP:        "127.0.0.1",
		RequestID:       "C3D13FE58DE4C810",
		HostID:          "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
		ConfigurationID: "imagerec-upload",
		Bucket:          "image-upload-bucket",
		Key:             "holiday photos/Café +1=2.jpg",
		Size:            1024,
		ETag:            `"d41d8cd98f00b204e9800998ecf8427e"`,
		Sequencer:       "0055AED6DCD90281E5",
	})
}

func TestRecordGolden(t *testing.T) {
	got, err := json.MarshalIndent(s3event.Event{Records: []s3event.Record{sampleRecord()}}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "put-event.golden.json", append(got, '\n'))
}

// Our records decode with aws-lambda-go's types, which Lambda handlers use.
func TestRecordDecodesWithLambdaEvents(t *testing.T) {
	raw, err := json.Marshal(s3event.Event{Records: []s3event.Record{sampleRecord()}})
	if err != nil {
		t.Fatal(err)
	}
	var ev events.S3Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	r := ev.Records[0]
	got := []any{r.EventVersion, r.EventSource, r.EventName, r.EventTime.Format(time.RFC3339Nano), r.S3.Bucket.Arn,
		r.S3.Object.Key, r.S3.Object.URLDecodedKey, r.S3.Object.Size, r.S3.Object.ETag, r.S3.Object.Sequencer,
		r.ResponseElements["x-amz-request-id"], r.RequestParameters.SourceIPAddress}
	want := []any{"2.1", "aws:s3", "ObjectCreated:Put", "2026-11-28T13:45:06.789Z", "arn:aws:s3:::image-upload-bucket",
		"holiday+photos/Caf%C3%A9+%2B1%3D2.jpg", "holiday photos/Café +1=2.jpg", int64(1024), "d41d8cd98f00b204e9800998ecf8427e",
		"0055AED6DCD90281E5", "C3D13FE58DE4C810", "127.0.0.1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// AWS's sample event (aws-lambda-go events/testdata/s3-event.json) parses.
func TestParseAWSSample(t *testing.T) {
	raw, err := os.ReadFile("testdata/aws-lambda-go-s3-event.json")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := s3event.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	r := ev.Records[0]
	key, err := r.DecodedKey()
	if err != nil {
		t.Fatal(err)
	}
	got := []any{len(ev.Records), r.EventName, r.EventTime, r.S3.Bucket.Name, r.S3.Object.Key, key, r.S3.Object.Size,
		r.S3.Object.ETag, r.S3.Object.VersionID, r.ResponseElements.RequestID, r.UserIdentity.PrincipalID, r.S3.ConfigurationID}
	want := []any{1, "ObjectCreated:Put", time.Date(1970, 1, 1, 0, 0, 0, 123000000, time.UTC), "sourcebucket", "Happy%20Face.jpg",
		"Happy Face.jpg", int64(1024), "d41d8cd98f00b204e9800998ecf8427e", "version", "C3D13FE58DE4C810", "EXAMPLE", "testConfigRule"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Marshal and parse again: same record.
	again, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	ev2, err := s3event.Parse(again)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ev, ev2); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	tests := map[string]string{
		"not json":     `{`,
		"wrong source": `{"Records":[{"eventSource":"aws:sqs","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}`,
		"no bucket":    `{"Records":[{"eventSource":"aws:s3","s3":{"object":{"key":"k"}}}]}`,
		"bad key":      `{"Records":[{"eventSource":"aws:s3","s3":{"bucket":{"name":"b"},"object":{"key":"%zz"}}}]}`,
		"bad time":     `{"Records":[{"eventSource":"aws:s3","eventTime":"yesterday","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}`,
		"records type": `{"Records":{}}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := s3event.Parse([]byte(in)); err == nil {
				t.Errorf("Parse(%s) succeeded", in)
			}
		})
	}
}

func TestEncodeKey(t *testing.T) {
	tests := []struct{ key, want string }{
		{"red flower.jpg", "red+flower.jpg"},
		{"a+b", "a%2Bb"},
		{"dir/sub/x.png", "dir/sub/x.png"},
		{"dt=2018-05-04/_SUCCESS", "dt%3D2018-05-04/_SUCCESS"},
		{"10:47:07.log", "10%3A47%3A07.log"},
		{"日本", "%E6%97%A5%E6%9C%AC"},
		{"100%", "100%25"},
		{"a~b*c(1)", "a%7Eb*c%281%29"},
		{"../x", "../x"},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			t.Parallel()
			got := s3event.EncodeKey(tc.key)
			if got != tc.want {
				t.Errorf("EncodeKey(%q) = %q, want %q", tc.key, got, tc.want)
			}
			r := s3event.Record{S3: s3event.Entity{Object: s3event.Object{Key: got}}}
			if dec, err := r.DecodedKey(); err != nil || dec != tc.key {
				t.Errorf("DecodedKey(%q) = %q, %v", got, dec, err)
			}
		})
	}
}

func TestRules(t *testing.T) {
	rules := s3event.Rules{
		{ID: "all", Bucket: "up"},
		{ID: "jpg", Bucket: "up", Prefix: "img/", Suffix: ".jpg", Events: []string{"s3:ObjectCreated:Put"}},
		{ID: "copy", Bucket: "up", Events: []string{"ObjectCreated:Copy", "s3:ObjectRemoved:*"}},
	}
	tests := []struct {
		bucket, key, event string
		want               []string
	}{
		{"up", "img/a.jpg", "ObjectCreated:Put", []string{"all", "jpg"}},
		{"up", "img/a.png", "ObjectCreated:Put", []string{"all"}},
		{"up", "a.jpg", "ObjectCreated:CompleteMultipartUpload", []string{"all"}},
		{"up", "img/a.jpg", "ObjectCreated:Copy", []string{"all", "copy"}},
		{"up", "x", "ObjectRemoved:Delete", []string{"copy"}},
		{"other", "img/a.jpg", "ObjectCreated:Put", nil},
	}
	for _, tc := range tests {
		t.Run(tc.bucket+"/"+tc.key+"/"+tc.event, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, r := range rules.Match(tc.bucket, tc.key, tc.event) {
				got = append(got, r.ID)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if err := (s3event.Rule{ID: "x", Bucket: "b", Events: []string{"s3:ObjectCreated:Bogus"}}).Validate(); err == nil {
		t.Error("Validate accepted an unknown event type")
	}
	if err := (s3event.Rule{ID: "x"}).Validate(); err == nil {
		t.Error("Validate accepted a rule without bucket")
	}
}

func TestSequencer(t *testing.T) {
	var s s3event.Sequencer
	now := time.Now()
	prev := ""
	for i := range 1000 {
		v := s.Next(now) // same instant: still strictly increasing
		if v <= prev || len(v) != 18 {
			t.Fatalf("call %d: %q after %q", i, v, prev)
		}
		prev = v
	}
	if v := s.Next(now.Add(-time.Hour)); v <= prev {
		t.Errorf("clock going back: %q after %q", v, prev)
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/aws-lambda-go-s3-event.json", "testdata/put-event.golden.json"} {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := s3event.Parse(data)
		if err != nil {
			return
		}
		out, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("marshal parsed event: %v", err)
		}
		ev2, err := s3event.Parse(out)
		if err != nil {
			t.Fatalf("reparse %s: %v", out, err)
		}
		for i := range ev.Records {
			k1, _ := ev.Records[i].DecodedKey()
			k2, _ := ev2.Records[i].DecodedKey()
			if k1 != k2 || ev.Records[i].S3.Object.Size != ev2.Records[i].S3.Object.Size {
				t.Errorf("record %d changed in round trip", i)
			}
		}
		if !bytes.Contains(out, []byte(`"Records"`)) {
			t.Errorf("no Records in %s", out)
		}
	})
}

func FuzzEncodeKey(f *testing.F) {
	for _, k := range []string{"red flower.jpg", "a+b", "日本/語", "100%", "\xff\x00", "../../x"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		enc := s3event.EncodeKey(key)
		r := s3event.Record{S3: s3event.Entity{Object: s3event.Object{Key: enc}}}
		dec, err := r.DecodedKey()
		if err != nil || dec != key {
			t.Errorf("DecodedKey(EncodeKey(%q)) = %q, %v", key, dec, err)
		}
		for i := 0; i < len(enc); i++ {
			if c := enc[i]; c < 0x21 || c > 0x7e {
				t.Fatalf("EncodeKey(%q) = %q has byte %#x", key, enc, c)
			}
		}
	})
}

// MinIO's message and the record imagerec queues for the same object
// decode to the same record, but for what identifies the sender.
func TestParseMessageMinIOAndAWS(t *testing.T) {
	minio, err := os.ReadFile(minioFixture)
	if err != nil {
		t.Fatal(err)
	}
	aws, err := json.Marshal(sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	event, err := os.ReadFile("testdata/put-event.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var got [][]s3event.Record
	for _, msg := range [][]byte{minio, aws, event} {
		recs, err := s3event.ParseMessage(msg)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 {
			t.Fatalf("%d records", len(recs))
		}
		got = append(got, recs)
	}
	m, a := got[0][0], got[1][0]
	if m.EventName != s3event.ObjectCreatedPut || m.EventSource != "minio:s3" {
		t.Errorf("MinIO record: eventName %q, eventSource %q", m.EventName, m.EventSource)
	}
	mk, _ := m.DecodedKey()
	ak, _ := a.DecodedKey()
	if mk != "holiday photos/Café +1=2.jpg" || mk != ak {
		t.Errorf("keys %q (MinIO) and %q (AWS)", mk, ak)
	}
	same := func(r s3event.Record) any {
		return []any{r.EventName, r.EventTime.UTC(), r.S3.Bucket.Name, r.S3.Object.Size, r.S3.Object.ETag, r.S3.Object.VersionID, r.S3.Object.Sequencer}
	}
	if diff := cmp.Diff(same(a), same(m)); diff != "" {
		t.Errorf("MinIO and AWS records differ (-aws +minio):\n%s", diff)
	}
	if diff := cmp.Diff(got[1], got[2]); diff != "" {
		t.Errorf("a record and an event of it differ:\n%s", diff)
	}
}

func TestParseMessageErrors(t *testing.T) {
	tests := []struct{ name, msg, want string }{
		{"not json", `{`, "parse s3 event message"},
		{"empty object", `{}`, "no S3 event records"},
		{"empty records", `{"Records":[]}`, "no S3 event records"},
		{"s3 test event", `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-01-01T00:00:00.000Z","Bucket":"b"}`, "no S3 event records"},
		{"records not a list", `{"Records":{}}`, "Records:"},
		{"other source", `{"eventSource":"aws:sqs","eventName":"x","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}`, `eventSource "aws:sqs"`},
		{"no event name", `{"Records":[{"eventSource":"minio:s3","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}`, "no eventName"},
		{"no bucket", `{"Records":[{"eventSource":"minio:s3","eventName":"s3:ObjectCreated:Put","s3":{"object":{"key":"k"}}}]}`, "no bucket name"},
		{"bad key", `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"%zz"}}}]}`, "decode key"},
		{"bad time", `{"eventSource":"aws:s3","eventTime":"yesterday","eventName":"x","s3":{"bucket":{"name":"b"}}}`, "parse s3 event message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s3event.ParseMessage([]byte(tc.msg))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzParseMessage(f *testing.F) {
	for _, p := range []string{"testdata/aws-lambda-go-s3-event.json", "testdata/put-event.golden.json", minioFixture} {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := s3event.ParseMessage(data)
		if err != nil {
			return
		}
		if len(recs) == 0 {
			t.Fatal("no records and no error")
		}
		for _, r := range recs {
			out, err := json.Marshal(r)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			again, err := s3event.ParseMessage(out)
			if err != nil {
				t.Fatalf("reparse %s: %v", out, err)
			}
			k1, _ := r.DecodedKey()
			k2, _ := again[0].DecodedKey()
			if k1 != k2 || again[0].EventName != r.EventName || strings.HasPrefix(r.EventName, "s3:") {
				t.Errorf("record changed in round trip: %q %q", k1, k2)
			}
		}
	})
}
