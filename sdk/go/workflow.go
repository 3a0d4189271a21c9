package baton

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"strings"

	"connectrpc.com/connect"

	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
	"github.com/baton-run/baton/gen/go/baton/v1/batonv1connect"
)

// Workflow types, re-exported from the generated package like [Task].
type (
	// Workflow is a stored workflow definition: metadata and a spec of steps and edges.
	Workflow = batonv1.Workflow
	// Run is one execution of a workflow, with every step's state.
	Run = batonv1.Run
	// RunEvent is one change of a run, as WatchRun streams it.
	RunEvent = batonv1.RunEvent
	// RunState is the lifecycle state of a run.
	RunState = batonv1.RunState
	// RunEventType is the kind of a RunEvent.
	RunEventType = batonv1.RunEventType
)

// Run states.
const (
	// RunStateRunning: the run has steps to do.
	RunStateRunning = batonv1.RunState_RUN_STATE_RUNNING
	// RunStateSucceeded: every step succeeded or was skipped.
	RunStateSucceeded = batonv1.RunState_RUN_STATE_SUCCEEDED
	// RunStateFailed: a step failed (or was rejected) and the run stopped.
	RunStateFailed = batonv1.RunState_RUN_STATE_FAILED
	// RunStateCancelled: CancelRun stopped the run.
	RunStateCancelled = batonv1.RunState_RUN_STATE_CANCELLED
	// RunStateTimedOut: the run outlived its timeout.
	RunStateTimedOut = batonv1.RunState_RUN_STATE_TIMED_OUT
)

// WorkflowClient calls WorkflowService: it stores definitions (as messages or
// YAML), starts and steers runs, and follows them. Every method returns errors
// as [*Error]; a refused definition lists every problem in FieldViolations
// (with YAML line numbers). Like [Client] it retries nothing behind the
// caller's back except WatchRun's reconnects. A WorkflowClient is safe for
// concurrent use.
type WorkflowClient struct {
	rpc        batonv1connect.WorkflowServiceClient
	httpClient *http.Client
	ownsHTTP   bool
}

// NewWorkflowClient returns a WorkflowService client of the Baton server at
// baseURL, e.g. "http://127.0.0.1:7233". It takes the same options as
// [NewClient] and by default speaks gRPC over HTTP/2.
func NewWorkflowClient(baseURL string, opts ...ClientOption) *WorkflowClient {
	cfg := clientConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	c := &WorkflowClient{httpClient: cfg.httpClient}
	if c.httpClient == nil {
		c.httpClient = NewHTTPClient()
		c.ownsHTTP = true
	}
	copts := cfg.connectOptions
	if !cfg.connectProto {
		copts = append([]connect.ClientOption{connect.WithGRPC()}, copts...)
	}
	c.rpc = batonv1connect.NewWorkflowServiceClient(c.httpClient, strings.TrimRight(baseURL, "/"), copts...)
	return c
}

// WorkflowService returns the generated WorkflowService client, for calls this
// type does not wrap. Its errors are *connect.Error; see [ErrorDetailOf].
func (c *WorkflowClient) WorkflowService() batonv1connect.WorkflowServiceClient { return c.rpc }

// Close closes the idle connections of the HTTP client the WorkflowClient made
// itself; a client given with WithHTTPClient is left alone.
func (c *WorkflowClient) Close() { closeIdle(c.httpClient, c.ownsHTTP) }

// PutWorkflowOptions tunes PutWorkflow and PutWorkflowYAML.
type PutWorkflowOptions struct {
	// ValidateOnly analyses the definition and returns what would be stored,
	// without storing it.
	ValidateOnly bool
}

// PutWorkflowResult is the answer to PutWorkflow and PutWorkflowYAML.
type PutWorkflowResult struct {
	// Workflow is the definition as stored, with its resource version.
	Workflow *Workflow
	// Created is true when the workflow did not exist before.
	Created bool
	// Changed is false when the stored definition was already the same.
	Changed bool
}

