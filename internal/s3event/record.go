package s3event

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Event names as they appear in a record's eventName. The notification
// configuration uses the same names with an "s3:" prefix.
const (
	ObjectCreatedPut                     = "ObjectCreated:Put"
	ObjectCreatedPost                    = "ObjectCreated:Post"
	ObjectCreatedCopy                    = "ObjectCreated:Copy"
	ObjectCreatedCompleteMultipartUpload = "ObjectCreated:CompleteMultipartUpload"
	ObjectRemovedDelete                  = "ObjectRemoved:Delete"
)

// Fixed values of the records this package builds.
const (
	EventVersion  = "2.1"
	EventSource   = "aws:s3"
	SchemaVersion = "1.0"
	// TimeFormat is the layout of eventTime: RFC 3339, milliseconds, UTC.
	TimeFormat = "2006-01-02T15:04:05.000Z"
)

// Event is the message S3 sends: one or more records.
type Event struct {
	Records []Record `json:"Records"`
}

// Record is one S3 event notification record.
type Record struct {
	EventVersion      string            `json:"eventVersion"`
	EventSource       string            `json:"eventSource"`
	AWSRegion         string            `json:"awsRegion"`
	EventTime         time.Time         `json:"eventTime"`
	EventName         string            `json:"eventName"`
	UserIdentity      Identity          `json:"userIdentity"`
	RequestParameters RequestParameters `json:"requestParameters"`
	ResponseElements  ResponseElements  `json:"responseElements"`
	S3                Entity            `json:"s3"`
	// GlacierEventData and other optional blocks are kept verbatim.
	GlacierEventData json.RawMessage `json:"glacierEventData,omitempty"`
}

// Identity is a principal.
type Identity struct {
	PrincipalID string `json:"principalId"`
}

// RequestParameters of the request that caused the event.
type RequestParameters struct {
	SourceIPAddress string `json:"sourceIPAddress"`
}

// ResponseElements identify the request that caused the event.
type ResponseElements struct {
	RequestID string `json:"x-amz-request-id"`
	ID2       string `json:"x-amz-id-2"`
}

// Entity is the "s3" block.
type Entity struct {
	SchemaVersion   string `json:"s3SchemaVersion"`
	ConfigurationID string `json:"configurationId"`
	Bucket          Bucket `json:"bucket"`
	Object          Object `json:"object"`
}

// Bucket names the bucket.
type Bucket struct {
	Name          string   `json:"name"`
	OwnerIdentity Identity `json:"ownerIdentity"`
	ARN           string   `json:"arn"`
}

// Object describes the object. Key is URL-encoded (see EncodeKey).
type Object struct {
	Key       string `json:"key"`
	Size      int64  `json:"size"`
	ETag      string `json:"eTag,omitempty"`
	VersionID string `json:"versionId,omitempty"`
	Sequencer string `json:"sequencer"`
}

// MarshalJSON writes eventTime with millisecond precision in UTC, as S3
// does.
func (r Record) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		EventVersion      string            `json:"eventVersion"`
		EventSource       string            `json:"eventSource"`
		AWSRegion         string            `json:"awsRegion"`
		EventTime         string            `json:"eventTime"`
		EventName         string            `json:"eventName"`
		UserIdentity      Identity          `json:"userIdentity"`
		RequestParameters RequestParameters `json:"requestParameters"`
		ResponseElements  ResponseElements  `json:"responseElements"`
		S3                Entity            `json:"s3"`
		GlacierEventData  json.RawMessage   `json:"glacierEventData,omitempty"`
	}{r.EventVersion, r.EventSource, r.AWSRegion, r.EventTime.UTC().Format(TimeFormat), r.EventName,
		r.UserIdentity, r.RequestParameters, r.ResponseElements, r.S3, r.GlacierEventData})
}

// DecodedKey returns the object key, URL-decoded with url.QueryUnescape
// semantics ('+' is a space).
func (r Record) DecodedKey() (string, error) {
	k, err := url.QueryUnescape(r.S3.Object.Key)
	if err != nil {
		return "", fmt.Errorf("decode key %q: %w", r.S3.Object.Key, err)
	}
	return k, nil
}

// BucketARN returns the ARN of a bucket: arn:aws:s3:::NAME.
func BucketARN(bucket string) string { return "arn:aws:s3:::" + bucket }

// EncodeKey URL-encodes an object key the way S3 does in event records:
// A-Z a-z 0-9 . - _ * / are kept, space becomes '+', every other byte %XX.
func EncodeKey(key string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(key) + len(key)/2)
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '.', c == '-', c == '_', c == '*', c == '/':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// Parse decodes an S3 event message and checks that every record is an S3
// record with a decodable key.
func Parse(data []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(data, &ev); err != nil {
		return Event{}, fmt.Errorf("parse s3 event: %w", err)
	}
	for i, r := range ev.Records {
		if r.EventSource != EventSource {
			return Event{}, fmt.Errorf("parse s3 event: record %d: eventSource %q, want %q", i, r.EventSource, EventSource)
		}
		if r.S3.Bucket.Name == "" {
			return Event{}, fmt.Errorf("parse s3 event: record %d: no bucket name", i)
		}
		if _, err := r.DecodedKey(); err != nil {
			return Event{}, fmt.Errorf("parse s3 event: record %d: %w", i, err)
		}
	}
	return ev, nil
}

// ObjectParams are the variable parts of an object event record.
type ObjectParams struct {
	EventName string // e.g. ObjectCreatedPut
	Region    string
	Time      time.Time
	// PrincipalID of the requester and of the bucket owner.
	PrincipalID     string
	SourceIP        string
	RequestID       string
	HostID          string
	ConfigurationID string
	Bucket          string
	Key             string // not encoded
	Size            int64
	ETag            string // without quotes
	VersionID       string
	Sequencer       string
}

// NewRecord builds a record with the fixed fields filled in and the key
// encoded.
func NewRecord(p ObjectParams) Record {
	return Record{
		EventVersion:      EventVersion,
		EventSource:       EventSource,
		AWSRegion:         p.Region,
		EventTime:         p.Time.UTC().Truncate(time.Millisecond),
		EventName:         p.EventName,
		UserIdentity:      Identity{PrincipalID: p.PrincipalID},
		RequestParameters: RequestParameters{SourceIPAddress: p.SourceIP},
		ResponseElements:  ResponseElements{RequestID: p.RequestID, ID2: p.HostID},
		S3: Entity{
			SchemaVersion:   SchemaVersion,
			ConfigurationID: p.ConfigurationID,
			Bucket:          Bucket{Name: p.Bucket, OwnerIdentity: Identity{PrincipalID: p.PrincipalID}, ARN: BucketARN(p.Bucket)},
			Object: Object{
				Key:       EncodeKey(p.Key),
				Size:      p.Size,
				ETag:      strings.Trim(p.ETag, `"`),
				VersionID: p.VersionID,
				Sequencer: p.Sequencer,
			},
		},
	}
}
