// Package lambda_test builds the Lambda functions in cmd/lambda/* as the
// deployment does (CGO_ENABLED=0, -tags lambda.norpc, static linux
// binaries) and drives each bootstrap through the Lambda Runtime API
// protocol, served by an httptest server, against loopback AWS endpoints:
// the project's own S3 endpoint (internal/s3api over memstore, SigV4
// checked), recorded Rekognition responses, and Step Functions and SNS
// servers speaking their wire protocols.
package lambda_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/objstore/memstore"
	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/s3api"
	"github.com/imagerec/imagerec/internal/vision"
)

var functions = []string{"trigger", "inspect", "recognize", "store", "notify"}

const (
	accessKey = "AKIDLAMBDATEST"
	secretKey = "lambda-test-secret"
)

// build compiles cmd/lambda/<fn> for goos/goarch the way it is deployed.
func build(t *testing.T, fn, goos, goarch, out string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, "./"+fn)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s for %s/%s: %v\n%s", fn, goos, goarch, err, b)
	}
}

// invocation is one event handed out by the runtime API and its outcome.
type invocation struct {
	id      string
	payload []byte
	kind    string // "response" or "error"
	body    []byte
	errType string // Lambda-Runtime-Function-Error-Type header
	sent    time.Time
	done    time.Time
}

// runtimeAPI serves the Lambda Runtime API (2018-06-01) for one function
// process: GET .../invocation/next hands out queued events, POST
// .../invocation/<id>/response|error records the outcome.
type runtimeAPI struct {
	t       *testing.T
	events  chan *invocation
	mu      sync.Mutex
	byID    map[string]*invocation
	results chan *invocation
	initErr chan string
}

func newRuntimeAPI(t *testing.T) (*runtimeAPI, string) {
	api := &runtimeAPI{t: t, events: make(chan *invocation, 8), byID: map[string]*invocation{}, results: make(chan *invocation, 8), initErr: make(chan string, 1)}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return api, strings.TrimPrefix(srv.URL, "http://")
}

func (a *runtimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix = "/2018-06-01/runtime/"
	path, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch {
	case r.Method == http.MethodGet && path == "invocation/next":
		select {
		case inv := <-a.events:
			a.mu.Lock()
			a.byID[inv.id] = inv
			a.mu.Unlock()
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", inv.id)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(30*time.Second).UnixMilli()))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:imagerec-test")
			w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
			w.Write(inv.payload)
		case <-r.Context().Done():
		}
	case r.Method == http.MethodPost && path == "init/error":
		b, _ := io.ReadAll(r.Body)
		a.initErr <- string(b)
		w.WriteHeader(http.StatusAccepted)
	case r.Method == http.MethodPost && strings.HasPrefix(path, "invocation/"):
		rest := strings.TrimPrefix(path, "invocation/")
		id, kind, _ := strings.Cut(rest, "/")
		a.mu.Lock()
		inv := a.byID[id]
		a.mu.Unlock()
		if inv == nil || (kind != "response" && kind != "error") {
			a.t.Errorf("unexpected runtime API call %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		inv.body, _ = io.ReadAll(r.Body)
		inv.kind = kind
		inv.errType = r.Header.Get("Lambda-Runtime-Function-Error-Type")
		inv.done = time.Now()
		w.WriteHeader(http.StatusAccepted)
		a.results <- inv
	default:
		a.t.Errorf("unexpected runtime API call %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusBadRequest)
	}
}

// process is a running function.
type process struct {
	cmd     *exec.Cmd
	api     *runtimeAPI
	started time.Time
	stderr  *bytes.Buffer
	stdout  *bytes.Buffer
}

func start(t *testing.T, bin string, env map[string]string, wrapper ...string) *process {
	t.Helper()
	api, addr := newRuntimeAPI(t)
	argv := append(append([]string{}, wrapper...), bin)
	cmd := exec.Command(argv[0], argv[1:]...)
	home := t.TempDir()
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"AWS_LAMBDA_RUNTIME_API=" + addr,
		"AWS_LAMBDA_FUNCTION_NAME=imagerec-test", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "AWS_LAMBDA_LOG_LEVEL=DEBUG",
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=" + accessKey, "AWS_SECRET_ACCESS_KEY=" + secretKey,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none"),
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{cmd: cmd, api: api, stderr: &bytes.Buffer{}, stdout: &bytes.Buffer{}}
	cmd.Stderr, cmd.Stdout = p.stderr, p.stdout
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("stderr of %s:\n%s", filepath.Base(filepath.Dir(bin)), p.stderr)
		}
	})
	return p
}

