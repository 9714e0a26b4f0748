package membudget

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestAcquireWithinBudget(t *testing.T) {
	t.Parallel()
	b := New(100)
	r1, err := b.Acquire(t.Context(), 60)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := b.Acquire(t.Context(), 40)
	if err != nil {
		t.Fatal(err)
	}
	if s := b.Stats(); s.InUse != 100 || s.Peak != 100 || s.Waiting != 0 {
		t.Fatalf("stats %+v", s)
	}
	r1()
	r1() // a second call is harmless
	r2()
	if s := b.Stats(); s.InUse != 0 || s.Peak != 100 {
		t.Fatalf("after release: %+v", s)
	}
}

func TestAcquireLargerThanBudget(t *testing.T) {
	t.Parallel()
	b := New(100)
	_, err := b.Acquire(t.Context(), 101)
	var ee *ExceedsError
	if !errors.Is(err, ErrExceedsBudget) || !errors.As(err, &ee) || ee.Need != 101 || ee.Size != 100 {
		t.Fatalf("err = %v", err)
	}
	if s := b.Stats(); s.InUse != 0 || s.Waiting != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestWaitersNeverExceedBudget runs many goroutines of random sizes and
// checks that the admitted total never passes the size.
func TestWaitersNeverExceedBudget(t *testing.T) {
	t.Parallel()
	b := New(1000)
	var inUse, worst atomic.Int64
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			n := int64(100 + (i*37)%900)
			release, err := b.Acquire(t.Context(), n)
			if err != nil {
				t.Error(err)
				return
			}
			v := inUse.Add(n)
			for {
				w := worst.Load()
				if v <= w || worst.CompareAndSwap(w, v) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			inUse.Add(-n)
			release()
		})
	}
	wg.Wait()
	if w := worst.Load(); w > 1000 {
		t.Fatalf("%d bytes admitted at once, budget 1000", w)
	}
	if s := b.Stats(); s.InUse != 0 || s.Peak > 1000 || s.Peak < 900 {
		t.Fatalf("stats %+v", s)
	}
}

// TestFIFO checks that a large request at the head is not overtaken by
// small ones that would fit.
func TestFIFO(t *testing.T) {
	t.Parallel()
	b := New(100)
	r, _ := b.Acquire(t.Context(), 50)
	bigDone := make(chan func())
	go func() {
		rel, err := b.Acquire(context.Background(), 100)
		if err != nil {
			t.Error(err)
		}
		bigDone <- rel
	}()
	waitFor(t, func() bool { return b.Stats().Waiting == 1 })
	smallDone := make(chan func())
	go func() {
		rel, _ := b.Acquire(context.Background(), 10)
		smallDone <- rel
	}()
	waitFor(t, func() bool { return b.Stats().Waiting == 2 })
	select {
	case <-smallDone:
		t.Fatal("a small request overtook the large one at the head")
	case <-time.After(20 * time.Millisecond):
	}
	r()
	rel := <-bigDone
	rel()
	(<-smallDone)()
}

