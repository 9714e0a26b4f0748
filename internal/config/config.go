// Package config holds the settings of `imagerec serve`: every field has a
// documented default, Load reads the environment (as a function, so tests
// never touch the process environment) and command-line flags, and Validate
// reports every problem at once.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/imagerec/imagerec/internal/cachedir"
	"github.com/imagerec/imagerec/internal/facecollection"
	"github.com/imagerec/imagerec/internal/membudget"
	"github.com/imagerec/imagerec/internal/vision"
)

// Documented local credentials, used when the environment sets none.
const (
	DefaultAccessKeyID     = "imagerec"
	DefaultSecretAccessKey = "imagerec-local-secret" //nolint:gosec // documented default of a loopback server, not a secret
)

// SecretSourceDefault is Config.SecretSource when no secret was set.
const SecretSourceDefault = "the documented default (README; set IMAGEREC_SECRET_ACCESS_KEY to change it)"

// Config is the configuration of the local server.
type Config struct {
	// Listen is the S3 (and Rekognition) endpoint address. Flag --listen,
	// env IMAGEREC_LISTEN. Default 127.0.0.1:9000.
	Listen string
	// DataDir holds objects, the queue and executions. Flag --data, env
	// IMAGEREC_DATA. Default ./data.
	DataDir string
	// CacheDir holds the ONNX runtime and models (see `imagerec models`).
	// Flag --cache, env IMAGEREC_CACHE. Default cachedir.Root: <user cache
	// dir>/imagerec.
	CacheDir string
	// AccessKeyID and SecretAccessKey are the credentials the endpoint
	// accepts (SigV4). Env IMAGEREC_ACCESS_KEY_ID, IMAGEREC_SECRET_ACCESS_KEY.
	// Defaults DefaultAccessKeyID, DefaultSecretAccessKey.
	AccessKeyID     string
	SecretAccessKey string
	// SecretSource says where SecretAccessKey came from, for the start-up
	// banner, which never prints the secret itself: the environment
	// variable's name, or SecretSourceDefault.
	SecretSource string
	// Region is reported in events and ARNs and expected in signatures.
	// Env IMAGEREC_REGION. Default us-east-1.
	Region string
	// UploadBucket is watched for new images. Flag --upload-bucket, env
	// IMAGEREC_UPLOAD_BUCKET. Default image-upload-bucket.
	UploadBucket string
	// ResultBucket receives <key>.json and <key>.error.json. Flag
	// --result-bucket, env IMAGEREC_RESULT_BUCKET. Default image-result-bucket.
	ResultBucket string
	// Prefix and Suffix filter which uploads trigger recognition (S3
	// notification filter rules). Flags --prefix, --suffix. Default: all.
	Prefix, Suffix string
	// Workers is how many images are recognised at once. Flag --workers,
	// env IMAGEREC_WORKERS. Default: the number of CPUs.
	Workers int
	// Features selects the analyses (labels,faces,text,moderation). Flag
	// --features, env IMAGEREC_FEATURES. Default all.
	Features []vision.Feature
	// MinConfidence for labels (Rekognition's default 55). Flag
	// --min-confidence.
	MinConfidence float64
	// FaceCollection, when set, has every upload's faces searched in this
	// face collection (created when missing); result documents gain
	// FaceSearch. Flag --face-collection, env IMAGEREC_FACE_COLLECTION.
	FaceCollection string
	// IndexFaces also adds them to the collection, with the object key as
	// ExternalImageId. Flag --index-faces, env IMAGEREC_INDEX_FACES.
	IndexFaces bool
	// MaxBytes refuses larger uploads with ImageTooLargeException. Flag
	// --max-bytes. Default 15 MiB.
	MaxBytes int64
	// MemoryBudget bounds the memory, in bytes, that the images being
	// analysed at once may need by their header's estimate (decoded pixels
	// and working copies); an image waits until its estimate fits, and one
	// larger than the whole budget gets ImageTooLargeException. Flag
	// --memory-budget, env IMAGEREC_MEMORY_BUDGET (e.g. 2GiB). Zero means
	// membudget.Default: a quarter of the machine's memory or cgroup limit.
	MemoryBudget int64
	// WebhookURL receives a signed POST per finished image. Flag --webhook,
	// env IMAGEREC_WEBHOOK_URL. Default none (notifications are logged).
	WebhookURL string
	// WebhookSecret signs webhook requests. Env IMAGEREC_WEBHOOK_SECRET.
	WebhookSecret string
	// ReconcileInterval is how often the upload bucket is compared with
	// the result bucket, re-queuing uploads that have no document and
	// nothing queued or running (also once at start). Flag
	// --reconcile-interval, env IMAGEREC_RECONCILE_INTERVAL. Default 5m;
	// 0 turns it off.
	ReconcileInterval time.Duration
	// PublicURL is the base of every URL the server hands out (the
	// start-up banner, the console's sign-in link) and, with the loopback
	// names, the only host the console answers to (a DNS rebinding guard):
	// set it when the server is reached under another name, e.g. through a
	// TLS proxy. Scheme and host only (http or https, no path). Flag
	// --public-url, env IMAGEREC_PUBLIC_URL. Default: http:// and the
	// listening address, 127.0.0.1 in place of an unspecified one (0.0.0.0
	// or ::).
	PublicURL string
	// PublicMetrics serves /_imagerec/metrics and /_imagerec/healthz to
	// clients that are not on loopback too (a Prometheus on another host).
	// Flag --public-metrics, env IMAGEREC_PUBLIC_METRICS=true. Default
	// false: loopback clients only.
	PublicMetrics bool

	// Role is what this process does (docs/cluster.md): RoleAll (the
	// default) everything in one process; RoleGateway the S3 endpoint,
	// the Rekognition and Step Functions APIs, the console and the
	// reconciliation, publishing events; RoleWorker consumes events and
	// runs executions. gateway and worker need Queue. Flag --role, env
	// IMAGEREC_ROLE.
	Role string
	// Queue are the URLs of an existing NATS JetStream cluster
	// (nats://host:4222 or tls://host:4222, comma-separated; user and
	// password or a token in the URL as nats.go takes them). Set, the
	// queue and the execution state live there, shared with every other
	// imagerec process given the same URLs. Default none: the embedded
	// queue under --data. Flag --queue, env IMAGEREC_QUEUE.
	Queue []string
	// QueueReplicas is how many NATS servers keep the stream, the
	// consumer and the execution state (3 in a three-node cluster).
	// Flag --queue-replicas, env IMAGEREC_QUEUE_REPLICAS. Default 1.
	QueueReplicas int
	// QueueCreds is a NATS credentials file; QueueTLSCA, QueueTLSCert and
	// QueueTLSKey are PEM files for TLS (the servers' CA; this client's
	// certificate and key). Flags --queue-creds, --queue-tls-ca,
	// --queue-tls-cert, --queue-tls-key.
	QueueCreds, QueueTLSCA, QueueTLSCert, QueueTLSKey string
	// QueueAckWait is how long an event held by a worker that stopped
	// answering waits before another worker gets it (and takes over its
	// execution). Flag --queue-ack-wait, env IMAGEREC_QUEUE_ACK_WAIT.
	// Default 30s. Every process on one queue should use the same.
	QueueAckWait time.Duration
	// StoreEndpoint is an S3-compatible endpoint (MinIO, Ceph RGW, AWS
	// S3, or another imagerec gateway) that holds both buckets, through
	// objstore/s3store. Credentials come the AWS way (AWS_ACCESS_KEY_ID
	// and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, the shared files). Default
	// none: the disk store under --data. Flag --store-endpoint, env
	// IMAGEREC_STORE_ENDPOINT.
	StoreEndpoint string
	// StoreRegion is the store's region (default: AWS_REGION, else
	// Region). Flag --store-region, env IMAGEREC_STORE_REGION.
	StoreRegion string
	// StorePathStyle addresses buckets as http://host/bucket (MinIO's
	// default) rather than http://bucket.host. Flag --store-path-style,
	// env IMAGEREC_STORE_PATH_STYLE. Default true.
	StorePathStyle bool
}

