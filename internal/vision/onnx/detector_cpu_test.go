package onnx

import (
	"syscall"
	"testing"
	"time"
)

// detectorCPU is the CPU time (user+system) the process has used so far.
// On a shared machine the wall time of a benchmark says more about the
// neighbours than about the code; CPU time per operation is steadier.
func detectorCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportDetectorCPU adds a cpu-ms/op metric for the b.N operations run
// since start.
func reportDetectorCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(detectorCPU(b)-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}