// PutWorkflow creates or replaces a workflow definition; the server analyses
// it first and refuses it with reason INVALID_FIELD listing every problem.
func (c *WorkflowClient) PutWorkflow(ctx context.Context, wf *Workflow, opts ...PutWorkflowOptions) (*PutWorkflowResult, error) {
	return c.put(ctx, &batonv1.PutWorkflowRequest{Definition: &batonv1.PutWorkflowRequest_Workflow{Workflow: wf}}, opts)
}

// PutWorkflowYAML is PutWorkflow with the definition given as YAML
// (docs/WORKFLOWS.md); field violations then carry YAML line numbers.
func (c *WorkflowClient) PutWorkflowYAML(ctx context.Context, yaml string, opts ...PutWorkflowOptions) (*PutWorkflowResult, error) {
	return c.put(ctx, &batonv1.PutWorkflowRequest{Definition: &batonv1.PutWorkflowRequest_Yaml{Yaml: yaml}}, opts)
}

func (c *WorkflowClient) put(ctx context.Context, req *batonv1.PutWorkflowRequest, opts []PutWorkflowOptions) (*PutWorkflowResult, error) {
	if len(opts) > 0 {
		req.ValidateOnly = opts[0].ValidateOnly
	}
	res, err := c.rpc.PutWorkflow(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, asError(err)
	}
	return &PutWorkflowResult{Workflow: res.Msg.GetWorkflow(), Created: res.Msg.GetCreated(), Changed: res.Msg.GetChanged()}, nil
}

// GetWorkflow returns a stored workflow of a namespace ("" for the default).
// An unknown name fails with reason WORKFLOW_NOT_FOUND.
func (c *WorkflowClient) GetWorkflow(ctx context.Context, namespace, name string) (*Workflow, error) {
	res, err := c.rpc.GetWorkflow(ctx, connect.NewRequest(&batonv1.GetWorkflowRequest{Namespace: namespace, Name: name}))
	if err != nil {
		return nil, asError(err)
	}
	return res.Msg.GetWorkflow(), nil
}

// ListWorkflows iterates over the workflows of a namespace ("" for the
// default), fetching pageSize at a time (0: the server's default) as the loop
// advances. On an error it yields (nil, err) once and stops.
func (c *WorkflowClient) ListWorkflows(ctx context.Context, namespace string, pageSize int32) iter.Seq2[*Workflow, error] {
	return pages(func(token string) ([]*Workflow, string, error) {
		res, err := c.rpc.ListWorkflows(ctx, connect.NewRequest(&batonv1.ListWorkflowsRequest{Namespace: namespace, PageSize: pageSize, PageToken: token}))
		if err != nil {
			return nil, "", err
		}
		return res.Msg.GetWorkflows(), res.Msg.GetNextPageToken(), nil
	})
}

// DeleteWorkflow deletes a workflow and returns it as it was. A non-empty
// resourceVersion makes the delete conditional: it fails when the stored
// definition has another version (D2).
func (c *WorkflowClient) DeleteWorkflow(ctx context.Context, namespace, name, resourceVersion string) (*Workflow, error) {
	res, err := c.rpc.DeleteWorkflow(ctx, connect.NewRequest(&batonv1.DeleteWorkflowRequest{Namespace: namespace, Name: name, ResourceVersion: resourceVersion}))
	if err != nil {
		return nil, asError(err)
	}
	return res.Msg.GetWorkflow(), nil
}

// RunSpec describes a run to start. Workflow is required.
type RunSpec struct {
	// Namespace; default "default".
	Namespace string
	// Workflow is the name of the stored workflow to run.
	Workflow string
	// WorkflowVersion, when set, starts the run only if the workflow's
	// resource version is this one (else RESOURCE_VERSION_STALE).
	WorkflowVersion string
	// Input is the run's input: any JSON object, as for TaskSpec.Payload.
	Input any
	// IdempotencyKey makes starting idempotent (D17): a repeat returns the
	// original run with created false.
	IdempotencyKey string
	// Labels for filtering.
	Labels map[string]string
	// TraceID propagates a trace to the steps' tasks.
	TraceID string
}