// stop ends the process and waits until its output is copied.
func (p *process) stop() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

// invoke sends one event and waits for its outcome.
func (p *process) invoke(t *testing.T, id string, payload []byte) *invocation {
	t.Helper()
	p.api.events <- &invocation{id: id, payload: payload}
	select {
	case inv := <-p.api.results:
		return inv
	case msg := <-p.api.initErr:
		t.Fatalf("init error: %s", msg)
	case <-time.After(60 * time.Second):
		t.Fatalf("no response to %s", id)
	}
	return nil
}

func (p *process) output() string { return p.stdout.String() }

// coldStart is process start to first response posted.
func (p *process) coldStart(first *invocation) time.Duration { return first.done.Sub(p.started) }

// session is one running function, driven directly through the Runtime
// API (process) or through the AWS Lambda Runtime Interface Emulator.
type session interface {
	invoke(t *testing.T, id string, payload []byte) *invocation
	stop()
	output() string
	coldStart(first *invocation) time.Duration
}

type launcher func(t *testing.T, bin string, env map[string]string) session

func runtimeAPILauncher(t *testing.T, bin string, env map[string]string) session {
	return start(t, bin, env)
}

// endpoints are the loopback AWS services the functions talk to.
type endpoints struct {
	store *memstore.Store
	s3    string
	rek   string
	sfn   string
	sns   string

	// bigText makes DetectText answer with thousands of words: a result
	// too large for the state payload (the claim-check path).
	bigText atomic.Bool

	mu        sync.Mutex
	started   []string
	published []url.Values
}

