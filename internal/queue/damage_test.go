package queue_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/queue"
)

// TestHelperProcess publishes LOST_HELPER_N events into the queue at
// LOST_HELPER_DIR, says so, and waits to be killed: a real crash.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv("LOST_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process")
	}
	n, _ := strconv.Atoi(os.Getenv("LOST_HELPER_N"))
	q, err := queue.Open(t.Context(), queue.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := q.Publish(t.Context(), fmt.Sprint("event-", i), []byte(strings.Repeat(fmt.Sprint(i), 200))); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("published")
	time.Sleep(time.Minute)
}

// crashAfterPublishing runs the helper and kills it with SIGKILL once it
// has stored n events.
func crashAfterPublishing(t *testing.T, dir string, n int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "LOST_HELPER_DIR="+dir, "LOST_HELPER_N="+strconv.Itoa(n))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "published" {
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
}

func xorMiddle(t *testing.T, dir string) {
	t.Helper()
	blks, _ := filepath.Glob(filepath.Join(dir, "jetstream", "$G", "streams", "IMAGEREC", "msgs", "*.blk"))
	if len(blks) == 0 {
		t.Fatal("no stream block")
	}
	b, err := os.ReadFile(blks[0])
	if err != nil {
		t.Fatal(err)
	}
	for i := len(b) / 2; i < len(b)/2+64 && i < len(b); i++ {
		b[i] ^= 0xff
	}
	if err := os.WriteFile(blks[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDamageDetected: after a crash, a damaged block (the issue's
// reproduction) and a removed directory are reported at Open, with the
// count of events lost; an undamaged restart reports nothing.
func TestDamageDetected(t *testing.T) {
	if testing.Short() {
		t.Skip("starts helper processes")
	}
	tests := []struct {
		name     string
		damage   func(t *testing.T, dir string)
		wantKind string
	}{
		{"clean crash", func(*testing.T, string) {}, ""},
		{"damaged block", xorMiddle, queue.DamageLostMessages},
		{"removed directory", func(t *testing.T, dir string) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
		}, queue.DamageStoreReset},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "queue")
			crashAfterPublishing(t, dir, 12)
			tc.damage(t, dir)
			var reported []queue.Damage
			q, err := queue.Open(t.Context(), queue.Config{Dir: dir, OnDamage: func(d queue.Damage) { reported = append(reported, d) }})
			if err != nil {
				t.Fatalf("open after damage: %v", err)
			}
			defer q.Close()
			got := q.Damage()
			if len(got) != len(reported) {
				t.Errorf("Damage() = %v, OnDamage saw %v", got, reported)
			}
			if tc.wantKind == "" {
				if len(got) != 0 {
					t.Fatalf("damage reported after a clean crash: %+v", got)
				}
				if n, _ := q.Pending(t.Context()); n != 12 {
					t.Errorf("pending %d, want 12", n)
				}
				return
			}
			if len(got) == 0 || got[0].Kind != tc.wantKind || got[0].Message == "" {
				t.Fatalf("damage = %+v, want %s", got, tc.wantKind)
			}
			n, _ := q.Pending(t.Context())
			if tc.wantKind == queue.DamageLostMessages && (got[0].Lost == 0 || got[0].Lost != 12-n) {
				t.Errorf("reported %d lost, the stream keeps %d of 12", got[0].Lost, n)
			}
			// Reported once: the next Open starts from the stream as it is.
			q.Close()
			q2, err := queue.Open(t.Context(), queue.Config{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			defer q2.Close()
			if d := q2.Damage(); len(d) != 0 {
				t.Errorf("damage reported again on the next Open: %+v", d)
			}
		})
	}
}

// TestHasAndPublishAgain: Has tells a queued event from a handled one;
// PublishAgain queues an id the de-duplication window still remembers.
func TestHasAndPublishAgain(t *testing.T) {
	q, err := queue.Open(t.Context(), queue.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Publish(t.Context(), "a", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if has, err := q.Has(t.Context(), "a"); !has || err != nil {
		t.Fatalf("Has(a) = %v, %v before it was handled", has, err)
	}
	if has, _ := q.Has(t.Context(), "b"); has {
		t.Error("Has(b) for an event never published")
	}
	collect(t, q, 1, func(string, int) error { return nil })
	if has, _ := q.Has(t.Context(), "a"); has {
		t.Error("Has(a) after it was handled")
	}
	_ = q.Publish(t.Context(), "a", []byte("a")) // within the window: dropped
	if n, _ := q.Pending(t.Context()); n != 0 {
		t.Fatalf("a duplicate was queued: pending %d", n)
	}
	if err := q.PublishAgain(t.Context(), "a", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if has, _ := q.Has(t.Context(), "a"); !has {
		t.Error("PublishAgain did not queue the event")
	}
}

// TestDamageWhileRunning: the directory removed under a running queue is
// reported once by the periodic check.
func TestDamageWhileRunning(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "queue")
	seen := make(chan queue.Damage, 4)
	q, err := queue.Open(t.Context(), queue.Config{Dir: dir, CheckInterval: 50 * time.Millisecond, OnDamage: func(d queue.Damage) { seen <- d }})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-seen:
		if d.Kind != queue.DamageStoreMissing || !strings.Contains(d.Message, dir) {
			t.Errorf("damage %+v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("removed directory not reported")
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(q.Damage()); n != 1 {
		t.Errorf("reported %d times, want once", n)
	}
}