// StartRun starts a run of a stored workflow. created is false when an
// idempotent replay returned an existing run. A missing workflow fails with
// reason WORKFLOW_NOT_FOUND.
func (c *WorkflowClient) StartRun(ctx context.Context, spec RunSpec) (run *Run, created bool, err error) {
	input, err := toStruct(spec.Input)
	if err != nil {
		return nil, false, newError(connect.CodeInvalidArgument, batonv1.ErrorReason_INVALID_FIELD, "input: "+err.Error(), nil)
	}
	res, err := c.rpc.StartRun(ctx, connect.NewRequest(&batonv1.StartRunRequest{
		Namespace:       spec.Namespace,
		Workflow:        spec.Workflow,
		WorkflowVersion: spec.WorkflowVersion,
		Input:           input,
		IdempotencyKey:  spec.IdempotencyKey,
		Labels:          spec.Labels,
		TraceId:         spec.TraceID,
	}))
	if err != nil {
		return nil, false, asError(err)
	}
	return res.Msg.GetRun(), res.Msg.GetCreated(), nil
}

// GetRun returns a run with every step's state, join, attempts and errors.
func (c *WorkflowClient) GetRun(ctx context.Context, id string) (*Run, error) {
	res, err := c.rpc.GetRun(ctx, connect.NewRequest(&batonv1.GetRunRequest{Id: id}))
	if err != nil {
		return nil, asError(err)
	}
	return res.Msg.GetRun(), nil
}

// RunFilter selects the runs ListRuns returns. Zero fields do not filter.
type RunFilter struct {
	// Namespace; default "default".
	Namespace string
	// Workflow, when set, keeps only this workflow's runs.
	Workflow string
	// States, when set, keeps only runs in these states.
	States []RunState
	// PageSize is the number of runs fetched per request (0: the server's default).
	PageSize int32
}

// ListRuns iterates over every matching run, newest first, fetching page
// after page as the loop advances. On an error it yields (nil, err) once and
// stops.
func (c *WorkflowClient) ListRuns(ctx context.Context, f RunFilter) iter.Seq2[*Run, error] {
	return pages(func(token string) ([]*Run, string, error) {
		res, err := c.rpc.ListRuns(ctx, connect.NewRequest(&batonv1.ListRunsRequest{
			Namespace: f.Namespace,
			Workflow:  f.Workflow,
			States:    f.States,
			PageSize:  f.PageSize,
			PageToken: token,
		}))
		if err != nil {
			return nil, "", err
		}
		return res.Msg.GetRuns(), res.Msg.GetNextPageToken(), nil
	})
}

// CancelRun cancels a running run (D11); reason is kept as its terminal_reason.
// Cancelling a CANCELLED run again succeeds and changes nothing; any other
// ended run fails with reason INVALID_STATE.
func (c *WorkflowClient) CancelRun(ctx context.Context, id, reason string) (*Run, error) {
	res, err := c.rpc.CancelRun(ctx, connect.NewRequest(&batonv1.CancelRunRequest{Id: id, Reason: reason}))
	if err != nil {
		return nil, asError(err)
	}
	return res.Msg.GetRun(), nil
}

// ApproveStep starts a step waiting in WAITING_APPROVAL (D10); approver and
// comment are recorded on the step. Any other state fails with reason
// INVALID_STATE.
func (c *WorkflowClient) ApproveStep(ctx context.Context, runID, step, approver, comment string) (*Run, error) {
	res, err := c.rpc.ApproveStep(ctx, connect.NewRequest(&batonv1.ApproveStepRequest{RunId: runID, Step: step, Approver: approver, Comment: comment}))
	if err != nil {
		return nil, asError(err)
	}
	return res.Msg.GetRun(), nil
}

