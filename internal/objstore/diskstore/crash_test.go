package diskstore_test

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/objstore/diskstore"
)

// TestCrashWriter is the child process of TestKillDuringWrites: it writes
// objects until killed, printing "KEY ETAG" after each PutObject returns.
func TestCrashWriter(t *testing.T) {
	dir := os.Getenv("DISKSTORE_CRASH_DIR")
	if dir == "" {
		t.Skip("child process of TestKillDuringWrites")
	}
	s, err := diskstore.Open(dir, diskstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.CreateBucket(t.Context(), "bkt")
	round := os.Getenv("DISKSTORE_CRASH_ROUND")
	for i := 0; ; i++ {
		key := fmt.Sprintf("r%s/obj-%d", round, i)
		if i%3 == 0 {
			key = "shared"
		}
		body := bytes.Repeat([]byte(fmt.Sprintf("%s-%d|", round, i)), 20000+i%7*10000)
		info, err := s.PutObject(t.Context(), "bkt", key, bytes.NewReader(body), objstore.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("%s %s\n", key, info.ETag)
	}
}

// TestKillDuringWrites kills a writing process with SIGKILL five times and
// checks after each restart that every acknowledged object is there and
// whole, every object's bytes match its ETag, and no leftover file remains.
func TestKillDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	dir := t.TempDir()
	acked := map[string]string{}
	for round := range 5 {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashWriter$", "-test.v=false")
		cmd.Env = append(os.Environ(), "DISKSTORE_CRASH_DIR="+dir, fmt.Sprintf("DISKSTORE_CRASH_ROUND=%d", round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		n := 0
		for sc.Scan() && n < 20+round*7 {
			key, etag, ok := strings.Cut(sc.Text(), " ")
			if !ok {
				continue
			}
			acked[key] = etag
			n++
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		if n == 0 {
			t.Fatalf("round %d: writer acknowledged nothing", round)
		}

		s, err := diskstore.Open(dir, diskstore.Options{})
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		for key, etag := range acked {
			rc, info, err := s.GetObject(t.Context(), "bkt", key)
			if err != nil {
				t.Fatalf("round %d: acknowledged %q lost: %v", round, key, err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			sum := md5.Sum(b)
			if hex.EncodeToString(sum[:]) != info.ETag || int64(len(b)) != info.Size {
				t.Fatalf("round %d: %q torn: %d bytes, etag %s", round, key, len(b), info.ETag)
			}
			if key != "shared" && info.ETag != etag {
				t.Fatalf("round %d: %q has etag %s, acknowledged %s", round, key, info.ETag, etag)
			}
		}
		// Open removed every leftover of the killed write.
		var junk []string
		dataFiles := 0
		walkErr := filepath.WalkDir(filepath.Join(dir, "buckets", "bkt", "obj"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.Contains(p, ".tmp-") {
				junk = append(junk, p)
			}
			if strings.HasSuffix(p, ".data") {
				dataFiles++
			}
			return nil
		})
		if walkErr != nil {
			t.Fatal(walkErr)
		}
		if len(junk) > 0 {
			t.Errorf("round %d: leftovers after reopen: %v", round, junk)
		}
		res, err := s.ListObjects(t.Context(), "bkt", objstore.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if dataFiles != len(res.Objects) {
			t.Errorf("round %d: %d data files for %d objects", round, dataFiles, len(res.Objects))
		}
		t.Logf("round %d: %d acknowledged, %d objects listed", round, len(acked), len(res.Objects))
	}
}
