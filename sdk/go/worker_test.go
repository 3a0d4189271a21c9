package baton_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
	baton "github.com/baton-run/baton/sdk/go"
)

func TestWorkerCompletesTask(t *testing.T) {
	t.Parallel()
	c := newClient(t, shared.url)
	queue := queueName(t)
	w := newWorker(t, shared.url, baton.WorkerOptions{Queues: []string{queue}, Slots: 2})
	w.Handle("greet", func(ctx context.Context, task *baton.Task) (any, error) {
		var in struct {
			Name string `json:"name"`
		}
		if err := baton.DecodePayload(task, &in); err != nil {
			return nil, baton.NonRetryable(err)
		}
		return map[string]any{"greeting": "hello " + in.Name, "attempt": task.GetAttempt()}, nil
	})
	runWorker(t, w)

	spec := baton.TaskSpec{Queue: queue, Type: "greet", Payload: map[string]any{"name": "ada"}, IdempotencyKey: queue + "-greet-ada"}
	task, created, err := c.CreateTask(context.Background(), spec)
	if err != nil || !created {
		t.Fatalf("CreateTask: created=%v err=%v", created, err)
	}
	// I1: the same key and body return the original task.
	again, created, err := c.CreateTask(context.Background(), spec)
	if err != nil || created || again.GetId() != task.GetId() {
		t.Fatalf("idempotent CreateTask: id=%s created=%v err=%v; want %s, false", again.GetId(), created, err, task.GetId())
	}

	done := waitState(t, c, task.GetId(), baton.TaskStateCompleted, 15*time.Second)
	var out struct {
		Greeting string `json:"greeting"`
		Attempt  int    `json:"attempt"`
	}
	if err := baton.DecodeResult(done, &out); err != nil {
		t.Fatal(err)
	}
	if out.Greeting != "hello ada" || out.Attempt != 1 {
		t.Fatalf("result = %+v", out)
	}
	if n := len(done.GetAttempts()); n != 1 {
		t.Fatalf("attempts = %d, want 1", n)
	}
}

