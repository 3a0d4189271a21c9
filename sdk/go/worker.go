package baton

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
	"github.com/baton-run/baton/gen/go/baton/v1/batonv1connect"
)

// HandlerFunc runs one attempt of a task. Its result may be any JSON object
// value — map[string]any, *structpb.Struct, a struct with json tags — or nil
// for {}; a JSON value that is not an object is wrapped as {"value": ...}.
// A returned error fails the attempt: retryably unless wrapped with
// [NonRetryable]; see [Retryable] for the error type and retry-after. A panic
// is a retryable failure of type "panic".
//
// ctx is cancelled when the handler must stop: the task was cancelled, its
// lease was lost, or the worker's shutdown grace ran out. context.Cause(ctx)
// is then a [*TaskAbortedError] wrapping [ErrTaskCancelled], [ErrLeaseLost] or
// [ErrWorkerShutdown]. Whatever a stopped handler returns, Baton records the
// cancellation (or nothing, for a lost lease).
type HandlerFunc func(ctx context.Context, task *Task) (any, error)

// WorkerOptions configures a [Worker].
type WorkerOptions struct {
	// Queues are the queues to take tasks from (1..16). Required.
	Queues []string
	// WorkerID names the worker; many instances may share it (H2). Default:
	// the host name.
	WorkerID string
	// InstanceID identifies this process, the same across reconnects (H2).
	// Default: a random UUID.
	InstanceID string
	// Slots is how many tasks run at once (1..1000, default 1) (K3).
	Slots int
	// Namespace; default "default".
	Namespace string
	// Labels are shown by ListWorkers.
	Labels map[string]string
	// ShutdownGrace is how long running tasks may take to finish after Run's
	// context is cancelled before their contexts are cancelled with
	// ErrWorkerShutdown (reported as retryable "worker_shutdown" failures).
	// Default 30s.
	ShutdownGrace time.Duration
	// FlushTimeout is how long Run waits, after the grace, for the server to
	// acknowledge the last results. Default 10s.
	FlushTimeout time.Duration
	// Reconnect spaces out reconnects (N1); the zero value uses the protocol's
	// bounds (100ms floor, 30s cap, full jitter).
	Reconnect Backoff
	// WelcomeTimeout is how long to wait for Welcome after Hello before trying
	// again. Default 15s.
	WelcomeTimeout time.Duration
	// Logger receives the worker's logs; default slog.Default().
	Logger *slog.Logger
	// HTTPClient must speak HTTP/2 to Baton; default NewHTTPClient().
	HTTPClient *http.Client
	// ConnectOptions are added to the Connect client (e.g. interceptors).
	ConnectOptions []connect.ClientOption
	// OnEvent, when set, is called for every WorkerEvent (connected,
	// assigned, completed, failed, ...), in order, on a goroutine of its own;
	// a slow OnEvent delays later events, not the worker. Run returns after
	// the last call.
	OnEvent func(WorkerEvent)
}

const (
	defaultShutdownGrace  = 30 * time.Second
	defaultFlushTimeout   = 10 * time.Second
	defaultWelcomeTimeout = 15 * time.Second
	defaultCancelGrace    = 5 * time.Second
	defaultHeartbeat      = 10 * time.Second
	extendTimeout         = 30 * time.Second
	closeTimeout          = 2 * time.Second
	maxResumeLeases       = 1000
	// heartbeatFraction: timers fire late and messages take time to arrive, so
	// heartbeats go out at a fraction of the interval (B1).
	heartbeatFraction = 0.8
	// cancelGraceShare: a Cancel's failure must reach the server within
	// cancel_grace (X2); half of it is left for the trip.
	cancelGraceShare = 0.5
)

// Worker runs handlers for the tasks Baton pushes to it over one streaming
// session at a time (WorkerService.Connect, gRPC over HTTP/2). It keeps
// within its slots (K3), heartbeats every lease it holds once per interval
// (B1), cancels a handler's context on Cancel (X2) or a lost lease (B2), keeps
// results until they are acknowledged and resends them after a reconnect
// (R3), reconnects with capped exponential backoff and jitter resuming its
// leases (N1, N2), stops taking work on GoAway (G1), and drains gracefully
// when Run's context is cancelled (G2).
type Worker struct {
	opts       WorkerOptions
	log        *slog.Logger
	rpc        batonv1connect.WorkerServiceClient
	httpClient *http.Client
	ownsHTTP   bool
	backoff    Backoff

	mu          sync.Mutex
	handlers    map[string]HandlerFunc
	started     bool
	baseCtx     context.Context
	active      map[string]*taskRun // attempts whose outcome is not decided yet, by task id
	queued      []*taskRun          // assigned beyond the slot count: they wait (K3)
	executing   int
	outbox      outbox
	sess        *session
	draining    bool
	aborting    bool
	finished    bool
	wake        chan struct{} // closed when finished
	changed     chan struct{} // closed and replaced whenever runs or results change
	cancelGrace time.Duration
	connected   atomic.Bool

	events       []WorkerEvent
	eventsClosed bool
	eventSignal  chan struct{}
}

