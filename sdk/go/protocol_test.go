package baton_test

// Protocol tests against a scripted, in-process WorkerService: the test plays
// the server message by message, to reach what a real server rarely does on
// cue (lost Acks, refused results, GoAway with work in flight, lost leases on
// resume, refused Hellos, silence).

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
	"github.com/baton-run/baton/gen/go/baton/v1/batonv1connect"
	baton "github.com/baton-run/baton/sdk/go"
)

// fakeServer serves WorkerService.Connect over h2c; each stream is handed to
// the test, which decides what to send and how the stream ends.
type fakeServer struct {
	batonv1connect.UnimplementedWorkerServiceHandler
	url     string
	streams chan *fakeStream
}

type fakeStream struct {
	t      *testing.T
	at     time.Time
	hello  *batonv1.Hello
	in     chan *batonv1.ConnectRequest // closed when the worker closes its side
	stream *connect.BidiStream[batonv1.ConnectRequest, batonv1.ConnectResponse]
	end    chan error
	ctx    context.Context
}

func startFake(t *testing.T) *fakeServer {
	t.Helper()
	f := &fakeServer{streams: make(chan *fakeStream, 16)}
	mux := http.NewServeMux()
	mux.Handle(batonv1connect.NewWorkerServiceHandler(f))
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: mux, Protocols: &protocols}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	f.url = "http://" + ln.Addr().String()
	return f
}

func (f *fakeServer) Connect(ctx context.Context, stream *connect.BidiStream[batonv1.ConnectRequest, batonv1.ConnectResponse]) error {
	first, err := stream.Receive()
	if err != nil {
		return err
	}
	s := &fakeStream{at: time.Now(), hello: first.GetHello(), in: make(chan *batonv1.ConnectRequest, 256), stream: stream, end: make(chan error, 1), ctx: ctx}
	go func() {
		defer close(s.in)
		for {
			m, err := stream.Receive()
			if err != nil {
				return
			}
			s.in <- m
		}
	}()
	f.streams <- s
	select {
	case err := <-s.end:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// next waits for the worker's next stream.
func (f *fakeServer) next(t *testing.T) *fakeStream {
	t.Helper()
	s := recv(t, f.streams, 10*time.Second, "a worker stream")
	s.t = t
	return s
}

func (s *fakeStream) send(m *batonv1.ConnectResponse) {
	s.t.Helper()
	if err := s.stream.Send(m); err != nil {
		s.t.Fatalf("fake server send: %v", err)
	}
}

func (s *fakeStream) welcome(w *batonv1.Welcome) {
	if w == nil {
		w = &batonv1.Welcome{}
	}
	if w.SessionId == "" {
		w.SessionId = "session-" + s.at.Format("150405.000000")
	}
	if w.HeartbeatInterval == nil {
		w.HeartbeatInterval = durationpb.New(time.Hour) // quiet unless a test wants beats
	}
	if w.CancelGrace == nil {
		w.CancelGrace = durationpb.New(10 * time.Second)
	}
	if w.Features == nil {
		w.Features = []string{"extend_lease", "resume"}
	}
	s.send(&batonv1.ConnectResponse{Message: &batonv1.ConnectResponse_Welcome{Welcome: w}})
}

func (s *fakeStream) assign(taskID, leaseID, taskType string) {
	s.send(&batonv1.ConnectResponse{Message: &batonv1.ConnectResponse_Assign{Assign: &batonv1.Assign{Task: &batonv1.Task{
		Id: taskID, Type: taskType, Queue: "q", Attempt: 1, State: batonv1.TaskState_TASK_STATE_CLAIMED,
		Lease: &batonv1.Lease{LeaseId: leaseID, Attempt: 1, ExpireTime: timestamppb.New(time.Now().Add(time.Minute))},
	}}}})
}

func (s *fakeStream) ack(taskID, leaseID string, accepted bool, state batonv1.TaskState, detail *batonv1.ErrorDetail) {
	s.send(&batonv1.ConnectResponse{Message: &batonv1.ConnectResponse_Ack{Ack: &batonv1.Ack{
		TaskId: taskID, LeaseId: leaseID, Accepted: accepted, TaskState: state, Error: detail,
	}}})
}

func (s *fakeStream) cancel(taskID, leaseID, reason string, leaseLost bool) {
	s.send(&batonv1.ConnectResponse{Message: &batonv1.ConnectResponse_Cancel{Cancel: &batonv1.Cancel{
		TaskId: taskID, LeaseId: leaseID, Reason: reason, LeaseLost: leaseLost,
	}}})
}

func (s *fakeStream) goAway(reason string, after time.Duration) {
	s.send(&batonv1.ConnectResponse{Message: &batonv1.ConnectResponse_GoAway{GoAway: &batonv1.GoAway{
		Reason: reason, ReconnectAfter: durationpb.New(after),
	}}})
}

// finish ends the stream (nil: cleanly).
func (s *fakeStream) finish(err error) { s.end <- err }

// expect waits for the next message the worker sends that match accepts,
// skipping heartbeats unless asked for.
func (s *fakeStream) expect(what string, match func(*batonv1.ConnectRequest) bool) *batonv1.ConnectRequest {
	s.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-s.in:
			if !ok {
				s.t.Fatalf("the worker closed the stream while the test waited for %s", what)
			}
			if match(m) {
				return m
			}
		case <-deadline:
			s.t.Fatalf("timed out waiting for the worker to send %s", what)
		}
	}
}

