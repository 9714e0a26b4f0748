package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

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
	workerEnv := []string{"AWS_ACCESS_KEY_ID=imagerec", "AWS_SECRET_ACCESS_KEY=imagerec-local-secret", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
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
			var gw *testServer
			var pids, runners, natsPIDs []int // every process; those that run executions; the nats-servers
			if tc.workers == 0 {
				gw = startServer(b, b.TempDir(), append([]string{"--workers", tc.each}, common...)...)
				pids = []int{gw.cmd.Process.Pid}
				runners = pids
			} else {
				nats := natstest.Start(b, 3)
				q := []string{"--queue", strings.Join(nats.URLs(), ","), "--queue-replicas", "3", "--workers", tc.each}
				gw = startServer(b, b.TempDir(), append(append([]string{"--role", "gateway"}, q...), common...)...)
				natsPIDs = nats.PIDs()
				pids = append(append([]int(nil), natsPIDs...), gw.cmd.Process.Pid)
				for range tc.workers {
					w := startServerEnv(b, b.TempDir(), workerEnv, append(append([]string{"--role", "worker", "--store-endpoint", gw.endpoint}, q...), common...)...)
					pids = append(pids, w.cmd.Process.Pid)
					runners = append(runners, w.cmd.Process.Pid)
				}
			}
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