// taskRun is one attempt held by this worker, from Assign until its single
// outcome is decided. done marks that decision (a Result was queued, or none
// will be sent because the lease is gone); the handler may still be running
// after it if it ignores its context.
type taskRun struct {
	w           *Worker
	task        *Task
	leaseID     string
	ctx         context.Context
	cancel      context.CancelCauseFunc
	started     bool
	done        bool
	cancelled   bool
	cancelMsg   string
	shutdown    bool
	cancelTimer *time.Timer
}

type runKey struct{}

// NewWorker returns a worker of the Baton server at baseURL, e.g.
// "http://127.0.0.1:7233". Register handlers with Handle, then call Run.
func NewWorker(baseURL string, opts WorkerOptions) (*Worker, error) {
	if len(opts.Queues) == 0 {
		return nil, errors.New("baton: WorkerOptions.Queues must list at least one queue")
	}
	if opts.Slots == 0 {
		opts.Slots = 1
	}
	if opts.Slots < 1 || opts.Slots > 1000 {
		return nil, fmt.Errorf("baton: WorkerOptions.Slots must be 1..1000; got %d", opts.Slots)
	}
	if opts.WorkerID == "" {
		opts.WorkerID = defaultWorkerID()
	}
	if opts.InstanceID == "" {
		opts.InstanceID = newUUID()
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = defaultShutdownGrace
	}
	if opts.FlushTimeout <= 0 {
		opts.FlushTimeout = defaultFlushTimeout
	}
	if opts.WelcomeTimeout <= 0 {
		opts.WelcomeTimeout = defaultWelcomeTimeout
	}
	w := &Worker{
		opts:        opts,
		log:         opts.Logger,
		httpClient:  opts.HTTPClient,
		backoff:     opts.Reconnect,
		handlers:    map[string]HandlerFunc{},
		active:      map[string]*taskRun{},
		wake:        make(chan struct{}),
		changed:     make(chan struct{}),
		cancelGrace: defaultCancelGrace,
		eventSignal: make(chan struct{}, 1),
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	w.log = w.log.With("worker_id", opts.WorkerID, "instance_id", opts.InstanceID)
	if w.httpClient == nil {
		w.httpClient = NewHTTPClient()
		w.ownsHTTP = true
	}
	copts := append([]connect.ClientOption{connect.WithGRPC()}, opts.ConnectOptions...)
	w.rpc = batonv1connect.NewWorkerServiceClient(w.httpClient, strings.TrimRight(baseURL, "/"), copts...)
	return w, nil
}

// Handle registers the handler of a task type. Hello announces the types, so
// register every handler before Run; Handle panics after Run started, for an
// empty type, or for a nil handler.
func (w *Worker) Handle(taskType string, h HandlerFunc) {
	if taskType == "" || h == nil {
		panic("baton: Handle needs a task type and a handler")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		panic("baton: register handlers before Run: Hello announces the task types")
	}
	w.handlers[taskType] = h
}

// InstanceID returns the id this process sends in Hello (H2).
func (w *Worker) InstanceID() string { return w.opts.InstanceID }

// Connected reports whether the worker holds a welcomed session now.
func (w *Worker) Connected() bool { return w.connected.Load() }

// Running returns the number of handlers executing now.
func (w *Worker) Running() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.executing
}

