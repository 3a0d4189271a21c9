package baton_test

// Test fixtures: one real Postgres + nats-server for the whole run (started by
// test/support/stack.ts), one shared Baton server process, and helpers to
// start more servers, workers and waits.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	baton "github.com/baton-run/baton/sdk/go"
)

var (
	repoRoot string
	stackEnv struct {
		DatabaseURL string `json:"databaseUrl"`
		NatsURL     string `json:"natsUrl"`
	}
	shared *batonServer
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var err error
	if repoRoot, err = filepath.Abs("../.."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	stop, err := startStack()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sdk/go tests: cannot start Postgres + NATS (test/support/stack.ts):", err)
		return 1
	}
	defer stop()
	shared, err = startServer(0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sdk/go tests: cannot start Baton:", err)
		return 1
	}
	defer shared.stop()
	return m.Run()
}

// startStack starts test/support/stack.ts; closing its stdin stops it.
func startStack() (func(), error) {
	cmd := exec.Command("node", "--import", "tsx", "test/support/stack.ts")
	cmd.Dir = repoRoot
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	line := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		s, _ := r.ReadString('\n')
		line <- s
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case s := <-line:
		if err := json.Unmarshal([]byte(s), &stackEnv); err != nil || stackEnv.DatabaseURL == "" {
			stop()
			return nil, fmt.Errorf("unexpected stack output %q: %v", s, err)
		}
	case <-time.After(60 * time.Second):
		stop()
		return nil, fmt.Errorf("no output from stack.ts within 60s")
	}
	return stop, nil
}

// batonServer is one `baton serve` process on real Postgres + NATS.
type batonServer struct {
	cmd    *exec.Cmd
	port   int
	url    string
	exited chan struct{}
	mu     sync.Mutex
	logs   bytes.Buffer
}

// startServer starts Baton on port (0: any free port) and waits until it listens.
func startServer(port int) (*batonServer, error) {
	cmd := exec.Command("node", "--import", "tsx", "server/src/main.ts", "serve", "--port", strconv.Itoa(port))
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "DATABASE_URL="+stackEnv.DatabaseURL, "NATS_URL="+stackEnv.NatsURL, "LOG_LEVEL=info")
	// Its own process group, so a kill reaches anything it spawned.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &batonServer{cmd: cmd, exited: make(chan struct{})}
	cmd.Stderr = &lockedWriter{mu: &s.mu, w: &s.logs}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = cmd.Wait(); close(s.exited) }()
	ready := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Bytes()
			s.mu.Lock()
			s.logs.Write(line)
			s.logs.WriteByte('\n')
			s.mu.Unlock()
			var rec struct {
				Msg  string `json:"msg"`
				Port int    `json:"port"`
			}
			if !sent && json.Unmarshal(line, &rec) == nil && rec.Msg == "baton listening" {
				ready <- rec.Port
				sent = true
			}
		}
	}()
	select {
	case p := <-ready:
		s.port = p
		s.url = fmt.Sprintf("http://127.0.0.1:%d", p)
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("baton exited before listening:\n%s", s.Logs())
	case <-time.After(60 * time.Second):
		s.kill()
		return nil, fmt.Errorf("baton did not listen within 60s:\n%s", s.Logs())
	}
}

// Logs returns what the server printed.
func (s *batonServer) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// kill ends the server at once (SIGKILL), as a crash would.
func (s *batonServer) kill() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.exited
}

// stop ends the server gracefully, killing it after 15s.
func (s *batonServer) stop() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		s.kill()
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// queueName is a queue of the test's own, so tests on one server never meet.
func queueName(t *testing.T) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := unsafeName.ReplaceAllString(t.Name(), "_")
	if len(name) > 80 {
		name = name[:80]
	}
	return "go-" + name + "-" + hex.EncodeToString(b[:])
}

// testLogger collects a test's SDK logs and prints them only when it fails.
func testLogger(t *testing.T) *slog.Logger {
	var mu sync.Mutex
	var buf bytes.Buffer
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if t.Failed() || os.Getenv("BATON_TEST_LOG") != "" {
			t.Logf("SDK log:\n%s", buf.String())
		}
		buf.Reset()
	})
	return slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newClient(t *testing.T, url string) *baton.Client {
	c := baton.NewClient(url)
	t.Cleanup(c.Close)
	return c
}

// runWorker starts w.Run in the background; the test's cleanup stops it and
// waits (bounded) for Run to return. The returned function stops it early
// and returns Run's error.
func runWorker(t *testing.T, w *baton.Worker) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(45 * time.Second):
				runErr = fmt.Errorf("Worker.Run did not return within 45s of cancel")
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	return stop
}

func newWorker(t *testing.T, url string, opts baton.WorkerOptions) *baton.Worker {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	if opts.WorkerID == "" {
		opts.WorkerID = "go-test-worker"
	}
	w, err := baton.NewWorker(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// waitState waits (bounded) until the task is in state and returns it.
func waitState(t *testing.T, c *baton.Client, id string, state baton.TaskState, timeout time.Duration) *baton.Task {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	task, err := c.WaitForState(ctx, id, state)
	if err != nil {
		last, _ := c.GetTask(context.Background(), id)
		t.Fatalf("task %s did not reach %s within %s: %v (now %s)", id, state, timeout, err, last.GetState())
	}
	return task
}

// recv waits (bounded) for a value from ch.
func recv[T any](t *testing.T, ch <-chan T, timeout time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(timeout):
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
		panic("unreachable")
	}
}

// eventually waits (bounded) until cond holds, re-checking it on a short tick.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

func mustCreate(t *testing.T, c *baton.Client, spec baton.TaskSpec) *baton.Task {
	t.Helper()
	task, _, err := c.CreateTask(context.Background(), spec)
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	return task
}