// RejectStep rejects a step waiting for approval: the step fails with error
// type approval_rejected and its on_failure applies (by default the run
// fails). approver and reason are recorded on the step.
func (c *WorkflowClient) RejectStep(ctx context.Context, runID, step, approver, reason string) (*Run, error) {
	res, err := c.rpc.RejectStep(ctx, connect.NewRequest(&batonv1.RejectStepRequest{RunId: runID, Step: step, Approver: approver, Reason: reason}))
	if err != nil {
		return nil, asError(err)
	}
	return res.Msg.GetRun(), nil
}

// terminalRunEvent reports whether an event ends its run's stream.
func terminalRunEvent(t RunEventType) bool {
	switch t {
	case batonv1.RunEventType_RUN_EVENT_TYPE_RUN_SUCCEEDED, batonv1.RunEventType_RUN_EVENT_TYPE_RUN_FAILED,
		batonv1.RunEventType_RUN_EVENT_TYPE_RUN_CANCELLED, batonv1.RunEventType_RUN_EVENT_TYPE_RUN_TIMED_OUT:
		return true
	}
	return false
}

// WatchRun iterates over a run's events from its first one until the event
// that ends the run (RUN_SUCCEEDED, RUN_FAILED, RUN_CANCELLED or
// RUN_TIMED_OUT), which is the last one yielded. When the stream breaks (a
// server restart, a lost connection) it reconnects with backoff and resumes
// after the last cursor it yielded, so the loop sees no gap and no duplicate.
// It ends quietly when ctx is done or the loop breaks; an error a reconnect
// cannot fix (e.g. RUN_NOT_FOUND) is yielded once as (nil, err).
func (c *WorkflowClient) WatchRun(ctx context.Context, runID string, opts ...WatchOptions) iter.Seq2[*RunEvent, error] {
	var o WatchOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	return func(yield func(*RunEvent, error) bool) {
		backoff := o.Backoff
		// Nil asks for the run's events from its first one; afterwards the last
		// yielded cursor, so a resumed stream skips what the loop has seen.
		var after *int64
		for ctx.Err() == nil {
			err, stop := c.watchRunOnce(ctx, runID, &after, &backoff, yield)
			if stop || ctx.Err() != nil {
				return
			}
			delay := backoff.Next()
			if err != nil {
				var be *Error
				if !errors.As(asError(err), &be) || (!be.Retryable && !resumable(be.Code)) {
					yield(nil, asError(err))
					return
				}
				delay = max(delay, be.RetryAfter)
			}
			if !sleepCtx(ctx, delay, nil) {
				return
			}
		}
	}
}

// watchRunOnce runs one WatchRun stream; stop is true when the loop broke or
// the run ended.
func (c *WorkflowClient) watchRunOnce(ctx context.Context, runID string, after **int64, backoff *Backoff, yield func(*RunEvent, error) bool) (err error, stop bool) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.WatchRun(sctx, connect.NewRequest(&batonv1.WatchRunRequest{RunId: runID, AfterCursor: *after}))
	if err != nil {
		return err, false
	}
	defer stream.Close()
	for stream.Receive() {
		ev := stream.Msg().GetEvent()
		if ev == nil {
			continue
		}
		if *after != nil && ev.GetCursor() <= **after {
			continue
		}
		*after = Cursor(ev.GetCursor())
		backoff.Reset()
		if !yield(ev, nil) || terminalRunEvent(ev.GetType()) {
			return nil, true
		}
	}
	return stream.Err(), false
}

// pages turns a paged List call into an iterator: fetch is called with each
// next-page token until one comes back empty.
func pages[T any](fetch func(token string) ([]T, string, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		token := ""
		for {
			items, next, err := fetch(token)
			if err != nil {
				var zero T
				yield(zero, asError(err))
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			token = next
		}
	}
}