// Run connects to Baton and runs tasks until ctx is cancelled, then drains:
// it tells the server to send no more work, lets running tasks finish for up
// to ShutdownGrace (then cancels their contexts with ErrWorkerShutdown),
// waits up to FlushTimeout for the last results to be acknowledged, closes
// the stream and returns nil. It returns an error only for what reconnecting
// cannot fix (a refused Hello, a server without WorkerService) or a misuse
// (no handlers, Run called twice).
func (w *Worker) Run(ctx context.Context) error {
	w.mu.Lock()
	if w.started {
		w.mu.Unlock()
		return errors.New("baton: Worker.Run called twice")
	}
	if len(w.handlers) == 0 {
		w.mu.Unlock()
		return errors.New("baton: register at least one handler before Run")
	}
	w.started = true
	w.baseCtx = context.WithoutCancel(ctx)
	w.mu.Unlock()
	defer closeIdle(w.httpClient, w.ownsHTTP)
	eventsDone := make(chan struct{})
	go w.deliverEvents(eventsDone)
	defer func() {
		w.closeEvents()
		<-eventsDone
	}()

	drained := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(drained)
		w.drain()
	})
	var runErr error
	for !w.isFinished() {
		end := w.runSession()
		if end.welcomed {
			w.backoff.Reset()
		}
		if w.isFinished() {
			break
		}
		if !end.welcomed && isFatal(end.err) {
			runErr = end.err
			w.abandon(end.err)
			break
		}
		delay := time.Duration(0)
		if ga := end.goAway; ga != nil && ga.GetReconnectAfter().AsDuration() > 0 {
			delay = ga.GetReconnectAfter().AsDuration()
		} else {
			// G1 without a time, or a lost stream: back off so a fleet does not spin.
			delay = w.backoff.Next()
		}
		w.emit(WorkerEvent{Kind: WorkerEventDisconnected, Err: end.err, GoAwayReason: end.goAway.GetReason(), ReconnectIn: delay})
		if end.err != nil {
			w.log.Warn("baton: worker stream lost; reconnecting", "err", end.err, "delay", delay)
		} else {
			w.log.Info("baton: worker stream ended; reconnecting", "delay", delay)
		}
		sleepCtx(context.Background(), delay, w.wake)
	}
	if runErr == nil {
		if !stop() {
			<-drained
		}
	} else {
		stop()
	}
	return runErr
}

func isFatal(err error) bool {
	var be *Error
	if !errors.As(err, &be) {
		return false
	}
	switch be.Code {
	case connect.CodeInvalidArgument, connect.CodeUnimplemented, connect.CodeUnauthenticated, connect.CodePermissionDenied:
		return true
	}
	return false
}

func (w *Worker) isFinished() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.finished
}

// notifyLocked wakes everything waiting for a change of runs or results.
func (w *Worker) notifyLocked() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// waitUntil waits until cond (checked under w.mu) holds, or timeout passes.
func (w *Worker) waitUntil(cond func() bool, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		ok := cond()
		ch := w.changed
		w.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-deadline.C:
			return false
		}
	}
}

// drain is the graceful stop (G2), run once Run's context is cancelled.
func (w *Worker) drain() {
	w.mu.Lock()
	w.draining = true
	if s := w.sess; s != nil && s.ready {
		s.enqueue(msgDrain())
	}
	for _, r := range slices.Clone(w.queued) {
		w.shutdownRunLocked(r)
	}
	running := len(w.active)
	w.mu.Unlock()
	w.log.Info("baton: worker draining", "running", running, "grace", w.opts.ShutdownGrace)

	if !w.waitUntil(func() bool { return len(w.active) == 0 }, w.opts.ShutdownGrace) {
		w.log.Warn("baton: shutdown grace ran out; stopping the running tasks")
	}
	w.mu.Lock()
	w.aborting = true
	for _, r := range w.activeRunsLocked() {
		w.shutdownRunLocked(r)
	}
	w.mu.Unlock()

	if !w.waitUntil(func() bool { return w.outbox.len() == 0 }, w.opts.FlushTimeout) {
		w.mu.Lock()
		n := w.outbox.len()
		w.mu.Unlock()
		w.log.Warn("baton: stopping with results the server has not acknowledged; their leases will expire and the tasks retry", "unacknowledged", n)
	}
	w.mu.Lock()
	w.finishLocked()
	s := w.sess
	welcomed := s != nil && s.welcome != nil
	if welcomed {
		s.closeSend()
	} else if s != nil {
		s.cancel() // still waiting for Welcome: nothing to close gracefully
	}
	w.mu.Unlock()
	if s != nil {
		t := time.NewTimer(closeTimeout)
		defer t.Stop()
		select {
		case <-s.done:
		case <-t.C:
			s.cancel()
			<-s.done
		}
	}
	w.log.Info("baton: worker stopped")
}

// abandon gives up after a fatal error: handlers are stopped and nothing more is sent.
func (w *Worker) abandon(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.finishLocked()
	w.aborting = true
	for _, r := range w.activeRunsLocked() {
		w.dropRunLocked(r, ErrWorkerShutdown, "the worker session was refused: "+err.Error())
	}
}

