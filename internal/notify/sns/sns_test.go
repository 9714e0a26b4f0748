package sns_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/imagerec/imagerec/internal/notify"
	"github.com/imagerec/imagerec/internal/notify/sns"
)

// fakeSNS answers Publish in SNS's query protocol and keeps the forms.
type fakeSNS struct {
	mu    sync.Mutex
	forms []url.Values
}

func (f *fakeSNS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("Action") != "Publish" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.forms = append(f.forms, r.PostForm)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write([]byte(`<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`))
}

func client(url string) *awssns.Client {
	return awssns.New(awssns.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
}

// attributes maps MessageAttributes.entry.N.Name to its StringValue.
func attributes(form url.Values) map[string]string {
	out := map[string]string{}
	for k, v := range form {
		if name, ok := strings.CutSuffix(k, ".Name"); ok && strings.HasPrefix(k, "MessageAttributes.entry.") {
			out[v[0]] = form.Get(name + ".Value.StringValue")
		}
	}
	return out
}

func TestNotifierPublishes(t *testing.T) {
	t.Parallel()
	fake := &fakeSNS{}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	n := sns.Notifier{Client: client(srv.URL), TopicARN: "arn:aws:sns:us-east-1:123456789012:default"}
	msg := notify.Message{
		DeliveryID: "imagerec-abc", Type: "imagerec.recognition.failed", Status: "FAILED",
		Bucket: "uploads", Key: "dir/ünïcode\nphoto.jpg", Error: "InvalidImageFormatException",
		Topic: "arn:aws:sns:us-east-1:123456789012:from-input",
	}
	if err := n.Notify(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	msg.Topic = ""
	if err := n.Notify(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	if len(fake.forms) != 2 {
		t.Fatalf("%d publishes, want 2", len(fake.forms))
	}
	for i, want := range []string{"arn:aws:sns:us-east-1:123456789012:from-input", "arn:aws:sns:us-east-1:123456789012:default"} {
		form := fake.forms[i]
		if got := form.Get("TopicArn"); got != want {
			t.Errorf("publish %d: topic %q, want %q", i, got, want)
		}
		var got notify.Message
		if err := json.Unmarshal([]byte(form.Get("Message")), &got); err != nil || got.Key != msg.Key || got.DeliveryID != msg.DeliveryID {
			t.Errorf("publish %d: message %q (%v)", i, form.Get("Message"), err)
		}
		if s := form.Get("Subject"); s != "imagerec failed: dir/?n?code?photo.jpg" {
			t.Errorf("publish %d: subject %q, want printable ASCII", i, s)
		}
		attrs := attributes(form)
		if attrs["Status"] != "FAILED" || attrs["Type"] != msg.Type || attrs["DeliveryId"] != "imagerec-abc" {
			t.Errorf("publish %d: attributes %v", i, attrs)
		}
	}
}

func TestNotifierRefuses(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error></ErrorResponse>`, http.StatusNotFound)
	}))
	t.Cleanup(srv.Close)
	if err := (sns.Notifier{Client: client(srv.URL)}).Notify(t.Context(), notify.Message{Type: "imagerec.recognition.succeeded"}); err == nil || !strings.Contains(err.Error(), "no topic ARN") {
		t.Errorf("no topic: err = %v", err)
	}
	err := (sns.Notifier{Client: client(srv.URL), TopicARN: "arn:aws:sns:us-east-1:1:gone"}).Notify(t.Context(), notify.Message{})
	if err == nil || !strings.Contains(err.Error(), "publish to arn:aws:sns:us-east-1:1:gone") {
		t.Errorf("SNS refusal: err = %v", err)
	}
}
