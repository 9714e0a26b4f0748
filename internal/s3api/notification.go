package s3api

import (
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/imagerec/imagerec/internal/s3event"
)

// notificationConfiguration is S3's NotificationConfiguration document. The
// destination ARNs are kept for GetBucketNotificationConfiguration; every
// record goes to Options.Notify whatever the destination.
type notificationConfiguration struct {
	XMLName xml.Name             `xml:"NotificationConfiguration"`
	NS      string               `xml:"xmlns,attr,omitempty"`
	Topics  []notificationTarget `xml:"TopicConfiguration"`
	Queues  []notificationTarget `xml:"QueueConfiguration"`
	Lambdas []notificationTarget `xml:"CloudFunctionConfiguration"`
}

type notificationTarget struct {
	ID       string   `xml:"Id,omitempty"`
	Topic    string   `xml:"Topic,omitempty"`
	Queue    string   `xml:"Queue,omitempty"`
	Function string   `xml:"CloudFunction,omitempty"`
	Events   []string `xml:"Event"`
	Filter   *struct {
		Rules []filterRule `xml:"S3Key>FilterRule"`
	} `xml:"Filter,omitempty"`
}

type filterRule struct {
	Name  string `xml:"Name"`
	Value string `xml:"Value"`
}

// parseNotification turns a NotificationConfiguration body into rules.
func parseNotification(bucket string, body []byte) (s3event.Rules, *APIError) {
	var nc notificationConfiguration
	if err := xml.Unmarshal(body, &nc); err != nil {
		return nil, ErrMalformedXML
	}
	rules := s3event.Rules{}
	for _, group := range [][]notificationTarget{nc.Topics, nc.Queues, nc.Lambdas} {
		for _, t := range group {
			r := s3event.Rule{ID: t.ID, Bucket: bucket, Events: t.Events}
			if len(t.Events) == 0 {
				return nil, ErrInvalidArgument.withMessage("A notification configuration needs at least one Event.")
			}
			if t.Filter != nil {
				for _, fr := range t.Filter.Rules {
					switch strings.ToLower(fr.Name) {
					case "prefix":
						r.Prefix = fr.Value
					case "suffix":
						r.Suffix = fr.Value
					default:
						return nil, ErrInvalidArgument.withMessage("filter rule name must be either prefix or suffix")
					}
				}
			}
			if err := r.Validate(); err != nil {
				return nil, ErrInvalidArgument.withMessage("%v", err)
			}
			rules = append(rules, r)
		}
	}
	return rules, nil
}

func (h *Handler) putNotification(req *request) error {
	if _, err := h.store.HeadBucket(req.r.Context(), req.bucket); err != nil {
		return err
	}
	data, err := readXMLBody(req, 1<<20)
	if err != nil {
		return err
	}
	rules, aerr := parseNotification(req.bucket, data)
	if aerr != nil {
		return aerr
	}
	h.mu.Lock()
	h.rules[req.bucket] = rules
	h.mu.Unlock()
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) getNotification(req *request) error {
	if _, err := h.store.HeadBucket(req.r.Context(), req.bucket); err != nil {
		return err
	}
	nc := notificationConfiguration{NS: xmlNS}
	for _, r := range h.rulesFor(req.bucket) {
		if r.Bucket != req.bucket {
			continue
		}
		t := notificationTarget{ID: r.ID, Queue: "arn:imagerec:local:" + r.ID, Events: r.Events}
		if len(t.Events) == 0 {
			t.Events = []string{"s3:ObjectCreated:*"}
		}
		if r.Prefix != "" || r.Suffix != "" {
			t.Filter = &struct {
				Rules []filterRule `xml:"S3Key>FilterRule"`
			}{}
			if r.Prefix != "" {
				t.Filter.Rules = append(t.Filter.Rules, filterRule{Name: "prefix", Value: r.Prefix})
			}
			if r.Suffix != "" {
				t.Filter.Rules = append(t.Filter.Rules, filterRule{Name: "suffix", Value: r.Suffix})
			}
		}
		nc.Queues = append(nc.Queues, t)
	}
	h.writeXML(req, http.StatusOK, nc)
	return nil
}