// finishLocked ends the run loop: no more reconnects.
func (w *Worker) finishLocked() {
	if !w.finished {
		w.finished = true
		close(w.wake)
	}
}

func (w *Worker) activeRunsLocked() []*taskRun {
	runs := make([]*taskRun, 0, len(w.active))
	for _, r := range w.active {
		runs = append(runs, r)
	}
	return runs
}

// ---- One session ----

type sessionEnd struct {
	welcomed bool
	goAway   *batonv1.GoAway
	err      error
}

// runSession holds one stream from Hello until it ends.
func (w *Worker) runSession() sessionEnd {
	ctx, cancel := context.WithCancel(w.baseCtx)
	defer cancel()
	stream := w.rpc.Connect(ctx)
	// net/http's HTTP/2 client notices a cancelled context only between reads of
	// the request body, which blocks on the next Send: closing the request side
	// lets a cancel end the stream at once. (Closing the pipe is safe while a Send runs.)
	stopClose := context.AfterFunc(ctx, func() { _ = stream.CloseRequest() })
	defer stopClose()
	s := newSession(ctx, cancel, stream)
	w.mu.Lock()
	hello := w.helloLocked()
	w.sess = s
	w.mu.Unlock()
	s.enqueue(msgHello(hello))
	go s.writeLoop()

	var timedOut atomic.Bool
	welcomeTimer := time.AfterFunc(w.opts.WelcomeTimeout, func() {
		timedOut.Store(true)
		cancel()
	})
	var err error
	for {
		msg, rerr := stream.Receive()
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				err = asError(rerr)
			}
			break
		}
		if perr := w.dispatch(s, msg, welcomeTimer); perr != nil {
			err = perr
			break
		}
	}
	welcomeTimer.Stop()
	if timedOut.Load() {
		err = newError(connect.CodeDeadlineExceeded, "NO_WELCOME", fmt.Sprintf("protocol error: no Welcome within %s", w.opts.WelcomeTimeout), nil)
	}

	w.mu.Lock()
	welcomed := s.welcome != nil
	s.ended = true
	s.ready = false
	if w.sess == s {
		w.sess = nil
	}
	w.connected.Store(false)
	w.outbox.connectionLost()
	for key, list := range s.exts {
		for _, p := range list {
			p.ch <- extOutcome{err: newError(connect.CodeUnavailable, ReasonNotConnected, "the session ended before ExtendLease was answered", nil)}
		}
		delete(s.exts, key)
	}
	goAway := s.goAway
	w.notifyLocked()
	w.mu.Unlock()

	cancel()
	<-s.writerDone
	_ = stream.CloseResponse()
	close(s.done)
	return sessionEnd{welcomed: welcomed, goAway: goAway, err: err}
}

func (w *Worker) helloLocked() *batonv1.Hello {
	types := make([]string, 0, len(w.handlers))
	for t := range w.handlers {
		types = append(types, t)
	}
	sort.Strings(types)
	return &batonv1.Hello{
		Namespace:    w.opts.Namespace,
		Queues:       w.opts.Queues,
		TaskTypes:    types,
		WorkerId:     w.opts.WorkerID,
		InstanceId:   w.opts.InstanceID,
		Labels:       w.opts.Labels,
		Slots:        int32(w.opts.Slots),
		ResumeLeases: w.resumeLeasesLocked(),
		Sdk:          SDKName,
	}
}

// runningLeasesLocked lists the leases of every attempt still held (B1).
func (w *Worker) runningLeasesLocked() []*batonv1.LeaseRef {
	out := make([]*batonv1.LeaseRef, 0, len(w.active))
	for _, r := range w.active {
		out = append(out, &batonv1.LeaseRef{TaskId: r.task.GetId(), LeaseId: r.leaseID})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TaskId < out[j].TaskId })
	return out
}

// resumeLeasesLocked lists running leases plus those of unacknowledged
// results, so their leases stay alive until the resend (N2, R3).
func (w *Worker) resumeLeasesLocked() []*batonv1.LeaseRef {
	out := w.runningLeasesLocked()
	seen := map[string]bool{}
	for _, l := range out {
		seen[l.TaskId] = true
	}
	for _, l := range w.outbox.leases() {
		if !seen[l.TaskId] {
			seen[l.TaskId] = true
			out = append(out, l)
		}
	}
	// The server takes at most 1000 (more would refuse the Hello); the rest
	// expire and retry (L3).
	if len(out) > maxResumeLeases {
		out = out[:maxResumeLeases]
	}
	return out
}