func TestWorkerRetriesRetryableErrorsWithBackoff(t *testing.T) {
	t.Parallel()
	c := newClient(t, shared.url)
	queue := queueName(t)
	w := newWorker(t, shared.url, baton.WorkerOptions{Queues: []string{queue}})
	var mu sync.Mutex
	var starts []time.Time
	w.Handle("flaky", func(ctx context.Context, task *baton.Task) (any, error) {
		mu.Lock()
		starts = append(starts, time.Now())
		n := len(starts)
		mu.Unlock()
		switch n {
		case 1:
			return nil, baton.Retryable(errors.New("upstream said 503"), baton.ErrorType("http_503"), baton.RetryAfter(600*time.Millisecond))
		case 2:
			return nil, errors.New("connection reset")
		}
		return map[string]any{"ok": true}, nil
	})
	runWorker(t, w)

	task := mustCreate(t, c, baton.TaskSpec{
		Queue: queue, Type: "flaky", MaxAttempts: 5,
		RetryPolicy: &baton.RetryPolicy{InitialBackoff: 200 * time.Millisecond, Multiplier: 2, MaxBackoff: time.Second, Jitter: 0.1},
	})
	done := waitState(t, c, task.GetId(), baton.TaskStateCompleted, 20*time.Second)

	attempts := done.GetAttempts()
	if len(attempts) != 3 {
		t.Fatalf("attempts = %d, want 3", len(attempts))
	}
	if e := attempts[0].GetError(); e.GetType() != "http_503" || e.GetNonRetryable() || e.GetMessage() != "upstream said 503" {
		t.Fatalf("attempt 1 error = %v", e)
	}
	if e := attempts[1].GetError(); e.GetType() != "error" || e.GetMessage() != "connection reset" {
		t.Fatalf("attempt 2 error = %v", e)
	}
	if got := attempts[2].GetOutcome(); got != baton.AttemptCompleted {
		t.Fatalf("attempt 3 outcome = %v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	// T5: the retry waits for retry_after (600ms), then for the backoff (400ms ± 10%).
	if gap := starts[1].Sub(starts[0]); gap < 550*time.Millisecond {
		t.Errorf("second attempt %s after the first; want at least the 600ms retry-after", gap)
	}
	if gap := starts[2].Sub(starts[1]); gap < 330*time.Millisecond {
		t.Errorf("third attempt %s after the second; want at least the ~400ms backoff", gap)
	}
}

func TestWorkerNonRetryableDeadLettersThenRequeueCompletes(t *testing.T) {
	t.Parallel()
	c := newClient(t, shared.url)
	queue := queueName(t)
	w := newWorker(t, shared.url, baton.WorkerOptions{Queues: []string{queue}})
	var calls atomic.Int32
	w.Handle("validate", func(ctx context.Context, task *baton.Task) (any, error) {
		if calls.Add(1) == 1 {
			return nil, baton.NonRetryable(errors.New("address is missing"), baton.ErrorType("validation"), baton.ErrorDetails(map[string]any{"field": "address"}))
		}
		return map[string]any{"fixed": true}, nil
	})
	runWorker(t, w)

	task := mustCreate(t, c, baton.TaskSpec{Queue: queue, Type: "validate", MaxAttempts: 5})
	dead := waitState(t, c, task.GetId(), baton.TaskStateDeadLetter, 15*time.Second)
	le := dead.GetLastError()
	if le.GetType() != "validation" || !le.GetNonRetryable() || le.GetDetails().AsMap()["field"] != "address" {
		t.Fatalf("last_error = %v", le)
	}
	if len(dead.GetAttempts()) != 1 {
		t.Fatalf("a non-retryable error was retried: %d attempts", len(dead.GetAttempts()))
	}

	if _, err := c.RequeueTask(context.Background(), task.GetId()); err != nil {
		t.Fatal(err)
	}
	done := waitState(t, c, task.GetId(), baton.TaskStateCompleted, 15*time.Second)
	if done.GetResult().AsMap()["fixed"] != true || calls.Load() != 2 {
		t.Fatalf("result = %v after %d calls", done.GetResult().AsMap(), calls.Load())
	}
}

func TestWorkerCancelStopsHandlerWithinASecond(t *testing.T) {
	t.Parallel()
	c := newClient(t, shared.url)
	queue := queueName(t)
	w := newWorker(t, shared.url, baton.WorkerOptions{Queues: []string{queue}})
	started := make(chan struct{}, 1)
	stopped := make(chan error, 1)
	w.Handle("slow", func(ctx context.Context, task *baton.Task) (any, error) {
		started <- struct{}{}
		<-ctx.Done()
		stopped <- context.Cause(ctx)
		return nil, ctx.Err()
	})
	runWorker(t, w)

	task := mustCreate(t, c, baton.TaskSpec{Queue: queue, Type: "slow"})
	recv(t, started, 15*time.Second, "the handler to start")
	at := time.Now()
	if _, err := c.CancelTask(context.Background(), task.GetId(), "duplicate order"); err != nil {
		t.Fatal(err)
	}
	cause := recv(t, stopped, 5*time.Second, "the handler's context to be cancelled")
	if took := time.Since(at); took > time.Second {
		t.Errorf("handler context cancelled %s after CancelTask; want within 1s", took)
	}
	var aborted *baton.TaskAbortedError
	if !errors.Is(cause, baton.ErrTaskCancelled) || !errors.As(cause, &aborted) || !strings.Contains(aborted.Reason, "duplicate order") {
		t.Fatalf("context.Cause = %v; want ErrTaskCancelled with the reason", cause)
	}
	done := waitState(t, c, task.GetId(), baton.TaskStateCancelled, 10*time.Second)
	if !strings.Contains(done.GetTerminalReason(), "duplicate order") {
		t.Fatalf("terminal_reason = %q", done.GetTerminalReason())
	}
}

func TestWorkerRespectsSlotLimit(t *testing.T) {
	t.Parallel()
	c := newClient(t, shared.url)
	queue := queueName(t)
	const slots, tasks = 2, 6
	w := newWorker(t, shared.url, baton.WorkerOptions{Queues: []string{queue}, Slots: slots})
	var running, peak atomic.Int32
	release := make(chan struct{})
	w.Handle("hold", func(ctx context.Context, task *baton.Task) (any, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil, nil
	})
	runWorker(t, w)

	ids := make([]string, 0, tasks)
	for i := 0; i < tasks; i++ {
		ids = append(ids, mustCreate(t, c, baton.TaskSpec{Queue: queue, Type: "hold"}).GetId())
	}
	eventually(t, 15*time.Second, "both slots to fill", func() bool { return running.Load() == slots })
	// K1: with both slots full, the server holds the rest back.
	claimed := 0
	for task, err := range c.ListTasks(context.Background(), baton.ListFilter{Queue: queue, PageSize: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		if task.GetState() == baton.TaskStateClaimed {
			claimed++
		}
	}
	if claimed != slots {
		t.Fatalf("%d tasks claimed with %d slots", claimed, slots)
	}
	close(release)
	for _, id := range ids {
		waitState(t, c, id, baton.TaskStateCompleted, 20*time.Second)
	}
	if p := peak.Load(); p != slots {
		t.Fatalf("peak concurrency %d; want %d", p, slots)
	}
}

func TestWorkerDrainsOnContextCancel(t *testing.T) {
	t.Parallel()
	c := newClient(t, shared.url)
	queue := queueName(t)
	w := newWorker(t, shared.url, baton.WorkerOptions{Queues: []string{queue}, ShutdownGrace: 20 * time.Second})
	started := make(chan struct{}, 1)
	finish := make(chan struct{})
	w.Handle("work", func(ctx context.Context, task *baton.Task) (any, error) {
		started <- struct{}{}
		select {
		case <-finish:
			return map[string]any{"finished": true}, nil
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	})
	stop := runWorker(t, w)
	task := mustCreate(t, c, baton.TaskSpec{Queue: queue, Type: "work"})
	recv(t, started, 15*time.Second, "the handler to start")

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// The server sees the session draining (G2)…
	eventually(t, 10*time.Second, "ListWorkers to show the worker DRAINING", func() bool {
		workers, err := c.ListWorkers(context.Background(), "", queue)
		if err != nil {
			t.Fatal(err)
		}
		for _, wi := range workers {
			if wi.GetInstanceId() == w.InstanceID() && wi.GetHealth() == batonv1.WorkerHealth_WORKER_HEALTH_DRAINING {
				return true
			}
		}
		return false
	})
	// …while Run still waits for the running task…
	select {
	case err := <-stopped:
		t.Fatalf("Run returned (%v) while a task was still running", err)
	default:
	}
	close(finish)
	// …then return once its result is acknowledged.
	if err := recv(t, stopped, 15*time.Second, "Run to return"); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetTask(context.Background(), task.GetId())
	if err != nil {
		t.Fatal(err)
	}
	if got.GetState() != baton.TaskStateCompleted {
		t.Fatalf("after the drain the task is %s; want COMPLETED (its result acknowledged before Run returned)", got.GetState())
	}
}

func TestWorkerShutdownGraceCancelsStragglers(t *testing.T) {
	t.Parallel()
	c := newClient(t, shared.url)
	queue := queueName(t)
	w := newWorker(t, shared.url, baton.WorkerOptions{Queues: []string{queue}, ShutdownGrace: 300 * time.Millisecond})
	started := make(chan struct{}, 1)
	causes := make(chan error, 1)
	w.Handle("stuck", func(ctx context.Context, task *baton.Task) (any, error) {
		started <- struct{}{}
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return nil, ctx.Err()
	})
	stop := runWorker(t, w)
	task := mustCreate(t, c, baton.TaskSpec{Queue: queue, Type: "stuck", RetryPolicy: &baton.RetryPolicy{InitialBackoff: time.Hour, MaxBackoff: time.Hour}})
	recv(t, started, 15*time.Second, "the handler to start")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if cause := recv(t, causes, time.Second, "the handler's cause"); !errors.Is(cause, baton.ErrWorkerShutdown) {
		t.Fatalf("cause = %v; want ErrWorkerShutdown", cause)
	}
	got, err := c.GetTask(context.Background(), task.GetId())
	if err != nil {
		t.Fatal(err)
	}
	if got.GetState() != baton.TaskStatePending || got.GetLastError().GetType() != "worker_shutdown" {
		t.Fatalf("task is %s with last_error %v; want PENDING after a worker_shutdown failure", got.GetState(), got.GetLastError())
	}
}

func TestWorkerExtendLease(t *testing.T) {
	t.Parallel()
	c := newClient(t, shared.url)
	queue := queueName(t)
	w := newWorker(t, shared.url, baton.WorkerOptions{Queues: []string{queue}})
	type extended struct {
		deadline time.Time
		err      error
	}
	got := make(chan extended, 1)
	w.Handle("long", func(ctx context.Context, task *baton.Task) (any, error) {
		d, err := baton.ExtendLease(ctx, 10*time.Minute)
		got <- extended{d, err}
		return nil, nil
	})
	runWorker(t, w)
	task := mustCreate(t, c, baton.TaskSpec{Queue: queue, Type: "long"})
	e := recv(t, got, 15*time.Second, "ExtendLease")
	if e.err != nil {
		t.Fatal(e.err)
	}
	if until := time.Until(e.deadline); until < 9*time.Minute || until > 11*time.Minute {
		t.Fatalf("new deadline in %s; want ~10m", until)
	}
	waitState(t, c, task.GetId(), baton.TaskStateCompleted, 15*time.Second)
	if _, err := baton.ExtendLease(context.Background(), time.Minute); err == nil {
		t.Fatal("ExtendLease outside a handler succeeded")
	}
}

// TestWorkerSurvivesServerRestart kills the Baton process while a task runs,
// lets the handler finish while the server is down, and restarts Baton on the
// same port and database: the worker must reconnect, resume the lease (N2),
// resend the unacknowledged result (R3), and the task must complete exactly
// once. A WatchTasks iterator across the restart must resume without gaps or
// duplicates.
func TestWorkerSurvivesServerRestart(t *testing.T) {
	t.Parallel()
	srv, err := startServer(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.stop() })
	c := newClient(t, srv.url)
	queue := queueName(t)
	w := newWorker(t, srv.url, baton.WorkerOptions{Queues: []string{queue}})
	var calls atomic.Int32
	started := make(chan struct{}, 1)
	finish := make(chan struct{})
	w.Handle("survive", func(ctx context.Context, task *baton.Task) (any, error) {
		calls.Add(1)
		started <- struct{}{}
		select {
		case <-finish:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
		return map[string]any{"survived": true}, nil
	})
	runWorker(t, w)

	// Watch the queue's events from the start, across the restart.
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	events := make(chan *baton.TaskEvent, 64)
	watchErr := make(chan error, 1)
	go func() {
		defer close(events)
		for ev, err := range c.WatchTasks(watchCtx, baton.WatchFilter{Queue: queue, AfterCursor: baton.Cursor(0)}) {
			if err != nil {
				watchErr <- err
				return
			}
			events <- ev
		}
	}()

	task := mustCreate(t, c, baton.TaskSpec{Queue: queue, Type: "survive", Timeouts: baton.Timeouts{Heartbeat: 30 * time.Second}})
	recv(t, started, 15*time.Second, "the handler to start")
	eventually(t, 5*time.Second, "the worker to be connected", w.Connected)

	srv.kill()
	eventually(t, 5*time.Second, "the worker to notice the lost stream", func() bool { return !w.Connected() })
	close(finish) // the result is ready while nobody can take it

	restarted, err := startServer(srv.port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { restarted.stop() })
	srv = restarted

	done := waitState(t, c, task.GetId(), baton.TaskStateCompleted, 30*time.Second)
	if n := calls.Load(); n != 1 {
		t.Fatalf("handler ran %d times; want exactly once", n)
	}
	if n := len(done.GetAttempts()); n != 1 {
		t.Fatalf("%d attempts; want 1 (the lease was resumed, not expired)", n)
	}
	if done.GetResult().AsMap()["survived"] != true {
		t.Fatalf("result = %v", done.GetResult().AsMap())
	}

	var kinds []string
	var last int64
	for len(kinds) == 0 || kinds[len(kinds)-1] != baton.EventCompleted.String() {
		select {
		case ev := <-events:
			if ev.GetCursor() <= last {
				t.Fatalf("event cursor %d after %d: a duplicate or out of order", ev.GetCursor(), last)
			}
			last = ev.GetCursor()
			kinds = append(kinds, ev.GetType().String())
		case err := <-watchErr:
			t.Fatalf("WatchTasks ended: %v", err)
		case <-time.After(20 * time.Second):
			t.Fatalf("WatchTasks did not deliver the completion; got %v", kinds)
		}
	}
	want := []string{baton.EventCreated.String(), baton.EventClaimed.String(), baton.EventCompleted.String()}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Fatalf("events = %v; want %v", kinds, want)
	}
}
