package membudget

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"
)

// Memory is how much memory the process may use and where that figure
// came from.
type Memory struct {
	Bytes int64
	// Source names the file the figure came from ("cgroup memory.max",
	// "MemTotal").
	Source string
}

// Files the limit is read from; System takes a reader so tests supply
// their own.
const (
	procMeminfo = "/proc/meminfo"
	procCgroup  = "/proc/self/cgroup"
	cgroupRoot  = "/sys/fs/cgroup"
)

// System returns the smaller of MemTotal and the cgroup memory limits
// that apply to the process (v2 memory.max or v1 memory.limit_in_bytes of
// its cgroup and every parent) when one is set. readFile is os.ReadFile
// outside tests.
func System(readFile func(string) ([]byte, error)) (Memory, error) {
	b, err := readFile(procMeminfo)
	if err != nil {
		return Memory{}, fmt.Errorf("read %s: %w", procMeminfo, err)
	}
	total, err := memTotal(b)
	if err != nil {
		return Memory{}, fmt.Errorf("read %s: %w", procMeminfo, err)
	}
	m := Memory{Bytes: total, Source: "MemTotal"}
	cg, _ := readFile(procCgroup)
	for _, f := range cgroupFiles(cg) {
		b, err := readFile(f)
		if err != nil {
			continue
		}
		if lim, ok := cgroupLimit(b); ok && lim < m.Bytes {
			m = Memory{Bytes: lim, Source: "cgroup " + path.Base(f)}
		}
	}
	return m, nil
}

// cgroupFiles lists the limit files that apply to a process whose
// /proc/self/cgroup is cg: its own cgroup's and every parent's, for v2
// ("0::/a/b") and the v1 memory controller ("4:memory:/a/b"). Without cg,
// only the mount roots.
func cgroupFiles(cg []byte) []string {
	v2, v1 := []string{"/"}, []string{"/"}
	sc := bufio.NewScanner(bytes.NewReader(cg))
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), ":", 3)
		if len(f) != 3 {
			continue
		}
		switch {
		case f[0] == "0" && f[1] == "":
			v2 = ancestors(f[2])
		case slices.Contains(strings.Split(f[1], ","), "memory"):
			v1 = ancestors(f[2])
		}
	}
	var out []string
	for _, p := range v2 {
		out = append(out, path.Join(cgroupRoot, p, "memory.max"))
	}
	for _, p := range v1 {
		out = append(out, path.Join(cgroupRoot, "memory", p, "memory.limit_in_bytes"))
	}
	return out
}

// ancestors returns p and its parents up to "/".
func ancestors(p string) []string {
	p = path.Clean("/" + p)
	out := []string{p}
	for p != "/" {
		p = path.Dir(p)
		out = append(out, p)
	}
	return out
}

// memTotal parses MemTotal from /proc/meminfo ("MemTotal:  24594624 kB").
func memTotal(meminfo []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || kb <= 0 {
				return 0, fmt.Errorf("bad MemTotal %q", f[1])
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no MemTotal line")
}

// cgroupLimit parses a cgroup limit file: "max" or a huge v1 value (no
// limit) give ok false.
func cgroupLimit(b []byte) (int64, bool) {
	s := strings.TrimSpace(string(b))
	if s == "" || s == "max" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n >= 1<<62 {
		return 0, false
	}
	return n, true
}

// Default fractions and bounds of the default budget.
const (
	// DefaultFraction of the process's memory goes to decoding: the
	// models, the runtime and the Go heap's own slack need the rest.
	DefaultFraction = 4 // one quarter
	// MinDefault keeps a tiny machine able to decode a 12 MP photo.
	MinDefault = 256 << 20
)

// Default is the default budget for m: a quarter of it, at least
// MinDefault.
func Default(m Memory) int64 {
	return max(m.Bytes/DefaultFraction, MinDefault)
}

// ParseSize parses a budget such as "2GiB", "512MiB", "1.5G" or a plain
// number of bytes. SI and IEC units are both accepted ("1GB" is 10^9,
// "1GiB" 2^30).
func ParseSize(s string) (int64, error) {
	n, err := humanize.ParseBytes(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("memory size %q: want a number of bytes or a size such as 2GiB or 512MiB", s)
	}
	if n > 1<<62 {
		return 0, fmt.Errorf("memory size %q is too large", s)
	}
	return int64(n), nil
}

// fallbackSize is the budget when the machine's memory cannot be read.
const fallbackSize = 1 << 30

// Choose returns the budget to use and why: configured when positive,
// else Default of the System memory (read with readFile), else 1 GiB. The
// reason reads well after the size in a log line ("set by
// --memory-budget", "a quarter of MemTotal 23.5 GiB").
func Choose(configured int64, readFile func(string) ([]byte, error)) (int64, string) {
	if configured > 0 {
		return configured, "set by --memory-budget"
	}
	m, err := System(readFile)
	if err != nil {
		return fallbackSize, "default; machine memory unknown: " + err.Error()
	}
	d := Default(m)
	if d == MinDefault && m.Bytes/DefaultFraction < MinDefault {
		return d, "the minimum default; " + m.Source + " is " + humanize.IBytes(uint64(m.Bytes))
	}
	return d, "a quarter of " + m.Source + " " + humanize.IBytes(uint64(m.Bytes))
}