// dispatch handles one server message; an error ends the session.
func (w *Worker) dispatch(s *session, msg *batonv1.ConnectResponse, welcomeTimer *time.Timer) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s.welcome == nil {
		wel := msg.GetWelcome()
		if wel == nil {
			return newError(connect.CodeInternal, "PROTOCOL_ERROR", fmt.Sprintf("protocol error: got %T before Welcome (H1)", msg.GetMessage()), nil)
		}
		welcomeTimer.Stop()
		w.onWelcomeLocked(s, wel)
		return nil
	}
	switch m := msg.GetMessage().(type) {
	case *batonv1.ConnectResponse_Assign:
		w.onAssignLocked(s, m.Assign.GetTask())
	case *batonv1.ConnectResponse_Cancel:
		w.onCancelLocked(s, m.Cancel)
	case *batonv1.ConnectResponse_Ack:
		w.onAckLocked(s, m.Ack)
	case *batonv1.ConnectResponse_GoAway:
		s.goAway = m.GoAway
		w.emitLocked(WorkerEvent{Kind: WorkerEventGoAway, GoAwayReason: m.GoAway.GetReason(), ReconnectIn: m.GoAway.GetReconnectAfter().AsDuration()})
		w.log.Info("baton: server is going away", "reason", m.GoAway.GetReason(), "reconnect_after", m.GoAway.GetReconnectAfter().AsDuration())
		w.closeIfIdleAfterGoAwayLocked()
	case *batonv1.ConnectResponse_Welcome:
		w.log.Warn("baton: a second Welcome on one session; ignored")
	}
	return nil
}

func (w *Worker) onWelcomeLocked(s *session, wel *batonv1.Welcome) {
	s.welcome = wel
	s.ready = true
	w.connected.Store(true)
	if cg := wel.GetCancelGrace().AsDuration(); cg > 0 {
		w.cancelGrace = cg
	}
	// N2: these handlers work on leases that are gone; their results would be refused.
	for _, l := range wel.GetLost() {
		if r := w.active[l.GetTaskId()]; r != nil && r.leaseID == l.GetLeaseId() {
			w.dropRunLocked(r, ErrLeaseLost, "the lease was lost while disconnected")
		}
	}
	w.log.Info("baton: connected", "session_id", wel.GetSessionId(), "replica_id", wel.GetReplicaId(),
		"server_version", wel.GetServerVersion(), "resumed", len(wel.GetResumed()), "lost", len(wel.GetLost()))
	w.emitLocked(WorkerEvent{Kind: WorkerEventConnected, SessionID: wel.GetSessionId(), ReplicaID: wel.GetReplicaId(),
		ServerVersion: wel.GetServerVersion(), Resumed: len(wel.GetResumed()), Lost: len(wel.GetLost())})
	if w.draining {
		s.enqueue(msgDrain())
	}
	// Renew resumed leases now: the disconnect may have eaten most of their time.
	if len(w.active) > 0 {
		s.enqueue(msgHeartbeat(w.runningLeasesLocked()))
	}
	w.flushLocked() // R3
	interval := wel.GetHeartbeatInterval().AsDuration()
	if interval <= 0 {
		interval = defaultHeartbeat
	}
	go w.heartbeatLoop(s, max(10*time.Millisecond, time.Duration(float64(interval)*heartbeatFraction)))
	w.closeIfIdleAfterGoAwayLocked()
}

// heartbeatLoop sends one WorkerHeartbeat per period listing every lease (B1).
func (w *Worker) heartbeatLoop(s *session, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			w.mu.Lock()
			if s.ready {
				s.enqueue(msgHeartbeat(w.runningLeasesLocked()))
			}
			w.mu.Unlock()
		}
	}
}

// flushLocked sends the results not yet sent on the current session.
func (w *Worker) flushLocked() {
	s := w.sess
	if s == nil || !s.ready {
		return
	}
	for _, r := range w.outbox.unsent() {
		s.enqueue(msgResult(r))
	}
}

// closeIfIdleAfterGoAwayLocked ends the request side once nothing needs a
// session that is going away (G1), so the server ends the stream and the
// worker reconnects.
func (w *Worker) closeIfIdleAfterGoAwayLocked() {
	s := w.sess
	if s != nil && s.goAway != nil && len(w.active) == 0 && w.outbox.len() == 0 {
		s.closeSend()
	}
}

