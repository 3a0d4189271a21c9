package baton

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
	"github.com/baton-run/baton/gen/go/baton/v1/batonv1connect"
)

// ClientOption configures a [Client].
type ClientOption func(*clientConfig)

type clientConfig struct {
	httpClient     *http.Client
	connectOptions []connect.ClientOption
	connectProto   bool
}

// WithHTTPClient makes the client use hc instead of [NewHTTPClient]'s. It must
// speak HTTP/2 to Baton unless [WithConnectProtocol] is also given.
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *clientConfig) { c.httpClient = hc }
}

// WithConnectOptions adds Connect client options, e.g. interceptors.
func WithConnectOptions(opts ...connect.ClientOption) ClientOption {
	return func(c *clientConfig) { c.connectOptions = append(c.connectOptions, opts...) }
}

// WithConnectProtocol makes the client speak the Connect protocol instead of
// gRPC, for paths that carry only HTTP/1.1 (pair it with WithHTTPClient and an
// HTTP/1.1 client). WatchTasks works over it too.
func WithConnectProtocol() ClientOption {
	return func(c *clientConfig) { c.connectProto = true }
}

// Client calls TaskService for producers, operators and polling workers. Every
// method returns errors as [*Error]. Nothing is retried behind the caller's
// back (WatchTasks aside): whether a call is safe to repeat depends on the
// idempotency key, which only the caller knows. A Client is safe for
// concurrent use.
type Client struct {
	tasks      batonv1connect.TaskServiceClient
	workers    batonv1connect.WorkerServiceClient
	httpClient *http.Client
	ownsHTTP   bool
}

// NewClient returns a client of the Baton server at baseURL, e.g.
// "http://127.0.0.1:7233". By default it speaks gRPC over HTTP/2 (h2c for
// http:// URLs).
func NewClient(baseURL string, opts ...ClientOption) *Client {
	cfg := clientConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	c := &Client{httpClient: cfg.httpClient}
	if c.httpClient == nil {
		c.httpClient = NewHTTPClient()
		c.ownsHTTP = true
	}
	copts := cfg.connectOptions
	if !cfg.connectProto {
		copts = append([]connect.ClientOption{connect.WithGRPC()}, copts...)
	}
	baseURL = strings.TrimRight(baseURL, "/")
	c.tasks = batonv1connect.NewTaskServiceClient(c.httpClient, baseURL, copts...)
	c.workers = batonv1connect.NewWorkerServiceClient(c.httpClient, baseURL, copts...)
	return c
}

// TaskService returns the generated TaskService client, for calls this type
// does not wrap. Its errors are *connect.Error; see [ErrorDetailOf].
func (c *Client) TaskService() batonv1connect.TaskServiceClient { return c.tasks }

// WorkerService returns the generated WorkerService client.
func (c *Client) WorkerService() batonv1connect.WorkerServiceClient { return c.workers }

// Close closes the idle connections of the HTTP client the Client made
// itself; a client given with WithHTTPClient is left alone.
func (c *Client) Close() { closeIdle(c.httpClient, c.ownsHTTP) }

// RetryPolicy says how failed attempts are retried (T5, T6). Zero fields take
// the server's defaults (1s, ×2, 5m, 0.2 jitter).
type RetryPolicy struct {
	// InitialBackoff is the delay before the first retry (0..1h).
	InitialBackoff time.Duration
	// Multiplier is the growth per retry (1..10).
	Multiplier float64
	// MaxBackoff caps one delay (0..24h; at least InitialBackoff).
	MaxBackoff time.Duration
	// Jitter is the fraction of each delay that is randomised (0..1); 0 leaves
	// the server's default (0.2).
	Jitter float64
	// NonRetryableErrorTypes are error types that go straight to DEAD_LETTER.
	NonRetryableErrorTypes []string
}

