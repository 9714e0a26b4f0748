package natstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Cluster is a JetStream cluster of nats-server processes on 127.0.0.1.
type Cluster struct {
	t     testing.TB
	bin   string
	dir   string
	mu    sync.Mutex
	nodes []*node
}

type node struct {
	name      string
	port      int
	dir, conf string
	cmd       *exec.Cmd
	done      chan struct{}
	logs      *bytes.Buffer
}

var (
	buildOnce sync.Once
	binPath   string
	errBuild  error
)

// Binary builds the nats-server command of the module's own
// nats-server/v2 dependency (from the module cache, no download) once per
// test binary and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "natstest")
		if err != nil {
			errBuild = err
			return
		}
		binPath = filepath.Join(dir, "nats-server")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/nats-io/nats-server/v2").CombinedOutput() //nolint:gosec // the module's own dependency, into a temporary directory
		if err != nil {
			errBuild = fmt.Errorf("go build nats-server: %w\n%s", err, out)
		}
	})
	if errBuild != nil {
		t.Fatal(errBuild)
	}
	return binPath
}

// freePort returns a port nothing listens on (closed again at once: a
// race with another process is possible and rare).
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts n nats-server processes (n >= 1; 3 for a cluster that
// survives one node) and waits until JetStream answers. They are killed
// when the test ends. A node that cannot start (a port taken by another
// process between the pick and the bind) makes Start try again with other
// ports, three times.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	var err error
	for range 3 {
		var c *Cluster
		if c, err = start(t, n); err == nil {
			return c
		}
		t.Logf("natstest: %v; trying again with other ports", err)
	}
	t.Fatal(err)
	return nil
}

func start(t testing.TB, n int) (*Cluster, error) {
	t.Helper()
	c := &Cluster{t: t, bin: Binary(t), dir: t.TempDir()}
	routePorts := make([]int, n)
	var routes []string
	for i := range n {
		routePorts[i] = freePort(t)
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", routePorts[i]))
	}
	for i := range n {
		nd := &node{name: fmt.Sprintf("n%d", i+1), port: freePort(t)}
		nd.dir = filepath.Join(c.dir, nd.name)
		nd.conf = filepath.Join(c.dir, nd.name+".conf")
		conf := fmt.Sprintf("server_name: %s\nlisten: 127.0.0.1:%d\njetstream {\n  store_dir: %q\n}\n", nd.name, nd.port, nd.dir)
		if n > 1 {
			conf += fmt.Sprintf("cluster {\n  name: imagerec-test\n  listen: 127.0.0.1:%d\n  routes: [%s]\n}\n", routePorts[i], strings.Join(routes, ", "))
		}
		if err := os.WriteFile(nd.conf, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, nd)
	}
	for i := range n {
		if err := c.startNode(i); err != nil {
			c.Shutdown()
			return nil, err
		}
	}
	if err := c.waitReady(60 * time.Second); err != nil {
		c.Shutdown()
		return nil, err
	}
	t.Cleanup(c.Shutdown)
	return c, nil
}

// URLs are the client URLs of every node.
func (c *Cluster) URLs() []string {
	out := make([]string, len(c.nodes))
	for i, nd := range c.nodes {
		out[i] = fmt.Sprintf("nats://127.0.0.1:%d", nd.port)
	}
	return out
}

// PIDs are the process ids of the running nodes.
func (c *Cluster) PIDs() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for _, nd := range c.nodes {
		if nd.cmd != nil {
			out = append(out, nd.cmd.Process.Pid)
		}
	}
	return out
}

// StartNode starts node i (again, after StopNode or KillNode, with its
// store) and waits until it accepts connections.
func (c *Cluster) StartNode(i int) {
	c.t.Helper()
	if err := c.startNode(i); err != nil {
		c.t.Fatal(err)
	}
}

func (c *Cluster) startNode(i int) error {
	nd := c.nodes[i]
	cmd := exec.Command(c.bin, "-c", nd.conf) //nolint:gosec // the nats-server built by Binary, with a configuration written by Start
	nd.logs = &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = nd.logs, nd.logs
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start nats node %s: %w", nd.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	c.mu.Lock()
	nd.cmd, nd.done = cmd, done
	c.mu.Unlock()
	addr := fmt.Sprintf("127.0.0.1:%d", nd.port)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case <-done:
			return fmt.Errorf("nats node %s exited at start:\n%s", nd.name, nd.logs)
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nats node %s does not listen on %s after 30s", nd.name, addr)
		}
	}
}

// StopNode stops node i cleanly (SIGTERM; its store stays for StartNode).
func (c *Cluster) StopNode(i int) { c.signal(i, syscall.SIGTERM) }

// KillNode kills node i (SIGKILL; its store stays for StartNode).
func (c *Cluster) KillNode(i int) { c.signal(i, syscall.SIGKILL) }

func (c *Cluster) signal(i int, sig syscall.Signal) {
	c.mu.Lock()
	nd := c.nodes[i]
	cmd, done := nd.cmd, nd.done
	nd.cmd = nil
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Shutdown kills every node.
func (c *Cluster) Shutdown() {
	for i := range c.nodes {
		c.KillNode(i)
	}
}

// WaitReady waits until JetStream answers an account request through
// any node (a meta leader has been elected).
func (c *Cluster) WaitReady(timeout time.Duration) {
	c.t.Helper()
	if err := c.waitReady(timeout); err != nil {
		c.t.Fatal(err)
	}
}

func (c *Cluster) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		nc, err := nats.Connect(strings.Join(c.URLs(), ","), nats.Timeout(2*time.Second))
		if err == nil {
			js, _ := jetstream.New(nc)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err = js.AccountInfo(ctx)
			cancel()
			nc.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return errors.Join(fmt.Errorf("nats cluster not ready after %s", timeout), last)
}