// Roles (Config.Role).
const (
	RoleAll     = "all"
	RoleGateway = "gateway"
	RoleWorker  = "worker"
)

// Gateway reports whether the process serves the endpoint (all, gateway).
func (c Config) Gateway() bool { return c.Role != RoleWorker }

// Worker reports whether the process runs executions (all, worker).
func (c Config) Worker() bool { return c.Role != RoleGateway }

// Clustered reports whether the queue and the execution state are in an
// external NATS cluster, shared with other processes.
func (c Config) Clustered() bool { return len(c.Queue) > 0 }

// Load builds a Config from defaults, the environment and args (flags
// after the subcommand). It returns flag.ErrHelp for --help, after printing
// usage to out.
func Load(getenv func(string) string, args []string, out io.Writer) (Config, error) {
	env := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	c := Config{
		AccessKeyID:     env("IMAGEREC_ACCESS_KEY_ID", DefaultAccessKeyID),
		SecretAccessKey: env("IMAGEREC_SECRET_ACCESS_KEY", DefaultSecretAccessKey),
		SecretSource:    SecretSourceDefault,
		Region:          env("IMAGEREC_REGION", "us-east-1"),
		WebhookSecret:   getenv("IMAGEREC_WEBHOOK_SECRET"),
	}
	if getenv("IMAGEREC_SECRET_ACCESS_KEY") != "" {
		c.SecretSource = "IMAGEREC_SECRET_ACCESS_KEY"
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.Listen, "listen", env("IMAGEREC_LISTEN", "127.0.0.1:9000"), "S3 endpoint `address` (host:port; port 0 picks a free one)")
	fs.StringVar(&c.DataDir, "data", env("IMAGEREC_DATA", "./data"), "state `directory`: objects, queue, executions")
	cache, _ := cachedir.Root(getenv) // empty when there is none: reported below
	fs.StringVar(&c.CacheDir, "cache", cache, "model and runtime cache `directory`")
	fs.StringVar(&c.UploadBucket, "upload-bucket", env("IMAGEREC_UPLOAD_BUCKET", "image-upload-bucket"), "bucket whose uploads are recognised")
	fs.StringVar(&c.ResultBucket, "result-bucket", env("IMAGEREC_RESULT_BUCKET", "image-result-bucket"), "bucket that receives result documents")
	fs.StringVar(&c.Prefix, "prefix", "", "only keys with this prefix trigger recognition")
	fs.StringVar(&c.Suffix, "suffix", "", "only keys with this suffix trigger recognition")
	workers := env("IMAGEREC_WORKERS", strconv.Itoa(runtime.NumCPU()))
	fs.Func("workers", "images recognised at once (default: number of CPUs)", func(s string) error { workers = s; return nil })
	features := env("IMAGEREC_FEATURES", "all")
	fs.Func("features", "comma-separated analyses: labels,faces,text,moderation (default all)", func(s string) error { features = s; return nil })
	fs.Float64Var(&c.MinConfidence, "min-confidence", 55, "minimum label confidence (0-100)")
	fs.Int64Var(&c.MaxBytes, "max-bytes", 15<<20, "largest upload recognised, in bytes")
	fs.StringVar(&c.FaceCollection, "face-collection", getenv("IMAGEREC_FACE_COLLECTION"), "search every upload's faces in this face `collection` (created when missing)")
	indexFaces := env("IMAGEREC_INDEX_FACES", "false")
	fs.BoolFunc("index-faces", "also add every upload's faces to --face-collection, the object key as ExternalImageId (default false)", func(s string) error { indexFaces = s; return nil })
	budget := env("IMAGEREC_MEMORY_BUDGET", "")
	fs.DurationVar(&c.ReconcileInterval, "reconcile-interval", envDuration(getenv, "IMAGEREC_RECONCILE_INTERVAL", 5*time.Minute),
		"how often uploads without a document and with nothing queued are queued again (also at start; 0 turns it off)")
	fs.Func("memory-budget", "memory the images analysed at once may need, e.g. 2GiB (default: a quarter of the machine's memory)", func(s string) error { budget = s; return nil })
	fs.StringVar(&c.WebhookURL, "webhook", getenv("IMAGEREC_WEBHOOK_URL"), "`URL` that receives a signed POST per finished image")
	fs.StringVar(&c.PublicURL, "public-url", getenv("IMAGEREC_PUBLIC_URL"), "base `URL` users reach the server at (scheme://host[:port]), for the URLs it hands out and the console's host check (default: the listening address)")
	publicMetrics := env("IMAGEREC_PUBLIC_METRICS", "false")
	fs.BoolFunc("public-metrics", "serve metrics and healthz to non-loopback clients too (default false)", func(s string) error { publicMetrics = s; return nil })
	fs.StringVar(&c.Role, "role", env("IMAGEREC_ROLE", RoleAll), "what this process does: all, gateway (endpoint, console, events) or worker (executions); gateway and worker need --queue")
	queueURLs := env("IMAGEREC_QUEUE", "")
	fs.Func("queue", "NATS JetStream `URLs` (nats://host:4222,... comma-separated) of an existing cluster for the queue and execution state (default: embedded under --data)", func(s string) error { queueURLs = s; return nil })
	replicas := env("IMAGEREC_QUEUE_REPLICAS", "1")
	fs.Func("queue-replicas", "`number` of NATS servers that keep the stream, consumer and execution state (3 in a three-node cluster; default 1)", func(s string) error { replicas = s; return nil })
	fs.StringVar(&c.QueueCreds, "queue-creds", getenv("IMAGEREC_QUEUE_CREDS"), "NATS credentials `file` (user JWT and nkey seed)")
	fs.StringVar(&c.QueueTLSCA, "queue-tls-ca", getenv("IMAGEREC_QUEUE_TLS_CA"), "PEM `file` of the CA that signed the NATS servers' certificates")
	fs.StringVar(&c.QueueTLSCert, "queue-tls-cert", getenv("IMAGEREC_QUEUE_TLS_CERT"), "PEM client certificate `file` for NATS")
	fs.StringVar(&c.QueueTLSKey, "queue-tls-key", getenv("IMAGEREC_QUEUE_TLS_KEY"), "PEM client key `file` for NATS")
	fs.DurationVar(&c.QueueAckWait, "queue-ack-wait", envDuration(getenv, "IMAGEREC_QUEUE_ACK_WAIT", 30*time.Second),
		"how long an event held by a worker that stopped answering waits before another worker takes it over")
	fs.StringVar(&c.StoreEndpoint, "store-endpoint", getenv("IMAGEREC_STORE_ENDPOINT"), "S3-compatible `URL` that holds both buckets (MinIO, Ceph RGW, AWS S3, an imagerec gateway); credentials the AWS way (default: the disk store under --data)")
	fs.StringVar(&c.StoreRegion, "store-region", env("IMAGEREC_STORE_REGION", getenv("AWS_REGION")), "region of --store-endpoint (default: AWS_REGION, else the endpoint's region)")
	pathStyle := env("IMAGEREC_STORE_PATH_STYLE", "true")
	fs.BoolFunc("store-path-style", "address buckets as URL/bucket rather than bucket.host (default true)", func(s string) error { pathStyle = s; return nil })
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: imagerec serve [flags]\n\nRuns the S3-compatible endpoint, the event queue, the local state machine\nexecutor and the recognition engine in one process (--role all, the default).\nIn a cluster (docs/cluster.md), gateways (--role gateway: S3 endpoint, APIs,\nconsole) and workers (--role worker: executions) share a NATS JetStream\ncluster (--queue) and an S3-compatible store (--store-endpoint).\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(out, "\nEnvironment: IMAGEREC_ACCESS_KEY_ID, IMAGEREC_SECRET_ACCESS_KEY (default %s / %s),\nIMAGEREC_REGION, IMAGEREC_WEBHOOK_SECRET, IMAGEREC_LOG_LEVEL, and IMAGEREC_<FLAG> for the flags above.\n", DefaultAccessKeyID, DefaultSecretAccessKey)
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	var errs []error
	if c.CacheDir == "" {
		errs = append(errs, fmt.Errorf("cache: %w; or pass --cache", cachedir.ErrNoCacheDir))
	}
	n, err := strconv.Atoi(workers)
	if err != nil {
		errs = append(errs, fmt.Errorf("workers: %q is not a number", workers))
	}
	c.Workers = n
	if c.Features, err = vision.ParseFeatures(features); err != nil {
		errs = append(errs, fmt.Errorf("features: %w", err))
	}
	if c.IndexFaces, err = strconv.ParseBool(indexFaces); err != nil {
		errs = append(errs, fmt.Errorf("index-faces: %q is not true or false", indexFaces))
	}
	if c.PublicMetrics, err = strconv.ParseBool(publicMetrics); err != nil {
		errs = append(errs, fmt.Errorf("public-metrics: %q is not true or false", publicMetrics))
	}
	if c.StorePathStyle, err = strconv.ParseBool(pathStyle); err != nil {
		errs = append(errs, fmt.Errorf("store-path-style: %q is not true or false", pathStyle))
	}
	if c.QueueReplicas, err = strconv.Atoi(replicas); err != nil {
		errs = append(errs, fmt.Errorf("queue-replicas: %q is not a number", replicas))
	}
	for _, u := range strings.Split(queueURLs, ",") {
		if u = strings.TrimSpace(u); u != "" {
			c.Queue = append(c.Queue, u)
		}
	}
	if c.StoreRegion == "" {
		c.StoreRegion = c.Region
	}
	if budget != "" {
		if c.MemoryBudget, err = membudget.ParseSize(budget); err != nil {
			errs = append(errs, fmt.Errorf("memory-budget: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// envDuration reads a duration from the environment, def when unset or
// not a duration (Validate reports nothing for it: the flag's default is
// then def, and a bad value is better refused by the flag).
func envDuration(getenv func(string) string, key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(getenv(key)); err == nil {
		return d
	}
	return def
}

// ListenIsLoopback reports whether Listen binds only loopback addresses
// (127.0.0.0/8, ::1 or "localhost"); an empty host, 0.0.0.0, :: or any
// other address or name is reachable from the network.
func (c Config) ListenIsLoopback() bool {
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParsePublicURL parses a --public-url: an absolute http or https URL with
// a host and nothing after it (no user, path, query or fragment). The
// result has no trailing slash.
func ParsePublicURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL", s)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%q: want an http:// or https:// URL", s)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("%q has no host", s)
	case u.User != nil:
		return nil, fmt.Errorf("%q: no user name or password in the URL", s)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return nil, fmt.Errorf("%q: scheme and host only (the S3 API needs the root path)", s)
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsUnspecified() {
		return nil, fmt.Errorf("%q: %s is not an address clients can reach", s, u.Hostname())
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// Validate reports every invalid field.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen: %w", err))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data: directory is empty"))
	}
	if c.UploadBucket == "" || c.ResultBucket == "" {
		errs = append(errs, errors.New("upload-bucket and result-bucket must be set"))
	}
	if c.UploadBucket == c.ResultBucket {
		errs = append(errs, fmt.Errorf("upload and result bucket are both %q: results would trigger recognition of themselves", c.UploadBucket))
	}
	if c.Workers < 1 {
		errs = append(errs, fmt.Errorf("workers: %d, want at least 1", c.Workers))
	}
	if c.MinConfidence < 0 || c.MinConfidence > 100 {
		errs = append(errs, fmt.Errorf("min-confidence: %v, want 0-100", c.MinConfidence))
	}
	if c.ReconcileInterval < 0 {
		errs = append(errs, fmt.Errorf("reconcile-interval: %s, want 0 (off) or more", c.ReconcileInterval))
	}
	if c.MemoryBudget < 0 {
		errs = append(errs, fmt.Errorf("memory-budget: %d, want a positive size", c.MemoryBudget))
	}
	if c.MaxBytes < 1 {
		errs = append(errs, fmt.Errorf("max-bytes: %d, want at least 1", c.MaxBytes))
	}
	if c.FaceCollection != "" && !facecollection.ValidID(c.FaceCollection) {
		errs = append(errs, fmt.Errorf("face-collection: %q is not a collection id ([a-zA-Z0-9_.-]+, at most 255)", c.FaceCollection))
	}
	if c.IndexFaces && c.FaceCollection == "" {
		errs = append(errs, errors.New("index-faces needs --face-collection"))
	}
	if c.FaceCollection != "" && !(vision.Options{Features: c.Features}).Has(vision.FeatureFaces) {
		errs = append(errs, errors.New("face-collection needs the faces feature (--features)"))
	}
	if c.PublicURL != "" {
		if _, err := ParsePublicURL(c.PublicURL); err != nil {
			errs = append(errs, fmt.Errorf("public-url: %w", err))
		}
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		errs = append(errs, errors.New("credentials: access key id and secret must not be empty"))
	}
	errs = append(errs, c.validateCluster()...)
	return errors.Join(errs...)
}

// validateCluster checks the role, queue and store settings.
func (c Config) validateCluster() []error {
	var errs []error
	if c.Clustered() && c.FaceCollection != "" {
		// The collections are files of one process (DATA/collections):
		// each worker would search its own.
		errs = append(errs, errors.New("face-collection: not with --queue yet: face collections are kept on one node's disk, and each worker would search its own"))
	}
	switch c.Role {
	case "", RoleAll:
	case RoleGateway, RoleWorker:
		if !c.Clustered() {
			errs = append(errs, fmt.Errorf("role %s: needs --queue, the NATS JetStream cluster the gateways and workers share (the embedded queue is inside one process)", c.Role))
		}
		if c.Role == RoleWorker && c.StoreEndpoint == "" {
			errs = append(errs, errors.New("role worker: needs --store-endpoint, the S3 store the gateways use (a gateway's own endpoint will do): a worker keeps no objects of its own"))
		}
	default:
		errs = append(errs, fmt.Errorf("role: %q, want all, gateway or worker", c.Role))
	}
	for _, s := range c.Queue {
		u, err := url.Parse(s)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("queue: %q is not a URL", redactUser(s)))
		case u.Scheme != "nats" && u.Scheme != "tls" && u.Scheme != "ws" && u.Scheme != "wss":
			errs = append(errs, fmt.Errorf("queue: %q: want nats://, tls://, ws:// or wss:// URLs", redactUser(s)))
		case u.Host == "":
			errs = append(errs, fmt.Errorf("queue: %q has no host", redactUser(s)))
		}
	}
	if c.QueueReplicas < 1 || c.QueueReplicas > 5 {
		errs = append(errs, fmt.Errorf("queue-replicas: %d, want 1 to 5 (JetStream's limit)", c.QueueReplicas))
	}
	if c.QueueAckWait < time.Second {
		errs = append(errs, fmt.Errorf("queue-ack-wait: %s, want at least 1s", c.QueueAckWait))
	}
	if (c.QueueTLSCert == "") != (c.QueueTLSKey == "") {
		errs = append(errs, errors.New("queue-tls-cert and queue-tls-key: give both or neither"))
	}
	if !c.Clustered() && (c.QueueCreds != "" || c.QueueTLSCA != "" || c.QueueTLSCert != "") {
		errs = append(errs, errors.New("queue-creds and queue-tls-*: only with --queue"))
	}
	if c.StoreEndpoint != "" {
		u, err := url.Parse(c.StoreEndpoint)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("store-endpoint: %q is not a URL", redactUser(c.StoreEndpoint)))
		case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
			errs = append(errs, fmt.Errorf("store-endpoint: %q: want http://host:port or https://host", redactUser(c.StoreEndpoint)))
		case u.User != nil:
			errs = append(errs, errors.New("store-endpoint: no credentials in the URL; give them the AWS way (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or AWS_PROFILE)"))
		}
	}
	return errs
}