func TestAcquireCancelled(t *testing.T) {
	t.Parallel()
	b := New(100)
	r, _ := b.Acquire(t.Context(), 80)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		_, err := b.Acquire(ctx, 50)
		done <- err
	}()
	waitFor(t, func() bool { return b.Stats().Waiting == 1 })
	// A small request behind the cancelled one must be woken when it
	// leaves the head of the queue.
	small := make(chan struct{})
	go func() {
		rel, err := b.Acquire(t.Context(), 20)
		if err == nil {
			rel()
		}
		close(small)
	}()
	waitFor(t, func() bool { return b.Stats().Waiting == 2 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	select {
	case <-small:
	case <-time.After(5 * time.Second):
		t.Fatal("request behind a cancelled one was not admitted")
	}
	r()
	if s := b.Stats(); s.InUse != 0 || s.Waiting != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestNilBudgetAdmitsAll(t *testing.T) {
	t.Parallel()
	var b *Budget
	r, err := b.Acquire(t.Context(), 1<<50)
	if err != nil {
		t.Fatal(err)
	}
	r()
	if b.Size() != 0 || b.Stats() != (Stats{}) {
		t.Fatal("nil budget has state")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSystem(t *testing.T) {
	t.Parallel()
	meminfo := "MemTotal:       24594624 kB\nMemFree:        1 kB\n"
	tests := []struct {
		name  string
		files map[string]string
		want  Memory
	}{
		{"no cgroup", map[string]string{}, Memory{24594624 << 10, "MemTotal"}},
		{"v2 limit", map[string]string{
			"/proc/self/cgroup":                        "0::/user.slice/app\n",
			"/sys/fs/cgroup/user.slice/app/memory.max": "2147483648\n",
		}, Memory{2 << 30, "cgroup memory.max"}},
		{"v2 parent limit", map[string]string{
			"/proc/self/cgroup":                        "0::/user.slice/app\n",
			"/sys/fs/cgroup/user.slice/app/memory.max": "max\n",
			"/sys/fs/cgroup/user.slice/memory.max":     "1073741824\n",
		}, Memory{1 << 30, "cgroup memory.max"}},
		{"v1 limit", map[string]string{
			"/proc/self/cgroup": "4:memory:/docker/abc\n3:cpu:/\n",
			"/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "536870912\n",
		}, Memory{512 << 20, "cgroup memory.limit_in_bytes"}},
		{"v1 unlimited", map[string]string{
			"/proc/self/cgroup":                           "4:memory:/\n",
			"/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
		}, Memory{24594624 << 10, "MemTotal"}},
		{"limit above MemTotal", map[string]string{
			"/sys/fs/cgroup/memory.max": "99999999999999\n",
		}, Memory{24594624 << 10, "MemTotal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			read := func(p string) ([]byte, error) {
				if p == "/proc/meminfo" {
					return []byte(meminfo), nil
				}
				if s, ok := tt.files[p]; ok {
					return []byte(s), nil
				}
				return nil, os.ErrNotExist
			}
			got, err := System(read)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSystemReal(t *testing.T) {
	t.Parallel()
	m, err := System(os.ReadFile)
	if err != nil {
		t.Skipf("no /proc/meminfo: %v", err)
	}
	if m.Bytes < 64<<20 || m.Source == "" {
		t.Fatalf("implausible %+v", m)
	}
	if d := Default(m); d < MinDefault || d > m.Bytes {
		t.Fatalf("default %d for %+v", d, m)
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"2GiB", 2 << 30, true},
		{"512MiB", 512 << 20, true},
		{"1.5G", 1500000000, true},
		{"1048576", 1 << 20, true},
		{" 1 GiB ", 1 << 30, true},
		{"lots", 0, false},
		{"-1", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v", tt.in, got, err)
		}
	}
}

func TestChoose(t *testing.T) {
	t.Parallel()
	meminfo := func(kb string) func(string) ([]byte, error) {
		return func(p string) ([]byte, error) {
			if p == "/proc/meminfo" {
				return []byte("MemTotal: " + kb + " kB\n"), nil
			}
			return nil, os.ErrNotExist
		}
	}
	tests := []struct {
		name       string
		configured int64
		read       func(string) ([]byte, error)
		want       int64
		why        string
	}{
		{"configured", 3 << 30, meminfo("1024"), 3 << 30, "set by --memory-budget"},
		{"quarter", 0, meminfo("8388608"), 2 << 30, "a quarter of MemTotal 8.0 GiB"},
		{"minimum", 0, meminfo("524288"), MinDefault, "the minimum default; MemTotal is 512 MiB"},
		{"unknown", 0, func(string) ([]byte, error) { return nil, os.ErrNotExist }, 1 << 30, "default; machine memory unknown"},
	}
	for _, tt := range tests {
		got, why := Choose(tt.configured, tt.read)
		if got != tt.want || !strings.HasPrefix(why, tt.why) {
			t.Errorf("%s: Choose = %d, %q; want %d, %q", tt.name, got, why, tt.want, tt.why)
		}
	}
}
