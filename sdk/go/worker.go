package baton

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

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