// Timeouts are a task's time limits. Zero fields take the server's defaults.
type Timeouts struct {
	// ScheduleToStart limits the wait in PENDING (T7); 0: no limit.
	ScheduleToStart time.Duration
	// StartToClose limits one attempt, from claim to result (default 1h).
	StartToClose time.Duration
	// Heartbeat is the lease length: the worker must heartbeat within it
	// (default 30s). The Worker heartbeats for you.
	Heartbeat time.Duration
}

// TaskSpec describes a task to create. Queue and Type are required.
type TaskSpec struct {
	// Namespace isolates tenants or environments; default "default".
	Namespace string
	// Queue is the queue workers take the task from.
	Queue string
	// Type selects the handler on the worker, e.g. "email.send".
	Type string
	// Payload is the input: any JSON object (map[string]any, a struct with
	// json tags, json.RawMessage, *structpb.Struct). Nil means {}.
	Payload any
	// Priority: higher runs first (-1000..1000).
	Priority int32
	// MaxAttempts bounds the attempts (1..1000, default 3).
	MaxAttempts int32
	// RetryPolicy; nil takes the server's defaults.
	RetryPolicy *RetryPolicy
	// Timeouts; zero fields take the server's defaults.
	Timeouts Timeouts
	// ScheduledTime: the task is not claimable before it; zero means now.
	ScheduledTime time.Time
	// IdempotencyKey makes creation idempotent (I1): the same key and body
	// return the original task with created false; the same key and another
	// body fail with reason IDEMPOTENCY_KEY_REUSED.
	IdempotencyKey string
	// Labels for filtering and routing.
	Labels map[string]string
	// TraceID propagates a trace to the worker.
	TraceID string
	// ParentID names the task or run that created this one.
	ParentID string
}

func durationOrNil(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}

// jitterOrNil sends RetryPolicy.jitter only when set: unset takes the default.
func jitterOrNil(j float64) *float64 {
	if j == 0 {
		return nil
	}
	return &j
}