func (w *Worker) onAssignLocked(s *session, task *Task) {
	leaseID := task.GetLease().GetLeaseId()
	if task.GetId() == "" || leaseID == "" {
		w.log.Warn("baton: Assign without a task or lease; ignored", "task_id", task.GetId())
		return
	}
	if existing := w.active[task.GetId()]; existing != nil {
		if existing.leaseID == leaseID {
			return
		}
		// A newer lease on the same task means ours is gone.
		w.dropRunLocked(existing, ErrLeaseLost, "the task was assigned again under a new lease")
	}
	r := &taskRun{w: w, task: task, leaseID: leaseID}
	r.ctx, r.cancel = context.WithCancelCause(context.WithValue(w.baseCtx, runKey{}, r))
	w.active[task.GetId()] = r
	w.notifyLocked()
	w.emitLocked(WorkerEvent{Kind: WorkerEventAssigned, Task: task})
	w.log.Debug("baton: assigned", "task_id", task.GetId(), "type", task.GetType(), "attempt", task.GetAttempt())
	switch {
	case w.draining || w.aborting:
		// An Assign that crossed our Drain: give it straight back.
		w.shutdownRunLocked(r)
	case s.goAway != nil:
		// G1: no new work after GoAway; give it back for another worker.
		w.decideLocked(r, failedResult(task.GetId(), leaseID, Retryable(errors.New("the worker's session is going away"), ErrorType("worker_going_away"))))
	case w.executing < w.opts.Slots:
		w.startLocked(r)
	default:
		w.log.Warn("baton: assigned beyond the slot count (K1); queued locally", "task_id", task.GetId(), "slots", w.opts.Slots)
		w.queued = append(w.queued, r)
	}
}

func (w *Worker) startLocked(r *taskRun) {
	r.started = true
	w.executing++
	h := w.handlers[r.task.GetType()]
	go w.execute(r, h)
}

// execute runs a handler and decides the attempt's outcome from what it returned.
func (w *Worker) execute(r *taskRun, h HandlerFunc) {
	var value any
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = &panicError{value: p, stack: string(debug.Stack())}
			}
		}()
		if h == nil {
			err = NonRetryable(fmt.Errorf("this worker has no handler for task type %q", r.task.GetType()), ErrorType("unknown_task_type"))
			return
		}
		value, err = h(r.ctx, r.task)
	}()
	var result *batonv1.Result
	if err != nil {
		result = failedResult(r.task.GetId(), r.leaseID, err)
	} else {
		result = completedResult(r.task.GetId(), r.leaseID, value)
	}
	w.mu.Lock()
	w.executing--
	w.decideLocked(r, result)
	for w.executing < w.opts.Slots && len(w.queued) > 0 {
		next := w.queued[0]
		w.queued = w.queued[1:]
		w.startLocked(next)
	}
	w.notifyLocked()
	w.mu.Unlock()
	r.cancel(context.Canceled)
}

// decideLocked fixes an attempt's one outcome and queues it for the server. A
// Cancel or a shutdown overrides what the handler produced: after a Cancel the
// server takes only the failure (X2), and after shutdown nobody waits for the rest.
func (w *Worker) decideLocked(r *taskRun, proposed *batonv1.Result) {
	if r.done {
		return
	}
	id := r.task.GetId()
	result := proposed
	switch {
	case r.cancelled:
		result = failedResult(id, r.leaseID, Retryable(errors.New(r.cancelMsg), ErrorType("cancelled")))
	case r.shutdown:
		result = failedResult(id, r.leaseID, Retryable(errors.New("the worker stopped before the task finished"), ErrorType("worker_shutdown")))
	}
	w.outbox.put(result, r.task)
	w.markDoneLocked(r)
	w.flushLocked()
}

// dropRunLocked stops a handler whose lease is gone (B2, N2) and sends nothing.
func (w *Worker) dropRunLocked(r *taskRun, why error, reason string) {
	if r.done {
		return
	}
	w.markDoneLocked(r)
	r.cancel(&TaskAbortedError{Why: why, Reason: reason})
	w.closeIfIdleAfterGoAwayLocked()
}

// shutdownRunLocked stops a handler and reports a retryable failure so that
// another worker takes the task soon.
func (w *Worker) shutdownRunLocked(r *taskRun) {
	if r.done {
		return
	}
	r.shutdown = true
	r.cancel(&TaskAbortedError{Why: ErrWorkerShutdown, Reason: "the worker is shutting down"})
	w.decideLocked(r, nil)
}

func (w *Worker) markDoneLocked(r *taskRun) {
	r.done = true
	if r.cancelTimer != nil {
		r.cancelTimer.Stop()
	}
	if w.active[r.task.GetId()] == r {
		delete(w.active, r.task.GetId())
	}
	if i := slices.Index(w.queued, r); i >= 0 {
		w.queued = slices.Delete(w.queued, i, i+1)
	}
	w.notifyLocked()
}

