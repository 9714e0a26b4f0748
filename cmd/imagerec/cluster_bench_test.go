package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagerec/imagerec/internal/natstest"
)

// BenchmarkCluster compares, in one run, the pipeline in one process
// (the embedded queue) with a gateway and one or two worker processes on a
// three-node NATS cluster (the gateway's endpoint as the workers' store):
// images/s from the first PUT to the last document, and CPU seconds per
// image of every process involved (imagerec and, clustered, the three
// nats-servers), read from /proc. Labels only, 40 photos per round.
//
//	go test -run '^$' -bench Cluster -benchtime 1x ./cmd/imagerec/
func BenchmarkCluster(b *testing.B) {
	needModels(b)
	photos := map[string][]byte{}
	for _, n := range []string{"dog.jpg", "person.jpg", "astronaut.jpg", "coffee.jpg", "text.png"} {
		photos[n] = photo(b, n)
	}
	common := []string{"--features", "labels", "--reconcile-interval", "0"}
	cases := []struct {
		name    string
		workers int // worker processes; 0: one process, embedded queue
		each    string
	}{
		{"embedded/workers=1", 0, "1"},
		{"embedded/workers=2", 0, "2"},
		{"cluster/processes=1", 1, "1"},
		{"cluster/processes=2", 2, "1"},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			gw, pids, runners, natsPIDs := startBenchCluster(b, tc.workers, tc.each, common)
			c := gw.client()
			ctx := b.Context()
			putObject(ctx, b, c, "warmup.jpg", photos["dog.jpg"])
			waitDocument(ctx, b, c, "warmup.jpg", 2*time.Minute)
			const perRound = 40
			cpu0, nats0, run0 := cpuOf(b, pids), cpuOf(b, natsPIDs), cpuOf(b, runners)
			b.ResetTimer()
			var total time.Duration
			n := 0
			for round := range b.N {
				l, d := pipelineRound(ctx, b, c, round, perRound, photos)
				total += d
				n += len(l)
			}
			b.StopTimer()
			cpu := cpuOf(b, pids) - cpu0
			b.ReportMetric(float64(n)/total.Seconds(), "images/s")
			b.ReportMetric(cpu.Seconds()/float64(n), "cpu_s/image")
			if tc.workers > 0 {
				// Where the clustered path's CPU goes: the nats-servers, the
				// gateway (S3 for uploads and the workers' reads and
				// writes), the workers.
				natsCPU, runCPU := cpuOf(b, natsPIDs)-nats0, cpuOf(b, runners)-run0
				b.ReportMetric(natsCPU.Seconds()/float64(n), "nats_cpu_s/image")
				b.ReportMetric((cpu-natsCPU-runCPU).Seconds()/float64(n), "gateway_cpu_s/image")
			}
			var peak int64
			for _, pid := range runners {
				peak = max(peak, peakRSS(b, pid))
			}
			b.ReportMetric(float64(peak)/(1<<20), "runner_peak_MiB")
		})
	}
}