func timeOrNil(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func (s *TaskSpec) request() (*batonv1.CreateTaskRequest, error) {
	payload, err := toStruct(s.Payload)
	if err != nil {
		return nil, newError(connect.CodeInvalidArgument, batonv1.ErrorReason_INVALID_FIELD, "payload: "+err.Error(), nil)
	}
	req := &batonv1.CreateTaskRequest{
		Namespace:      s.Namespace,
		Queue:          s.Queue,
		Type:           s.Type,
		Payload:        payload,
		Priority:       s.Priority,
		MaxAttempts:    s.MaxAttempts,
		ScheduledTime:  timeOrNil(s.ScheduledTime),
		IdempotencyKey: s.IdempotencyKey,
		Labels:         s.Labels,
		TraceId:        s.TraceID,
		ParentId:       s.ParentID,
	}
	if p := s.RetryPolicy; p != nil {
		req.RetryPolicy = &batonv1.RetryPolicy{
			InitialBackoff:         durationOrNil(p.InitialBackoff),
			Multiplier:             p.Multiplier,
			MaxBackoff:             durationOrNil(p.MaxBackoff),
			Jitter:                 jitterOrNil(p.Jitter),
			NonRetryableErrorTypes: p.NonRetryableErrorTypes,
		}
	}
	if t := s.Timeouts; t != (Timeouts{}) {
		req.Timeouts = &batonv1.TaskTimeouts{
			ScheduleToStartTimeout: durationOrNil(t.ScheduleToStart),
			StartToCloseTimeout:    durationOrNil(t.StartToClose),
			HeartbeatTimeout:       durationOrNil(t.Heartbeat),
		}
	}
	return req, nil
}

// CreateTask creates a task in PENDING. created is false when an idempotent
// replay returned an existing task (I1).
func (c *Client) CreateTask(ctx context.Context, spec TaskSpec) (task *Task, created bool, err error) {
	req, err := spec.request()
	if err != nil {
		return nil, false, err
	}
	res, err := c.tasks.CreateTask(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, false, asError(err)
	}
	return res.Msg.GetTask(), res.Msg.GetCreated(), nil
}

// BatchCreateTasks creates up to 500 tasks in one transaction, all or none;
// the tasks are returned in request order.
func (c *Client) BatchCreateTasks(ctx context.Context, specs []TaskSpec) ([]*Task, error) {
	req := &batonv1.BatchCreateTasksRequest{}
	for i := range specs {
		r, err := specs[i].request()
		if err != nil {
			return nil, err
		}
		req.Requests = append(req.Requests, r)
	}
	res, err := c.tasks.BatchCreateTasks(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, asError(err)
	}
	return res.Msg.GetTasks(), nil
}

// GetTask returns a task with its attempt history.
func (c *Client) GetTask(ctx context.Context, id string) (*Task, error) {
	res, err := c.tasks.GetTask(ctx, connect.NewRequest(&batonv1.GetTaskRequest{Id: id}))
	if err != nil {
		return nil, asError(err)
	}
	return res.Msg.GetTask(), nil
}

// ListFilter selects the tasks ListTasks returns. Zero fields do not filter.
type ListFilter struct {
	// Namespace; default "default".
	Namespace string
	// Queue, when set, keeps only this queue's tasks.
	Queue string
	// Type, when set, keeps only tasks of this type.
	Type string
	// States, when set, keeps only tasks in these states.
	States []TaskState
	// PageSize is the number of tasks fetched per request (1..500, default 50).
	PageSize int32
}

// ListTasks iterates over every matching task, newest first, fetching page
// after page as the loop advances. On an error it yields (nil, err) once and
// stops. Tasks come without attempt history (use GetTask for it).
//
//	for task, err := range client.ListTasks(ctx, baton.ListFilter{Queue: "email"}) {
//		if err != nil { return err }
//		...
//	}
func (c *Client) ListTasks(ctx context.Context, f ListFilter) iter.Seq2[*Task, error] {
	return func(yield func(*Task, error) bool) {
		token := ""
		for {
			res, err := c.tasks.ListTasks(ctx, connect.NewRequest(&batonv1.ListTasksRequest{
				Namespace: f.Namespace,
				Queue:     f.Queue,
				Type:      f.Type,
				States:    f.States,
				PageSize:  f.PageSize,
				PageToken: token,
			}))
			if err != nil {
				yield(nil, asError(err))
				return
			}
			for _, t := range res.Msg.GetTasks() {
				if !yield(t, nil) {
					return
				}
			}
			token = res.Msg.GetNextPageToken()
			if token == "" {
				return
			}
		}
	}
}

// CancelTask cancels a task: a PENDING task becomes CANCELLED at once; a
// CLAIMED one gets cancel_requested and its worker is told to stop. reason is
// kept as the task's terminal_reason.
func (c *Client) CancelTask(ctx context.Context, id, reason string) (*Task, error) {
	res, err := c.tasks.CancelTask(ctx, connect.NewRequest(&batonv1.CancelTaskRequest{Id: id, Reason: reason}))
	if err != nil {
		return nil, asError(err)
	}
	return res.Msg.GetTask(), nil
}

// RequeueTask moves a DEAD_LETTER task back to PENDING with a fresh attempt
// budget (T4), claimable now.
func (c *Client) RequeueTask(ctx context.Context, id string) (*Task, error) {
	return c.RequeueTaskAt(ctx, id, time.Time{})
}

// RequeueTaskAt is RequeueTask with the task not claimable before at (zero: now).
func (c *Client) RequeueTaskAt(ctx context.Context, id string, at time.Time) (*Task, error) {
	res, err := c.tasks.RequeueTask(ctx, connect.NewRequest(&batonv1.RequeueTaskRequest{Id: id, ScheduledTime: timeOrNil(at)}))
	if err != nil {
		return nil, asError(err)
	}
	return res.Msg.GetTask(), nil
}

// ClaimRequest is the input of ClaimTasks.
type ClaimRequest struct {
	// Namespace; default "default".
	Namespace string
	// Queue is required.
	Queue string
	// Types, when set, claims only tasks of these types.
	Types []string
	// WorkerID is a stable name of the worker (required).
	WorkerID string
	// MaxTasks is the most tasks to claim (1..100, default 1).
	MaxTasks int32
	// Wait is how long to wait for a first claimable task (0..30s).
	Wait time.Duration
}

// ClaimTasks claims up to MaxTasks claimable tasks of a queue for a polling
// worker; each comes with a fresh lease (task.Lease). Heartbeat each before its
// lease expires, then CompleteTask or FailTask it.
func (c *Client) ClaimTasks(ctx context.Context, r ClaimRequest) ([]*Task, error) {
	res, err := c.tasks.ClaimTasks(ctx, connect.NewRequest(&batonv1.ClaimTasksRequest{
		Namespace: r.Namespace,
		Queue:     r.Queue,
		Types:     r.Types,
		WorkerId:  r.WorkerID,
		MaxTasks:  r.MaxTasks,
		Wait:      durationOrNil(r.Wait),
	}))
	if err != nil {
		return nil, asError(err)
	}
	return res.Msg.GetTasks(), nil
}

// HeartbeatResult is the answer to a Heartbeat.
type HeartbeatResult struct {
	// LeaseExpireTime is the new lease deadline (L2).
	LeaseExpireTime time.Time
	// CancelRequested: stop the handler and call FailTask (W2).
	CancelRequested bool
}

// Heartbeat renews a lease (L2) and reports whether the task's cancellation
// was requested. A LEASE_STALE error means: stop working on the task (L4).
func (c *Client) Heartbeat(ctx context.Context, taskID, leaseID string) (*HeartbeatResult, error) {
	res, err := c.tasks.Heartbeat(ctx, connect.NewRequest(&batonv1.HeartbeatRequest{TaskId: taskID, LeaseId: leaseID}))
	if err != nil {
		return nil, asError(err)
	}
	out := &HeartbeatResult{CancelRequested: res.Msg.GetCancelRequested()}
	if t := res.Msg.GetLeaseExpireTime(); t != nil {
		out.LeaseExpireTime = t.AsTime()
	}
	return out, nil
}

// CompleteTask completes an attempt with a result (any JSON object, as for
// TaskSpec.Payload). Resending it after a lost answer is safe (W3).
func (c *Client) CompleteTask(ctx context.Context, taskID, leaseID string, result any) (*Task, error) {
	s, err := toStruct(result)
	if err != nil {
		return nil, newError(connect.CodeInvalidArgument, batonv1.ErrorReason_INVALID_FIELD, "result: "+err.Error(), nil)
	}
	res, err := c.tasks.CompleteTask(ctx, connect.NewRequest(&batonv1.CompleteTaskRequest{TaskId: taskID, LeaseId: leaseID, Result: s}))
	if err != nil {
		return nil, asError(err)
	}
	return res.Msg.GetTask(), nil
}

// FailTask fails an attempt with cause, mapped as a Worker maps a handler's
// error: wrap it with [Retryable] or [NonRetryable] to set its type,
// retry-after or non-retryability.
func (c *Client) FailTask(ctx context.Context, taskID, leaseID string, cause error) (*Task, error) {
	if cause == nil {
		cause = errors.New("task failed")
	}
	f := failureOf(cause)
	res, err := c.tasks.FailTask(ctx, connect.NewRequest(&batonv1.FailTaskRequest{
		TaskId:     taskID,
		LeaseId:    leaseID,
		Error:      f.GetError(),
		RetryAfter: f.GetRetryAfter(),
	}))
	if err != nil {
		return nil, asError(err)
	}
	return res.Msg.GetTask(), nil
}

// ListWorkers lists the live worker sessions of a namespace ("" for the
// default), optionally only those serving queue.
func (c *Client) ListWorkers(ctx context.Context, namespace, queue string) ([]*WorkerInfo, error) {
	res, err := c.workers.ListWorkers(ctx, connect.NewRequest(&batonv1.ListWorkersRequest{Namespace: namespace, Queue: queue}))
	if err != nil {
		return nil, asError(err)
	}
	return res.Msg.GetWorkers(), nil
}