func (w *Worker) onCancelLocked(s *session, c *batonv1.Cancel) {
	key := leaseKey(c.GetTaskId(), c.GetLeaseId())
	if c.GetLeaseLost() {
		for _, p := range s.exts[key] {
			p.ch <- extOutcome{err: newError(connect.CodeFailedPrecondition, ReasonLeaseStale, "lease lost: "+c.GetReason(), nil)}
		}
		delete(s.exts, key)
	}
	r := w.active[c.GetTaskId()]
	if r == nil || r.leaseID != c.GetLeaseId() {
		// B2 for a result still waiting for its Ack: it must not be sent again.
		if !c.GetLeaseLost() {
			return
		}
		if e := w.outbox.take(c.GetTaskId(), c.GetLeaseId()); e != nil {
			w.emitLocked(WorkerEvent{Kind: WorkerEventCancelled, Task: e.task, Reason: c.GetReason(), LeaseLost: true})
			w.log.Info("baton: lease lost before the result was acknowledged; result dropped", "task_id", c.GetTaskId(), "reason", c.GetReason())
			w.notifyLocked()
			w.closeIfIdleAfterGoAwayLocked()
		}
		return
	}
	if c.GetLeaseLost() {
		w.emitLocked(WorkerEvent{Kind: WorkerEventCancelled, Task: r.task, Reason: c.GetReason(), LeaseLost: true})
		w.log.Info("baton: lease lost; handler stopped", "task_id", c.GetTaskId(), "reason", c.GetReason())
		w.dropRunLocked(r, ErrLeaseLost, c.GetReason())
		return
	}
	if r.cancelled {
		return
	}
	r.cancelled = true
	r.cancelMsg = c.GetReason()
	if r.cancelMsg == "" {
		r.cancelMsg = "cancelled"
	}
	w.emitLocked(WorkerEvent{Kind: WorkerEventCancelled, Task: r.task, Reason: r.cancelMsg})
	w.log.Info("baton: task cancelled; handler stopped", "task_id", c.GetTaskId(), "reason", r.cancelMsg)
	r.cancel(&TaskAbortedError{Why: ErrTaskCancelled, Reason: r.cancelMsg})
	if !r.started {
		w.decideLocked(r, nil)
		return
	}
	// X2: a handler that ignores its context does not hold the failure back past the grace.
	r.cancelTimer = time.AfterFunc(time.Duration(float64(w.cancelGrace)*cancelGraceShare), func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.decideLocked(r, nil)
	})
}

func (w *Worker) onAckLocked(s *session, ack *batonv1.Ack) {
	key := leaseKey(ack.GetTaskId(), ack.GetLeaseId())
	// An Ack answers a Result or an ExtendLease of the same lease. Only an
	// extension's Ack carries a deadline, and an extension of a lease whose
	// result is already out can only be refused: so a deadline, or no result
	// waiting, means an extension.
	if list := s.exts[key]; len(list) > 0 && (ack.GetLeaseExpireTime() != nil || !w.outbox.has(ack.GetTaskId(), ack.GetLeaseId())) {
		p := list[0]
		if len(list) == 1 {
			delete(s.exts, key)
		} else {
			s.exts[key] = list[1:]
		}
		if ack.GetAccepted() && ack.GetLeaseExpireTime() != nil {
			p.ch <- extOutcome{deadline: ack.GetLeaseExpireTime().AsTime()}
		} else {
			p.ch <- extOutcome{err: refusal(ack, "ExtendLease was refused")}
		}
		return
	}
	e := w.outbox.take(ack.GetTaskId(), ack.GetLeaseId())
	if e == nil {
		w.log.Debug("baton: Ack for a result not waiting here; ignored", "task_id", ack.GetTaskId())
		return
	}
	switch {
	case !ack.GetAccepted():
		w.emitLocked(WorkerEvent{Kind: WorkerEventRejected, Task: e.task, ErrorDetail: ack.GetError()})
		w.log.Warn("baton: result refused by the server (R4: not resent)", "task_id", ack.GetTaskId(),
			"reason", ack.GetError().GetReason(), "message", ack.GetError().GetMessage())
		// The handler finished just as the task was cancelled: the server now waits for
		// the cancellation failure (X2) instead, a different Result, so R4 allows it.
		if ack.GetError().GetReason() == ReasonCancelRequested && e.result.GetCompleted() != nil {
			msg := ack.GetError().GetMessage()
			if msg == "" {
				msg = "cancelled"
			}
			w.outbox.put(failedResult(ack.GetTaskId(), ack.GetLeaseId(), Retryable(errors.New(msg), ErrorType("cancelled"))), e.task)
			w.flushLocked()
		}
	case e.result.GetCompleted() != nil:
		w.emitLocked(WorkerEvent{Kind: WorkerEventCompleted, Task: e.task, TaskState: ack.GetTaskState(), Result: e.result.GetCompleted()})
		w.log.Debug("baton: result accepted", "task_id", ack.GetTaskId(), "state", ack.GetTaskState().String())
	default:
		w.emitLocked(WorkerEvent{Kind: WorkerEventFailed, Task: e.task, TaskState: ack.GetTaskState(), TaskError: e.result.GetFailed().GetError()})
		w.log.Debug("baton: failure accepted", "task_id", ack.GetTaskId(), "state", ack.GetTaskState().String())
	}
	w.notifyLocked()
	w.closeIfIdleAfterGoAwayLocked()
}