// redactUser hides a URL's user information (a password or token) in
// messages.
func redactUser(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		u.User = url.User("REDACTED")
		return u.String()
	}
	if at := strings.LastIndex(s, "@"); at >= 0 {
		return "REDACTED" + s[at:]
	}
	return s
}

// LogValue hides secrets when the config is logged.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("listen", c.Listen),
		slog.String("data", c.DataDir),
		slog.String("cache", c.CacheDir),
		slog.String("upload_bucket", c.UploadBucket),
		slog.String("result_bucket", c.ResultBucket),
		slog.Int("workers", c.Workers),
		slog.Int64("memory_budget", c.MemoryBudget),
		slog.Any("features", c.Features),
		slog.String("access_key_id", c.AccessKeyID),
		slog.String("secret_access_key", "REDACTED"),
		slog.String("secret_source", c.SecretSource),
		slog.Bool("webhook", c.WebhookURL != ""),
		slog.Duration("reconcile_interval", c.ReconcileInterval),
		slog.String("public_url", c.PublicURL),
		slog.Bool("public_metrics", c.PublicMetrics),
		slog.String("role", c.Role),
		slog.String("queue", redactUser(strings.Join(c.Queue, ","))),
		slog.Int("queue_replicas", c.QueueReplicas),
		slog.String("store_endpoint", c.StoreEndpoint),
	)
}