func isResult(m *batonv1.ConnectRequest) bool    { return m.GetResult() != nil }
func isHeartbeat(m *batonv1.ConnectRequest) bool { return m.GetHeartbeat() != nil }

// expectClosed waits until the worker closes its side of the stream, failing
// on any Result sent meanwhile.
func (s *fakeStream) expectClosed(what string) {
	s.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-s.in:
			if !ok {
				return
			}
			if m.GetResult() != nil {
				s.t.Fatalf("unexpected Result while waiting for %s: %v", what, m.GetResult())
			}
		case <-deadline:
			s.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

type eventLog struct {
	mu     sync.Mutex
	events []baton.WorkerEvent
	signal chan struct{}
}

func newEventLog() *eventLog { return &eventLog{signal: make(chan struct{}, 1)} }

func (l *eventLog) record(ev baton.WorkerEvent) {
	l.mu.Lock()
	l.events = append(l.events, ev)
	l.mu.Unlock()
	select {
	case l.signal <- struct{}{}:
	default:
	}
}

func (l *eventLog) count(kind baton.WorkerEventKind) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ev := range l.events {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

// wait waits until n events of kind were seen.
func (l *eventLog) wait(t *testing.T, kind baton.WorkerEventKind, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for l.count(kind) < n {
		select {
		case <-l.signal:
		case <-deadline:
			t.Fatalf("timed out waiting for %d %q events (saw %d)", n, kind, l.count(kind))
		}
	}
}

const (
	taskA  = "01936b2e-0000-7000-8000-00000000000a"
	leaseA = "01936b2e-0000-7000-8000-0000000000aa"
	taskB  = "01936b2e-0000-7000-8000-00000000000b"
	leaseB = "01936b2e-0000-7000-8000-0000000000bb"
)

func fakeWorker(t *testing.T, f *fakeServer, opts baton.WorkerOptions, handlers map[string]baton.HandlerFunc) (*baton.Worker, *eventLog) {
	t.Helper()
	events := newEventLog()
	if opts.Queues == nil {
		opts.Queues = []string{"q"}
	}
	opts.OnEvent = events.record
	// Scripted streams often end with results nobody will acknowledge.
	opts.FlushTimeout = 300 * time.Millisecond
	// Deterministic, short reconnect delays: 100ms, 200ms, 400ms, ...
	opts.Reconnect = baton.Backoff{Rand: func() float64 { return 0 }}
	w := newWorker(t, f.url, opts)
	for typ, h := range handlers {
		w.Handle(typ, h)
	}
	return w, events
}

func TestProtocolHelloAndHeartbeats(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	release := make(chan struct{})
	w, _ := fakeWorker(t, f, baton.WorkerOptions{Slots: 3, WorkerID: "wid", Labels: map[string]string{"zone": "a"}}, map[string]baton.HandlerFunc{
		"b.type": func(ctx context.Context, _ *baton.Task) (any, error) { <-release; return nil, nil },
		"a.type": func(ctx context.Context, _ *baton.Task) (any, error) { return nil, nil },
	})
	defer close(release)
	runWorker(t, w)

	s := f.next(t)
	h := s.hello
	if h.GetSlots() != 3 || h.GetWorkerId() != "wid" || h.GetInstanceId() != w.InstanceID() || !strings.HasPrefix(h.GetSdk(), "baton-go/") ||
		strings.Join(h.GetTaskTypes(), ",") != "a.type,b.type" || h.GetLabels()["zone"] != "a" || len(h.GetResumeLeases()) != 0 {
		t.Fatalf("Hello = %v", h)
	}
	s.welcome(&batonv1.Welcome{HeartbeatInterval: durationpb.New(300 * time.Millisecond)})
	s.assign(taskA, leaseA, "b.type")
	// B1: every heartbeat lists every running lease, at least once per interval.
	var last time.Time
	for i := 0; i < 3; i++ {
		m := s.expect("a heartbeat", isHeartbeat)
		now := time.Now()
		leases := m.GetHeartbeat().GetLeases()
		if len(leases) == 1 && leases[0].GetTaskId() == taskA && leases[0].GetLeaseId() == leaseA {
			if !last.IsZero() && now.Sub(last) > 600*time.Millisecond {
				t.Fatalf("heartbeats %s apart; interval is 300ms (sent every 240ms)", now.Sub(last))
			}
			last = now
		} else if i > 0 {
			t.Fatalf("heartbeat lists %v", leases)
		}
	}
	s.finish(nil)
}

// R3 + N2: a result whose Ack was lost is kept, its lease resumed in the next
// Hello, and the same result resent after the next Welcome.
func TestProtocolResendsUnackedResultAfterReconnect(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	w, events := fakeWorker(t, f, baton.WorkerOptions{}, map[string]baton.HandlerFunc{
		"t": func(ctx context.Context, _ *baton.Task) (any, error) { return map[string]any{"n": 7}, nil },
	})
	runWorker(t, w)

	s1 := f.next(t)
	s1.welcome(nil)
	s1.assign(taskA, leaseA, "t")
	first := s1.expect("the result", isResult).GetResult()
	if first.GetTaskId() != taskA || first.GetLeaseId() != leaseA || first.GetCompleted().AsMap()["n"] != float64(7) {
		t.Fatalf("result = %v", first)
	}
	s1.finish(connect.NewError(connect.CodeUnavailable, errors.New("replica going down"))) // no Ack

	s2 := f.next(t)
	if r := s2.hello.GetResumeLeases(); len(r) != 1 || r[0].GetTaskId() != taskA || r[0].GetLeaseId() != leaseA {
		t.Fatalf("Hello.resume_leases = %v; want the unacknowledged result's lease", r)
	}
	s2.welcome(&batonv1.Welcome{Resumed: s2.hello.GetResumeLeases()})
	again := s2.expect("the resent result", isResult).GetResult()
	if again.GetTaskId() != taskA || again.GetCompleted().AsMap()["n"] != float64(7) {
		t.Fatalf("resent result = %v", again)
	}
	s2.ack(taskA, leaseA, true, batonv1.TaskState_TASK_STATE_COMPLETED, nil)
	events.wait(t, baton.WorkerEventCompleted, 1)
	s2.finish(connect.NewError(connect.CodeUnavailable, errors.New("again")))

	// Acknowledged: the next session neither resumes nor resends it.
	s3 := f.next(t)
	if len(s3.hello.GetResumeLeases()) != 0 {
		t.Fatalf("acknowledged lease resumed: %v", s3.hello.GetResumeLeases())
	}
	s3.welcome(nil)
	s3.finish(nil)
	if n := events.count(baton.WorkerEventCompleted); n != 1 {
		t.Fatalf("%d completed events", n)
	}
}

// R4: a refused result is forgotten, not resent.
func TestProtocolRefusedResultIsNotResent(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	w, events := fakeWorker(t, f, baton.WorkerOptions{}, map[string]baton.HandlerFunc{
		"t": func(ctx context.Context, _ *baton.Task) (any, error) { return nil, nil },
	})
	runWorker(t, w)
	s1 := f.next(t)
	s1.welcome(nil)
	s1.assign(taskA, leaseA, "t")
	s1.expect("the result", isResult)
	s1.ack(taskA, leaseA, false, 0, &batonv1.ErrorDetail{Reason: batonv1.ErrorReason_LEASE_STALE.String(), Message: "stale"})
	events.wait(t, baton.WorkerEventRejected, 1)
	s1.finish(connect.NewError(connect.CodeUnavailable, errors.New("bye")))

	s2 := f.next(t)
	if len(s2.hello.GetResumeLeases()) != 0 {
		t.Fatalf("refused result's lease resumed: %v", s2.hello.GetResumeLeases())
	}
	s2.welcome(nil)
	s2.assign(taskB, leaseB, "t")
	if r := s2.expect("a result", isResult).GetResult(); r.GetTaskId() != taskB {
		t.Fatalf("the refused result was resent: %v", r)
	}
	s2.finish(nil)
}

// G1: after GoAway no new work starts, running work finishes and is reported,
// then the worker closes the stream and reconnects after reconnect_after.
func TestProtocolGoAway(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	release := make(chan struct{})
	var started sync.Map
	w, _ := fakeWorker(t, f, baton.WorkerOptions{Slots: 2}, map[string]baton.HandlerFunc{
		"t": func(ctx context.Context, task *baton.Task) (any, error) {
			started.Store(task.GetId(), true)
			<-release
			return map[string]any{"ok": true}, nil
		},
	})
	runWorker(t, w)
	s1 := f.next(t)
	s1.welcome(nil)
	s1.assign(taskA, leaseA, "t")
	eventually(t, 5*time.Second, "the first task to start", func() bool { _, ok := started.Load(taskA); return ok })
	s1.goAway("deploy", 300*time.Millisecond)
	s1.assign(taskB, leaseB, "t") // crossed the GoAway: given straight back
	r := s1.expect("a result", isResult).GetResult()
	if r.GetTaskId() != taskB || r.GetFailed().GetError().GetType() != "worker_going_away" {
		t.Fatalf("result after GoAway = %v; want worker_going_away for %s", r, taskB)
	}
	if _, ok := started.Load(taskB); ok {
		t.Fatal("a task assigned after GoAway was started")
	}
	s1.ack(taskB, leaseB, true, batonv1.TaskState_TASK_STATE_PENDING, nil)
	close(release)
	r = s1.expect("the running task's result", isResult).GetResult()
	if r.GetTaskId() != taskA || r.GetCompleted() == nil {
		t.Fatalf("result = %v", r)
	}
	s1.ack(taskA, leaseA, true, batonv1.TaskState_TASK_STATE_COMPLETED, nil)
	s1.expectClosed("the worker to close the idle stream")
	closedAt := time.Now()
	s1.finish(nil)

	s2 := f.next(t)
	if gap := s2.at.Sub(closedAt); gap < 250*time.Millisecond {
		t.Fatalf("reconnected %s after the stream ended; GoAway said 300ms", gap)
	}
	s2.welcome(nil)
	s2.finish(nil)
}

// N2: a lease reported lost on resume stops its handler; nothing is sent for it.
func TestProtocolLostOnResumeStopsHandler(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	causes := make(chan error, 1)
	w, _ := fakeWorker(t, f, baton.WorkerOptions{}, map[string]baton.HandlerFunc{
		"t": func(ctx context.Context, _ *baton.Task) (any, error) {
			<-ctx.Done()
			causes <- context.Cause(ctx)
			return map[string]any{"late": true}, nil
		},
	})
	runWorker(t, w)
	s1 := f.next(t)
	s1.welcome(nil)
	s1.assign(taskA, leaseA, "t")
	eventually(t, 5*time.Second, "the handler to run", func() bool { return w.Running() == 1 })
	s1.finish(connect.NewError(connect.CodeUnavailable, errors.New("network")))

	s2 := f.next(t)
	if r := s2.hello.GetResumeLeases(); len(r) != 1 || r[0].GetLeaseId() != leaseA {
		t.Fatalf("resume_leases = %v", r)
	}
	s2.welcome(&batonv1.Welcome{Lost: s2.hello.GetResumeLeases()})
	if cause := recv(t, causes, 5*time.Second, "the handler to stop"); !errors.Is(cause, baton.ErrLeaseLost) {
		t.Fatalf("cause = %v; want ErrLeaseLost", cause)
	}
	// B1 after the loss lists nothing, and no Result is sent.
	s2.send(&batonv1.ConnectResponse{Message: &batonv1.ConnectResponse_GoAway{GoAway: &batonv1.GoAway{Reason: "end of test"}}})
	s2.expectClosed("the worker to close the stream")
	s2.finish(nil)
}

// B2 and X2: Cancel(lease_lost) stops the handler silently; a plain Cancel
// stops it and reports a "cancelled" failure even if the handler ignores its
// context, within half the cancel grace.
func TestProtocolCancelAndLeaseLost(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	causes := make(chan error, 2)
	w, events := fakeWorker(t, f, baton.WorkerOptions{Slots: 2}, map[string]baton.HandlerFunc{
		"polite": func(ctx context.Context, _ *baton.Task) (any, error) {
			<-ctx.Done()
			causes <- context.Cause(ctx)
			return map[string]any{"ignored": true}, nil
		},
		"stubborn": func(ctx context.Context, _ *baton.Task) (any, error) {
			<-ctx.Done()
			causes <- context.Cause(ctx)
			select {} // never returns
		},
	})
	runWorker(t, w)
	s := f.next(t)
	s.welcome(&batonv1.Welcome{CancelGrace: durationpb.New(600 * time.Millisecond)})
	s.assign(taskA, leaseA, "polite")
	s.assign(taskB, leaseB, "stubborn")
	eventually(t, 5*time.Second, "both handlers to run", func() bool { return w.Running() == 2 })

	s.cancel(taskA, leaseA, "lease expired", true)
	if c := recv(t, causes, 5*time.Second, "the lease-lost cause"); !errors.Is(c, baton.ErrLeaseLost) {
		t.Fatalf("cause = %v", c)
	}
	at := time.Now()
	s.cancel(taskB, leaseB, "cancelled by caller: not needed", false)
	if c := recv(t, causes, 5*time.Second, "the cancel cause"); !errors.Is(c, baton.ErrTaskCancelled) {
		t.Fatalf("cause = %v", c)
	}
	r := s.expect("the cancellation failure", isResult).GetResult()
	if r.GetTaskId() != taskB || r.GetFailed().GetError().GetType() != "cancelled" || !strings.Contains(r.GetFailed().GetError().GetMessage(), "not needed") {
		t.Fatalf("result = %v; want a cancelled failure for the stubborn task (none for the lost lease)", r)
	}
	if took := time.Since(at); took > 2*time.Second {
		t.Fatalf("cancellation failure sent %s after Cancel; cancel_grace is 600ms", took)
	}
	s.ack(taskB, leaseB, true, batonv1.TaskState_TASK_STATE_CANCELLED, nil)
	events.wait(t, baton.WorkerEventFailed, 1)
	if n := events.count(baton.WorkerEventCancelled); n != 2 {
		t.Fatalf("%d cancelled events; want 2", n)
	}
	s.finish(nil)
}

// A refused Hello cannot be fixed by reconnecting: Run returns the error.
func TestProtocolInvalidHelloIsFatal(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	w, _ := fakeWorker(t, f, baton.WorkerOptions{}, map[string]baton.HandlerFunc{
		"t": func(ctx context.Context, _ *baton.Task) (any, error) { return nil, nil },
	})
	runErr := make(chan error, 1)
	go func() { runErr <- w.Run(context.Background()) }()
	s := f.next(t)
	ce := connect.NewError(connect.CodeInvalidArgument, errors.New("invalid request: hello.queues[0] is bad"))
	d, _ := connect.NewErrorDetail(&batonv1.ErrorDetail{
		Reason:          batonv1.ErrorReason_INVALID_FIELD.String(),
		Message:         "invalid request: hello.queues[0] is bad",
		FieldViolations: []*batonv1.FieldViolation{{Field: "hello.queues[0]", Description: "is bad"}},
	})
	ce.AddDetail(d)
	s.finish(ce)
	err := recv(t, runErr, 10*time.Second, "Run to return")
	var be *baton.Error
	if !errors.As(err, &be) || be.ReasonCode() != batonv1.ErrorReason_INVALID_FIELD || len(be.FieldViolations) != 1 || be.FieldViolations[0].Field != "hello.queues[0]" {
		t.Fatalf("Run = %v; want the INVALID_FIELD error", err)
	}
}

// N1: lost streams are retried with growing delays, reset after a Welcome;
// a server that never welcomes is given up on after WelcomeTimeout.
func TestProtocolReconnectBackoffAndWelcomeTimeout(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	w, _ := fakeWorker(t, f, baton.WorkerOptions{WelcomeTimeout: 300 * time.Millisecond}, map[string]baton.HandlerFunc{
		"t": func(ctx context.Context, _ *baton.Task) (any, error) { return nil, nil },
	})
	runWorker(t, w)
	unavailable := connect.NewError(connect.CodeUnavailable, errors.New("down"))

	// Delays with Rand=0 are the floor of each step: 100ms each time.
	var at []time.Time
	for i := 0; i < 3; i++ {
		s := f.next(t)
		at = append(at, s.at)
		s.finish(unavailable)
	}
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < 90*time.Millisecond {
			t.Fatalf("reconnect %d came %s after the previous; want at least 100ms (N1)", i, gap)
		}
	}
	// Silence after Hello: the worker gives up on the stream and tries again.
	silent := f.next(t)
	next := f.next(t)
	if gap := next.at.Sub(silent.at); gap < 300*time.Millisecond {
		t.Fatalf("gave up on a silent server after %s; WelcomeTimeout is 300ms", gap)
	}
	silent.finish(nil)
	next.welcome(nil)
	eventually(t, 5*time.Second, "the worker to connect", w.Connected)
	next.finish(nil)
}