// workerEnv is a worker's environment: the gateway's key, the AWS way.
var workerEnv = []string{"AWS_ACCESS_KEY_ID=imagerec", "AWS_SECRET_ACCESS_KEY=imagerec-local-secret", "AWS_REGION=us-east-1",
	"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}

// startBenchCluster starts one process (workers 0) or a three-node NATS
// cluster, a gateway and that many worker processes, each with --workers
// each. It returns the endpoint's server and the process ids: all of
// them, those that run executions, the nats-servers.
func startBenchCluster(b *testing.B, workers int, each string, common []string) (gw *testServer, pids, runners, natsPIDs []int) {
	b.Helper()
	if workers == 0 {
		gw = startServer(b, b.TempDir(), append([]string{"--workers", each}, common...)...)
		pids = []int{gw.cmd.Process.Pid}
		return gw, pids, pids, nil
	}
	nats := natstest.Start(b, 3)
	q := []string{"--queue", strings.Join(nats.URLs(), ","), "--queue-replicas", "3", "--workers", each}
	gw = startServer(b, b.TempDir(), append(append([]string{"--role", "gateway"}, q...), common...)...)
	natsPIDs = nats.PIDs()
	pids = append(append([]int(nil), natsPIDs...), gw.cmd.Process.Pid)
	for range workers {
		w := startServerEnv(b, b.TempDir(), workerEnv, append(append([]string{"--role", "worker", "--store-endpoint", gw.endpoint}, q...), common...)...)
		pids = append(pids, w.cmd.Process.Pid)
		runners = append(runners, w.cmd.Process.Pid)
	}
	return gw, pids, runners, natsPIDs
}

// BenchmarkClusterCeiling is the orchestration ceiling: uploads that are
// not images (64 bytes of text named .jpg) go through the whole path —
// endpoint, event, queue, execution, the Recognize task rejecting them at
// decode, the error document — so recognition costs almost nothing and
// the queue, the executor and the store set the pace. 200 uploads a
// round, 8 at once; documents counted by listing the result bucket.
//
//	go test -run '^$' -bench ClusterCeiling -benchtime 1x ./cmd/imagerec/
func BenchmarkClusterCeiling(b *testing.B) {
	needModels(b)
	common := []string{"--features", "labels", "--reconcile-interval", "0"}
	cases := []struct {
		name    string
		workers int
	}{
		{"embedded", 0},
		{"cluster/processes=1", 1},
		{"cluster/processes=2", 2},
	}
	body := bytes.Repeat([]byte("not an image. "), 5)[:64]
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			gw, pids, _, natsPIDs := startBenchCluster(b, tc.workers, "4", common)
			c := gw.client()
			ctx := b.Context()
			putObject(ctx, b, c, "warmup.jpg", body)
			waitDocument(ctx, b, c, "warmup.jpg", 2*time.Minute)
			const count = 200
			cpu0, nats0 := cpuOf(b, pids), cpuOf(b, natsPIDs)
			b.ResetTimer()
			var total time.Duration
			for round := range b.N {
				prefix := fmt.Sprintf("ceiling/%d/", round)
				start := time.Now()
				var wg sync.WaitGroup
				next := make(chan int)
				for range 8 {
					wg.Go(func() {
						for i := range next {
							putObject(ctx, b, c, fmt.Sprintf("%s%04d.jpg", prefix, i), body)
						}
					})
				}
				for i := range count {
					next <- i
				}
				close(next)
				wg.Wait()
				for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
					n := 0
					p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(testResult), Prefix: aws.String(prefix)})
					for p.HasMorePages() {
						page, err := p.NextPage(ctx)
						if err != nil {
							b.Fatal(err)
						}
						for _, o := range page.Contents {
							if !strings.HasSuffix(*o.Key, ".error.json") {
								b.Fatalf("%s: a result for text", *o.Key)
							}
							n++
						}
					}
					if n == count {
						break
					}
					if time.Now().After(deadline) {
						b.Fatalf("%d of %d error documents after 5 minutes", n, count)
					}
				}
				total += time.Since(start)
			}
			b.StopTimer()
			n := b.N * count
			b.ReportMetric(float64(n)/total.Seconds(), "uploads/s")
			b.ReportMetric((cpuOf(b, pids)-cpu0).Seconds()*1000/float64(n), "cpu_ms/upload")
			if tc.workers > 0 {
				b.ReportMetric((cpuOf(b, natsPIDs)-nats0).Seconds()*1000/float64(n), "nats_cpu_ms/upload")
			}
		})
	}
}

// cpuOf is the user and system CPU time the processes used so far
// (/proc/PID/stat, in clock ticks of 1/100 s, Linux's USER_HZ).
func cpuOf(b *testing.B, pids []int) time.Duration {
	b.Helper()
	var ticks int64
	for _, pid := range pids {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			b.Fatalf("cpu of %d: %v", pid, err)
		}
		// Fields after the command name (in parentheses): utime is the
		// 14th field of the line, stime the 15th.
		f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
		for _, i := range []int{11, 12} {
			v, err := strconv.ParseInt(f[i], 10, 64)
			if err != nil {
				b.Fatalf("cpu of %d: %v", pid, err)
			}
			ticks += v
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}