func newEndpoints(t *testing.T) *endpoints {
	t.Helper()
	e := &endpoints{store: memstore.New()}
	ctx := t.Context()
	for _, b := range []string{"uploads", "results"} {
		if err := e.store.CreateBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	s3srv := httptest.NewServer(s3api.New(e.store, s3api.Options{Credentials: []s3api.Credentials{{AccessKeyID: accessKey, SecretAccessKey: secretKey}}}))
	t.Cleanup(s3srv.Close)
	e.s3 = s3srv.URL

	dir := filepath.Join("..", "..", "testdata", "rekognition")
	rek := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "RekognitionService.")
		data, err := os.ReadFile(filepath.Join(dir, filepath.Base(op)+".json"))
		if op == "DetectText" && e.bigText.Load() {
			data = manyWords(3000)
		}
		if err != nil || !strings.Contains(r.Header.Get("Authorization"), "Credential="+accessKey+"/") {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write(data)
	}))
	t.Cleanup(rek.Close)
	e.rek = rek.URL

	sf := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ StateMachineArn, Name, Input string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Errorf("StartExecution body: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		e.mu.Lock()
		e.started = append(e.started, in.Input)
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		fmt.Fprintf(w, `{"executionArn":"%s:%s","startDate":1.7e9}`, strings.Replace(in.StateMachineArn, "stateMachine", "execution", 1), in.Name)
	}))
	t.Cleanup(sf.Close)
	e.sfn = sf.URL

	sn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("SNS body: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		e.mu.Lock()
		e.published = append(e.published, r.PostForm)
		e.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>7f3e1c2a-0000-4000-8000-000000000001</MessageId></PublishResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></PublishResponse>`)
	}))
	t.Cleanup(sn.Close)
	e.sns = sn.URL
	return e
}

func (e *endpoints) env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL_S3":          e.s3,
		"AWS_ENDPOINT_URL_REKOGNITION": e.rek,
		"AWS_ENDPOINT_URL_SFN":         e.sfn,
		"AWS_ENDPOINT_URL_SNS":         e.sns,
		"IMAGEREC_UPLOAD_BUCKET":       "uploads",
		"IMAGEREC_RESULT_BUCKET":       "results",
		"IMAGEREC_STATE_MACHINE_ARN":   "arn:aws:states:us-east-1:123456789012:stateMachine:imagerec-images",
		"IMAGEREC_TOPIC_ARN":           "arn:aws:sns:us-east-1:123456789012:imagerec",
		"IMAGEREC_ENGINE":              "rekognition",
	}
}

// s3Event is AWS's sample S3 put event for the object uploads/<key>, with
// the key URL-encoded as S3 sends it.
func s3Event(t *testing.T, key, etag string, size int64) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "internal", "awslambda", "testdata", "s3-put.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	rec := ev["Records"].([]any)[0].(map[string]any)
	s3 := rec["s3"].(map[string]any)
	s3["bucket"].(map[string]any)["name"] = "uploads"
	obj := s3["object"].(map[string]any)
	obj["key"] = strings.ReplaceAll(url.QueryEscape(key), "%2F", "/")
	obj["eTag"] = etag
	obj["size"] = size
	out, _ := json.Marshal(ev)
	return out
}

// TestFunctionsThroughRuntimeAPI runs one image through the five functions
// as Step Functions would call them, and measures each bootstrap's cold
// start (process start to first response) and size.
func TestFunctionsThroughRuntimeAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds five binaries")
	}
	bin := buildAll(t)
	runChain(t, runtime.GOARCH, bin, runtimeAPILauncher)

	// A face collection id Rekognition would refuse stops the function
	// at start, naming the variable, before any image is lost to it.
	p := start(t, filepath.Join(bin, "recognize", "bootstrap"), map[string]string{"IMAGEREC_ENGINE": "rekognition", "IMAGEREC_FACE_COLLECTION": "my/family"})
	err := p.cmd.Wait()
	if err == nil || !strings.Contains(p.stderr.String(), "IMAGEREC_FACE_COLLECTION") {
		t.Errorf("recognize with IMAGEREC_FACE_COLLECTION=my/family: %v\n%s", err, p.stderr)
	}
}

// buildAll builds the five functions for the host.
func buildAll(t *testing.T) string { return buildFor(t, runtime.GOARCH) }

// buildFor builds the five functions for linux/goarch into a temporary
// directory, once per test binary and architecture.
func buildFor(t *testing.T, goarch string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(goarch, &archBuild{})
	b := v.(*archBuild)
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "imagerec-lambda-"+goarch+"-")
		if b.err != nil {
			return
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, fn := range functions {
			wg.Go(func() {
				cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(b.dir, fn, "bootstrap"), "./"+fn)
				cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
				if out, err := cmd.CombinedOutput(); err != nil {
					mu.Lock()
					b.err = fmt.Errorf("build %s for %s: %w\n%s", fn, goarch, err, out)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.dir
}

type archBuild struct {
	once sync.Once
	dir  string
	err  error
}

var builds sync.Map // goarch -> *archBuild

func TestMain(m *testing.M) {
	code := m.Run()
	builds.Range(func(_, v any) bool {
		if d := v.(*archBuild).dir; d != "" {
			os.RemoveAll(d)
		}
		return true
	})
	os.Exit(code)
}

// runChain runs one photo through trigger, inspect, recognize, store and
// notify, each as a fresh (cold) function started by launch, then checks
// that a failure carries the local executor's error name.
func runChain(t *testing.T, arch, binDir string, launch launcher) {
	e := newEndpoints(t)
	ctx := t.Context()
	photo, err := os.ReadFile(filepath.Join("..", "..", "testdata", "images", "dog.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	key := "holiday photos/dog & co+1.jpg"
	info, err := e.store.PutObject(ctx, "uploads", key, bytes.NewReader(photo), objstore.PutOptions{ContentType: "image/jpeg"})
	if err != nil {
		t.Fatal(err)
	}
	source := pipeline.Source{Bucket: "uploads", Key: key, ETag: info.ETag, Size: info.Size}
	srcJSON, _ := json.Marshal(source)

	type step struct {
		fn      string
		payload []byte
		check   func(t *testing.T, inv *invocation)
	}
	var recognition json.RawMessage
	var stored pipeline.StoreOutput
	steps := []step{
		{"trigger", s3Event(t, key, info.ETag, info.Size), func(t *testing.T, inv *invocation) {
			e.mu.Lock()
			defer e.mu.Unlock()
			if len(e.started) != 1 {
				t.Fatalf("%d executions started", len(e.started))
			}
			var in pipeline.ExecutionInput
			if err := json.Unmarshal([]byte(e.started[0]), &in); err != nil {
				t.Fatal(err)
			}
			if in.Source.Key != key || in.Source.ETag != info.ETag {
				t.Errorf("execution Source = %+v, want key %q decoded once", in.Source, key)
			}
		}},
		{"inspect", []byte(`{"Source":` + string(srcJSON) + `}`), func(t *testing.T, inv *invocation) {
			var out pipeline.InspectOutput
			if err := json.Unmarshal(inv.body, &out); err != nil {
				t.Fatal(err)
			}
			if !out.Supported || out.Format != "jpeg" {
				t.Errorf("inspect = %s", inv.body)
			}
		}},
		{"recognize", []byte(`{"Source":` + string(srcJSON) + `,"ResultBucket":"results"}`), func(t *testing.T, inv *invocation) {
			var out pipeline.RecognizeOutput
			if err := json.Unmarshal(inv.body, &out); err != nil {
				t.Fatal(err)
			}
			var res vision.Result
			if err := json.Unmarshal(out.Result, &res); err != nil {
				t.Fatalf("recognize result: %v in %.400s", err, inv.body)
			}
			if len(res.Labels) == 0 || res.Labels[0].Name != "Car" || res.Engine == nil || res.Engine.Name != "amazon-rekognition" || len(res.FaceDetails) != 1 {
				t.Errorf("recognize = %.400s", inv.body)
			}
			recognition = inv.body
		}},
		{"store", nil, func(t *testing.T, inv *invocation) {
			if err := json.Unmarshal(inv.body, &stored); err != nil {
				t.Fatal(err)
			}
			body, _, err := e.store.GetObject(ctx, "results", key+".json")
			if err != nil {
				t.Fatalf("result document: %v", err)
			}
			defer body.Close()
			var doc struct{ Labels []struct{ Name string } }
			if err := json.NewDecoder(body).Decode(&doc); err != nil {
				t.Fatal(err)
			}
			if stored.Key != key+".json" || len(doc.Labels) == 0 {
				t.Errorf("store = %s, document labels %v", inv.body, doc.Labels)
			}
		}},
		{"notify", nil, func(t *testing.T, inv *invocation) {
			e.mu.Lock()
			defer e.mu.Unlock()
			if len(e.published) != 1 || e.published[0].Get("TopicArn") != "arn:aws:sns:us-east-1:123456789012:imagerec" || !strings.Contains(e.published[0].Get("Message"), `"Status":"SUCCEEDED"`) {
				t.Errorf("published %v", e.published)
			}
		}},
	}
	type figure struct {
		fn        string
		coldStart time.Duration
		size      int64
	}
	var figures []figure
	for i, st := range steps {
		switch st.fn {
		case "store":
			st.payload = []byte(`{"Source":` + string(srcJSON) + `,"ResultBucket":"results","Recognition":` + string(recognition) + `}`)
		case "notify":
			doc, _ := json.Marshal(stored)
			st.payload = []byte(`{"Status":"SUCCEEDED","Source":` + string(srcJSON) + `,"Document":` + string(doc) + `,"TopicArn":"arn:aws:sns:us-east-1:123456789012:imagerec","Execution":"arn:aws:states:us-east-1:123456789012:execution:imagerec-images:x"}`)
		}
		t.Run(st.fn, func(t *testing.T) {
			bin := filepath.Join(binDir, st.fn, "bootstrap")
			p := launch(t, bin, e.env())
			inv := p.invoke(t, fmt.Sprintf("req-%d", i), st.payload)
			if inv.kind != "response" {
				t.Fatalf("%s failed: %s %s", st.fn, inv.errType, inv.body)
			}
			st.check(t, inv)
			p.stop()
			if !strings.Contains(p.output(), `"CloudWatchMetrics"`) {
				t.Errorf("no EMF metrics line on stdout: %q", p.output())
			}
			fi, _ := os.Stat(bin)
			figures = append(figures, figure{st.fn, p.coldStart(inv), fi.Size()})
		})
	}
	for _, f := range figures {
		t.Logf("%-9s linux/%s bootstrap %5.1f MB, cold start to first response %v", f.fn, arch, float64(f.size)/1e6, f.coldStart.Round(time.Millisecond))
	}

	// A failure crosses the wire with the local executor's error name.
	t.Run("error name", func(t *testing.T) {
		p := launch(t, filepath.Join(binDir, "recognize", "bootstrap"), e.env())
		inv := p.invoke(t, "req-missing", []byte(`{"Source":{"Bucket":"uploads","Key":"no such.jpg"},"ResultBucket":"results"}`))
		var body struct{ ErrorType, ErrorMessage string }
		if err := json.Unmarshal(inv.body, &body); err != nil {
			t.Fatal(err)
		}
		if inv.kind != "error" || body.ErrorType != pipeline.ErrNameInvalidS3Object {
			t.Errorf("got %s %s, want an error of type %s", inv.kind, inv.body, pipeline.ErrNameInvalidS3Object)
		}
		// Warm invocation on the same process.
		inv = p.invoke(t, "req-bad-input", []byte(`{"Source":"nope"}`))
		if err := json.Unmarshal(inv.body, &body); err != nil {
			t.Fatal(err)
		}
		if inv.kind != "error" || body.ErrorType != pipeline.ErrNameInvalidInput {
			t.Errorf("got %s %s, want an error of type %s", inv.kind, inv.body, pipeline.ErrNameInvalidInput)
		}
	})

	// A result over the state payload limit goes to the result bucket and
	// only a reference travels (claim check); StoreResults then moves it.
	t.Run("claim check", func(t *testing.T) {
		e.bigText.Store(true)
		defer e.bigText.Store(false)
		rec := launch(t, filepath.Join(binDir, "recognize", "bootstrap"), e.env())
		inv := rec.invoke(t, "req-big", []byte(`{"Source":`+string(srcJSON)+`,"ResultBucket":"results"}`))
		var out pipeline.RecognizeOutput
		if err := json.Unmarshal(inv.body, &out); err != nil || inv.kind != "response" || out.Result != nil || out.ResultRef == nil {
			t.Fatalf("recognize of a large result = %s %.300s", inv.kind, inv.body)
		}
		if len(inv.body) > 1024 {
			t.Errorf("state output is %d bytes, want a small reference", len(inv.body))
		}
		if _, err := e.store.HeadObject(ctx, out.ResultRef.Bucket, out.ResultRef.Key); err != nil {
			t.Fatalf("pending result %s: %v", out.ResultRef.Key, err)
		}
		st := launch(t, filepath.Join(binDir, "store", "bootstrap"), e.env())
		inv = st.invoke(t, "req-big-store", []byte(`{"Source":`+string(srcJSON)+`,"ResultBucket":"results","Recognition":`+string(inv.body)+`}`))
		if inv.kind != "response" {
			t.Fatalf("store: %s", inv.body)
		}
		body, info, err := e.store.GetObject(ctx, "results", key+".json")
		if err != nil {
			t.Fatal(err)
		}
		defer body.Close()
		var doc struct{ TextDetections []json.RawMessage }
		if err := json.NewDecoder(body).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.TextDetections) != 3000 || info.Size < 256<<10 {
			t.Errorf("result document: %d text detections, %d bytes", len(doc.TextDetections), info.Size)
		}
		if _, err := e.store.HeadObject(ctx, out.ResultRef.Bucket, out.ResultRef.Key); err == nil {
			t.Errorf("pending result %s left behind", out.ResultRef.Key)
		}
	})

	// With a face collection the same task searches and indexes the
	// faces with Rekognition's SearchFacesByImage and IndexFaces.
	t.Run("face search", func(t *testing.T) {
		env := e.env()
		env["IMAGEREC_FACE_COLLECTION"], env["IMAGEREC_INDEX_FACES"] = "myphotos", "true"
		rec := launch(t, filepath.Join(binDir, "recognize", "bootstrap"), env)
		inv := rec.invoke(t, "req-faces", []byte(`{"Source":`+string(srcJSON)+`,"ResultBucket":"results"}`))
		var out struct{ Result vision.Result }
		if err := json.Unmarshal(inv.body, &out); err != nil || inv.kind != "response" {
			t.Fatalf("recognize with a face collection = %s %.400s", inv.kind, inv.body)
		}
		fs := out.Result.FaceSearch
		if fs == nil || fs.CollectionID != "myphotos" || len(fs.Faces) != len(out.Result.FaceDetails) || len(fs.Faces[0].FaceMatches) != 2 ||
			len(fs.IndexedFaces) != 1 || fs.IndexedFaces[0].FaceID != "ff43d742-0c13-5d16-a3e8-03d3f58e980b" {
			t.Errorf("FaceSearch = %+v", fs)
		}
	})
}

// manyWords is a DetectText response with n WORD detections.
func manyWords(n int) []byte {
	type pt struct{ X, Y float64 }
	type det struct {
		DetectedText string
		Type         string
		ID           int `json:"Id"`
		ParentID     int `json:"ParentId"`
		Confidence   float64
		Geometry     struct {
			BoundingBox struct{ Width, Height, Left, Top float64 }
			Polygon     []pt
		}
	}
	var resp struct {
		TextDetections   []det
		TextModelVersion string
	}
	resp.TextModelVersion = "3.0"
	for i := range n {
		d := det{DetectedText: fmt.Sprintf("word%04d", i), Type: "WORD", ID: i + 1, Confidence: 99.1}
		x, y := float64(i%50)/50, float64(i/50)/60
		d.Geometry.BoundingBox.Width, d.Geometry.BoundingBox.Height, d.Geometry.BoundingBox.Left, d.Geometry.BoundingBox.Top = 0.018, 0.015, x, y
		d.Geometry.Polygon = []pt{{x, y}, {x + 0.018, y}, {x + 0.018, y + 0.015}, {x, y + 0.015}}
		resp.TextDetections = append(resp.TextDetections, d)
	}
	b, _ := json.Marshal(resp)
	return b
}

// TestCrossBuild builds every function for linux/arm64 (the template's
// architecture) and linux/amd64, zips each bootstrap as Lambda takes it,
// and reports the sizes. With IMAGEREC_LAMBDA_OUT set, the zips are written
// there as <dir>/<arch>/<function>.zip (make lambda uses build/lambda).
func TestCrossBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ten binaries")
	}
	out := os.Getenv("IMAGEREC_LAMBDA_OUT")
	if out == "" {
		out = t.TempDir()
	}
	for _, arch := range []string{"arm64", "amd64"} {
		for _, fn := range functions {
			bin := filepath.Join(t.TempDir(), "bootstrap")
			build(t, fn, "linux", arch, bin)
			elf, err := os.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			wantMachine := map[string]uint16{"arm64": 183, "amd64": 62}[arch] // EM_AARCH64, EM_X86_64
			if len(elf) < 20 || string(elf[1:4]) != "ELF" || uint16(elf[18])|uint16(elf[19])<<8 != wantMachine {
				t.Errorf("%s/%s: not a linux %s ELF binary", arch, fn, arch)
			}
			zipPath := filepath.Join(out, arch, fn+".zip")
			if err := writeZip(zipPath, elf); err != nil {
				t.Fatal(err)
			}
			zi, _ := os.Stat(zipPath)
			t.Logf("%-9s linux/%s bootstrap %5.1f MB, zip %4.1f MB", fn, arch, float64(len(elf))/1e6, float64(zi.Size())/1e6)
		}
	}
}

// writeZip stores bootstrap, executable, as Lambda's provided runtimes
// expect at the root of the archive.
func writeZip(path string, bootstrap []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	if _, err := w.Write(bootstrap); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