// refusal turns an Ack{accepted: false} into the *Error a unary call would
// have returned.
func refusal(ack *batonv1.Ack, fallback string) *Error {
	code := connect.CodeFailedPrecondition
	if ack.GetError().GetReason() == ReasonInvalidField {
		code = connect.CodeInvalidArgument
	}
	reason := ack.GetError().GetReason()
	if reason == "" {
		reason = "REFUSED"
	}
	msg := ack.GetError().GetMessage()
	if msg == "" {
		msg = fallback
	}
	return newError(code, reason, msg, ack.GetError())
}

// ExtendLease moves the lease of the task whose handler ctx belongs to, to
// now + by (E1; at most 1h, never past the attempt's start-to-close
// deadline), and returns the new deadline. The worker heartbeats leases on its
// own; ExtendLease is for a handler that knows it needs a longer lease than
// the task's heartbeat timeout, e.g. before a long blocking call. It fails
// with reason LEASE_STALE when the lease is gone and NOT_CONNECTED while the
// worker is reconnecting.
func ExtendLease(ctx context.Context, by time.Duration) (time.Time, error) {
	r, _ := ctx.Value(runKey{}).(*taskRun)
	if r == nil {
		return time.Time{}, errors.New("baton: ExtendLease needs the context a handler was given")
	}
	return r.w.extendLease(ctx, r, by)
}

func (w *Worker) extendLease(ctx context.Context, r *taskRun, by time.Duration) (time.Time, error) {
	w.mu.Lock()
	s := w.sess
	switch {
	case r.done:
		w.mu.Unlock()
		return time.Time{}, newError(connect.CodeFailedPrecondition, ReasonLeaseStale, "the attempt is over", nil)
	case s == nil || !s.ready:
		w.mu.Unlock()
		return time.Time{}, newError(connect.CodeUnavailable, ReasonNotConnected, "not connected to Baton; try again", nil)
	case !hasFeature(s.welcome, "extend_lease"):
		w.mu.Unlock()
		return time.Time{}, newError(connect.CodeUnimplemented, "UNSUPPORTED", "this server does not support ExtendLease", nil)
	}
	key := leaseKey(r.task.GetId(), r.leaseID)
	p := &pendingExt{ch: make(chan extOutcome, 1)}
	s.exts[key] = append(s.exts[key], p)
	s.enqueue(msgExtend(r.task.GetId(), r.leaseID, by))
	w.mu.Unlock()

	remove := func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if i := slices.Index(s.exts[key], p); i >= 0 {
			s.exts[key] = slices.Delete(s.exts[key], i, i+1)
			if len(s.exts[key]) == 0 {
				delete(s.exts, key)
			}
		}
	}
	t := time.NewTimer(extendTimeout)
	defer t.Stop()
	select {
	case o := <-p.ch:
		return o.deadline, o.err
	case <-ctx.Done():
		remove()
		return time.Time{}, context.Cause(ctx)
	case <-t.C:
		remove()
		return time.Time{}, newError(connect.CodeDeadlineExceeded, "NO_ANSWER", "no answer to ExtendLease", nil)
	}
}

// ---- Defaults ----

var nameUnsafe = regexp.MustCompile(`[^A-Za-z0-9\-_.:/]`)

func defaultWorkerID() string {
	host, err := os.Hostname()
	host = nameUnsafe.ReplaceAllString(host, "-")
	if err != nil || host == "" {
		return "baton-go-worker"
	}
	if len(host) > 128 {
		host = host[:128]
	}
	return host
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
