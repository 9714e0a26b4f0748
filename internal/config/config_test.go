package config_test

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/config"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		check   func(t *testing.T, c config.Config)
		wantErr string
	}{
		{name: "defaults", check: func(t *testing.T, c config.Config) {
			if c.Listen != "127.0.0.1:9000" || c.DataDir != "./data" || c.UploadBucket != "image-upload-bucket" || c.ResultBucket != "image-result-bucket" {
				t.Errorf("defaults: %+v", c)
			}
			if c.AccessKeyID != config.DefaultAccessKeyID || c.SecretAccessKey != config.DefaultSecretAccessKey {
				t.Errorf("credentials: %q %q", c.AccessKeyID, c.SecretAccessKey)
			}
			if len(c.Features) != 4 || c.Workers < 1 || c.MinConfidence != 55 {
				t.Errorf("features %v workers %d minconf %v", c.Features, c.Workers, c.MinConfidence)
			}
		}},
		{name: "env then flags", env: map[string]string{"IMAGEREC_LISTEN": "127.0.0.1:1", "IMAGEREC_ACCESS_KEY_ID": "AK", "IMAGEREC_WORKERS": "3"},
			args: []string{"--listen", "127.0.0.1:0", "--features", "labels,text"},
			check: func(t *testing.T, c config.Config) {
				if c.Listen != "127.0.0.1:0" || c.AccessKeyID != "AK" || c.Workers != 3 || len(c.Features) != 2 {
					t.Errorf("got %+v", c)
				}
			}},
		{name: "every problem at once", args: []string{"--listen", "nope", "--workers", "0", "--result-bucket", "image-upload-bucket"},
			wantErr: "listen:|results would trigger|workers: 0"},
		{name: "memory budget flag", args: []string{"--memory-budget", "1.5GiB"}, check: func(t *testing.T, c config.Config) {
			if c.MemoryBudget != 3<<29 {
				t.Errorf("MemoryBudget = %d", c.MemoryBudget)
			}
		}},
		{name: "memory budget env", env: map[string]string{"IMAGEREC_MEMORY_BUDGET": "512MiB"}, check: func(t *testing.T, c config.Config) {
			if c.MemoryBudget != 512<<20 {
				t.Errorf("MemoryBudget = %d", c.MemoryBudget)
			}
		}},
		{name: "memory budget default", check: func(t *testing.T, c config.Config) {
			if c.MemoryBudget != 0 {
				t.Errorf("MemoryBudget = %d, want 0 (machine default)", c.MemoryBudget)
			}
		}},
		{name: "bad memory budget", args: []string{"--memory-budget", "lots"}, wantErr: `memory-budget: memory size "lots"`},
		{name: "secret source default", check: func(t *testing.T, c config.Config) {
			if c.SecretSource != config.SecretSourceDefault || strings.Contains(c.SecretSource, config.DefaultSecretAccessKey) {
				t.Errorf("SecretSource = %q", c.SecretSource)
			}
		}},
		{name: "secret source env", env: map[string]string{"IMAGEREC_SECRET_ACCESS_KEY": "s3cret"}, check: func(t *testing.T, c config.Config) {
			if c.SecretSource != "IMAGEREC_SECRET_ACCESS_KEY" || c.SecretAccessKey != "s3cret" {
				t.Errorf("SecretSource = %q, secret %q", c.SecretSource, c.SecretAccessKey)
			}
		}},
		{name: "public url and metrics", args: []string{"--public-url", "https://imagerec.example.org/", "--public-metrics"},
			check: func(t *testing.T, c config.Config) {
				if c.PublicURL != "https://imagerec.example.org/" || !c.PublicMetrics {
					t.Errorf("PublicURL %q PublicMetrics %v", c.PublicURL, c.PublicMetrics)
				}
			}},
		{name: "public metrics env", env: map[string]string{"IMAGEREC_PUBLIC_METRICS": "true", "IMAGEREC_PUBLIC_URL": "http://10.0.0.5:9000"},
			check: func(t *testing.T, c config.Config) {
				if !c.PublicMetrics || c.PublicURL != "http://10.0.0.5:9000" {
					t.Errorf("PublicURL %q PublicMetrics %v", c.PublicURL, c.PublicMetrics)
				}
			}},
		{name: "bad public url", args: []string{"--public-url", "ftp://x", "--workers", "0"}, wantErr: `public-url: "ftp://x": want an http|workers: 0`},
		{name: "bad public metrics", args: []string{"--public-metrics=maybe"}, wantErr: `public-metrics: "maybe"`},
		{name: "bad feature", args: []string{"--features", "labels,colour"}, wantErr: `unknown feature "colour"`},
		{name: "face collection", env: map[string]string{"IMAGEREC_INDEX_FACES": "true"}, args: []string{"--face-collection", "family"},
			check: func(t *testing.T, c config.Config) {
				if c.FaceCollection != "family" || !c.IndexFaces {
					t.Errorf("FaceCollection %q IndexFaces %v", c.FaceCollection, c.IndexFaces)
				}
			}},
		{name: "bad face collection", args: []string{"--face-collection", "my/family"}, wantErr: `face-collection: "my/family" is not a collection id`},
		{name: "bad index faces", args: []string{"--face-collection", "family", "--index-faces=maybe"}, wantErr: `index-faces: "maybe"`},
		{name: "face collection ..", args: []string{"--face-collection", ".."}, wantErr: `face-collection: ".." is not a collection id`},
		{name: "index faces without a collection", args: []string{"--index-faces"}, wantErr: "index-faces needs --face-collection"},
		{name: "face collection without faces", args: []string{"--face-collection", "family", "--features", "labels"}, wantErr: "face-collection needs the faces feature"},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected arguments"},
		{name: "cluster defaults", check: func(t *testing.T, c config.Config) {
			if c.Role != config.RoleAll || c.Clustered() || !c.Gateway() || !c.Worker() || c.QueueReplicas != 1 ||
				c.QueueAckWait != 30*time.Second || c.StoreEndpoint != "" || !c.StorePathStyle || c.StoreRegion != "us-east-1" {
				t.Errorf("got %+v", c)
			}
		}},
		{name: "worker", args: []string{"--role", "worker", "--queue", "nats://n1:4222, nats://u:p@n2:4222,tls://n3:4222", "--queue-replicas", "3",
			"--store-endpoint", "http://gateway:9000", "--queue-ack-wait", "5s"},
			env: map[string]string{"AWS_REGION": "eu-west-1"},
			check: func(t *testing.T, c config.Config) {
				if c.Gateway() || !c.Worker() || !c.Clustered() || len(c.Queue) != 3 || c.Queue[1] != "nats://u:p@n2:4222" ||
					c.QueueReplicas != 3 || c.StoreEndpoint != "http://gateway:9000" || c.QueueAckWait != 5*time.Second || c.StoreRegion != "eu-west-1" {
					t.Errorf("got %+v", c)
				}
				if strings.Contains(c.LogValue().String(), "u:p@") {
					t.Errorf("queue password logged: %s", c.LogValue())
				}
			}},
		{name: "gateway from env", env: map[string]string{"IMAGEREC_ROLE": "gateway", "IMAGEREC_QUEUE": "nats://n1:4222", "IMAGEREC_STORE_PATH_STYLE": "false", "IMAGEREC_STORE_REGION": "r1"},
			check: func(t *testing.T, c config.Config) {
				if !c.Gateway() || c.Worker() || c.StorePathStyle || c.StoreRegion != "r1" {
					t.Errorf("got %+v", c)
				}
			}},
		{name: "roles need a queue", args: []string{"--role", "gateway"}, wantErr: "role gateway: needs --queue"},
		{name: "worker needs a store", args: []string{"--role", "worker", "--queue", "nats://n1:4222"}, wantErr: "role worker: needs --store-endpoint"},
		{name: "bad role", args: []string{"--role", "boss"}, wantErr: `role: "boss"`},
		{name: "bad cluster settings", args: []string{"--queue", "http://n1:4222,nats://u:hunter2@", "--queue-replicas", "7", "--queue-tls-cert", "c.pem",
			"--store-endpoint", "ftp://x", "--queue-ack-wait", "10ms"},
			wantErr: `queue: "http://n1:4222": want nats://|has no host|queue-replicas: 7|give both|store-endpoint: "ftp://x"|queue-ack-wait: 10ms`},
		{name: "store credentials not in the URL", args: []string{"--store-endpoint", "http://ak:sk@minio:9000"}, wantErr: "no credentials in the URL"},
		{name: "face search in a cluster", args: []string{"--queue", "nats://n1:4222", "--face-collection", "family"}, wantErr: "face-collection: not with --queue yet"},
		{name: "queue flags without a queue", args: []string{"--queue-creds", "x.creds"}, wantErr: "only with --queue"},
		{name: "bad numbers", args: []string{"--queue-replicas", "three", "--store-path-style=sometimes"}, wantErr: `queue-replicas: "three"|store-path-style: "sometimes"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(envOf(tc.env), tc.args, &bytes.Buffer{})
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("want error %q", tc.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error shows a password: %v", err)
				}
				for _, w := range strings.Split(tc.wantErr, "|") {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, err := config.Load(envOf(nil), []string{"--help"}, &out)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "-upload-bucket") {
		t.Fatalf("err=%v out=%s", err, out.String())
	}
}

func TestLogValueHidesSecret(t *testing.T) {
	t.Parallel()
	c, err := config.Load(envOf(map[string]string{"IMAGEREC_SECRET_ACCESS_KEY": "hunter2"}), nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.LogValue().String(), "hunter2") {
		t.Error("secret logged")
	}
}

func TestListenIsLoopback(t *testing.T) {
	t.Parallel()
	for listen, want := range map[string]bool{
		"127.0.0.1:9000": true, "127.1.2.3:0": true, "[::1]:9000": true, "localhost:9000": true, "LocalHost:1": true,
		":9000": false, "0.0.0.0:9000": false, "[::]:9000": false, "192.168.1.5:9000": false, "myhost:9000": false, "nonsense": false,
	} {
		if got := (config.Config{Listen: listen}).ListenIsLoopback(); got != want {
			t.Errorf("ListenIsLoopback(%q) = %v, want %v", listen, got, want)
		}
	}
}

func TestParsePublicURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want, wantErr string }{
		{in: "http://127.0.0.1:9000", want: "http://127.0.0.1:9000"},
		{in: "https://imagerec.example.org/", want: "https://imagerec.example.org"},
		{in: "http://[::1]:9000", want: "http://[::1]:9000"},
		{in: "imagerec.example.org", wantErr: "want an http"},
		{in: "http://", wantErr: "no host"},
		{in: "http://:9000", wantErr: "no host"},
		{in: "http://u:p@host", wantErr: "no user name"},
		{in: "http://host/prefix", wantErr: "scheme and host only"},
		{in: "http://host/?a=b", wantErr: "scheme and host only"},
		{in: "http://host#x", wantErr: "scheme and host only"},
		{in: "http://0.0.0.0:9000", wantErr: "not an address clients can reach"},
		{in: "http://[::]:9000", wantErr: "not an address clients can reach"},
		{in: "http://host:9000\x00", wantErr: "not a URL"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			u, err := config.ParsePublicURL(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParsePublicURL(%q) = %v, %v; want error %q", tc.in, u, err, tc.wantErr)
				}
				return
			}
			if err != nil || u.String() != tc.want {
				t.Fatalf("ParsePublicURL(%q) = %v, %v; want %s", tc.in, u, err, tc.want)
			}
		})
	}
}
