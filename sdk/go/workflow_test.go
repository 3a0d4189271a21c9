package baton_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
	baton "github.com/baton-run/baton/sdk/go"
)

// workflowYAML is a two-step workflow: a runs on queue as a task of type
// wf.step, then b waits for approval before it runs the same way.
func workflowYAML(name, queue string) string {
	return fmt.Sprintf(`kind: Workflow
metadata: {name: %s}
spec:
  steps:
    - {name: a, task_type: wf.step, queue: %s}
    - {name: b, task_type: wf.step, queue: %s, requires_approval: true}
  edges:
    - {from: a, to: b}
`, name, queue, queue)
}

// workflowName is a workflow name of the test's own.
func workflowName(t *testing.T) string {
	return strings.ToLower(strings.ReplaceAll(queueName(t), "_", "-"))
}

func newWorkflowClient(t *testing.T) *baton.WorkflowClient {
	c := baton.NewWorkflowClient(shared.url)
	t.Cleanup(c.Close)
	return c
}

// stepWorker runs the wf.step tasks of queue, answering {"step": <step task id>}.
func stepWorker(t *testing.T, queue string) {
	w := newWorker(t, shared.url, baton.WorkerOptions{Queues: []string{queue}, Slots: 2})
	w.Handle("wf.step", func(ctx context.Context, task *baton.Task) (any, error) {
		return map[string]any{"ok": true}, nil
	})
	runWorker(t, w)
}

// watchCtx bounds a watch so a broken server fails the test instead of hanging it.
func watchCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantReason(t *testing.T, what string, err error, code connect.Code, reason batonv1.ErrorReason) {
	t.Helper()
	var be *baton.Error
	if !errors.As(err, &be) {
		t.Fatalf("%s: err = %T %v; want *baton.Error %s", what, err, err, reason)
	}
	if be.Code != code || be.ReasonCode() != reason {
		t.Fatalf("%s: code=%v reason=%s; want %v %s", what, be.Code, be.Reason, code, reason)
	}
}

func TestWorkflowClientRunWithApprovalSucceeds(t *testing.T) {
	t.Parallel()
	c := newWorkflowClient(t)
	ctx := context.Background()
	queue := queueName(t)
	name := workflowName(t)
	stepWorker(t, queue)

	put, err := c.PutWorkflowYAML(ctx, workflowYAML(name, queue))
	if err != nil {
		t.Fatal(err)
	}
	if !put.Created || !put.Changed || len(put.Workflow.GetSpec().GetSteps()) != 2 {
		t.Fatalf("PutWorkflowYAML = created %v changed %v, %d steps", put.Created, put.Changed, len(put.Workflow.GetSpec().GetSteps()))
	}
	again, err := c.PutWorkflowYAML(ctx, workflowYAML(name, queue))
	if err != nil || again.Created || again.Changed {
		t.Fatalf("PutWorkflowYAML again = %+v, %v; want neither created nor changed", again, err)
	}
	got, err := c.GetWorkflow(ctx, "", name)
	if err != nil || got.GetMetadata().GetName() != name {
		t.Fatalf("GetWorkflow = %v, %v", got.GetMetadata().GetName(), err)
	}
	listed := false
	for wf, err := range c.ListWorkflows(ctx, "", 1) {
		if err != nil {
			t.Fatal(err)
		}
		listed = listed || wf.GetMetadata().GetName() == name
	}
	if !listed {
		t.Fatalf("ListWorkflows did not list %s", name)
	}

	run, created, err := c.StartRun(ctx, baton.RunSpec{Workflow: name, Input: map[string]any{"x": 1}, IdempotencyKey: name})
	if err != nil || !created || run.GetState() != baton.RunStateRunning {
		t.Fatalf("StartRun = %v created %v, %v", run.GetState(), created, err)
	}
	if replay, created, err := c.StartRun(ctx, baton.RunSpec{Workflow: name, Input: map[string]any{"x": 1}, IdempotencyKey: name}); err != nil || created || replay.GetId() != run.GetId() {
		t.Fatalf("StartRun replay = %s created %v, %v; want %s, not created", replay.GetId(), created, err, run.GetId())
	}

	// a runs on the worker; b then waits for approval, which the watch sees.
	var types []baton.RunEventType
	for ev, err := range c.WatchRun(watchCtx(t), run.GetId()) {
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, ev.GetType())
		if ev.GetType() == batonv1.RunEventType_RUN_EVENT_TYPE_STEP_WAITING_APPROVAL && ev.GetStep().GetName() == "b" {
			approved, err := c.ApproveStep(ctx, run.GetId(), "b", "go-test", "looks right")
			if err != nil {
				t.Fatal(err)
			}
			if st := approved.GetSteps()[1]; !st.GetApproval().GetApproved() || st.GetApproval().GetDecidedBy() != "go-test" {
				t.Fatalf("approved step b = %v", st)
			}
		}
	}
	if len(types) == 0 || types[0] != batonv1.RunEventType_RUN_EVENT_TYPE_RUN_STARTED || types[len(types)-1] != batonv1.RunEventType_RUN_EVENT_TYPE_RUN_SUCCEEDED {
		t.Fatalf("WatchRun events = %v; want RUN_STARTED first and RUN_SUCCEEDED last", types)
	}
	final, err := c.GetRun(ctx, run.GetId())
	if err != nil || final.GetState() != baton.RunStateSucceeded {
		t.Fatalf("GetRun = %v, %v; want SUCCEEDED", final.GetState(), err)
	}
	for _, st := range final.GetSteps() {
		if st.GetState() != batonv1.StepState_STEP_STATE_SUCCEEDED {
			t.Errorf("step %s = %v; want SUCCEEDED", st.GetName(), st.GetState())
		}
	}
	// A watch of an ended run replays its events and ends with the terminal one.
	n := 0
	var last baton.RunEventType
	for ev, err := range c.WatchRun(watchCtx(t), run.GetId()) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		last = ev.GetType()
	}
	if n != len(types) || last != batonv1.RunEventType_RUN_EVENT_TYPE_RUN_SUCCEEDED {
		t.Fatalf("replayed WatchRun = %d events ending %v; want %d ending RUN_SUCCEEDED", n, last, len(types))
	}

	seen := false
	for r, err := range c.ListRuns(ctx, baton.RunFilter{Workflow: name, States: []baton.RunState{baton.RunStateSucceeded}, PageSize: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		seen = seen || r.GetId() == run.GetId()
	}
	if !seen {
		t.Fatalf("ListRuns(SUCCEEDED) did not list %s", run.GetId())
	}
}

// waitApproval watches a run until step waits for approval.
func waitApproval(t *testing.T, c *baton.WorkflowClient, runID, step string) {
	t.Helper()
	for ev, err := range c.WatchRun(watchCtx(t), runID) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetType() == batonv1.RunEventType_RUN_EVENT_TYPE_STEP_WAITING_APPROVAL && ev.GetStep().GetName() == step {
			return
		}
	}
	t.Fatalf("run %s ended without %s waiting for approval", runID, step)
}

// lastEvent watches a run to its end and returns its terminal event.
func lastEvent(t *testing.T, c *baton.WorkflowClient, runID string) *baton.RunEvent {
	t.Helper()
	var last *baton.RunEvent
	for ev, err := range c.WatchRun(watchCtx(t), runID) {
		if err != nil {
			t.Fatal(err)
		}
		last = ev
	}
	return last
}

func TestWorkflowClientRejectAndCancel(t *testing.T) {
	t.Parallel()
	c := newWorkflowClient(t)
	ctx := context.Background()
	queue := queueName(t)
	name := workflowName(t)
	// One step waiting for approval: no worker is needed.
	yaml := fmt.Sprintf("kind: Workflow\nmetadata: {name: %s}\nspec:\n  steps:\n    - {name: gate, task_type: wf.step, queue: %s, requires_approval: true}\n", name, queue)
	if _, err := c.PutWorkflowYAML(ctx, yaml); err != nil {
		t.Fatal(err)
	}

	rejected, _, err := c.StartRun(ctx, baton.RunSpec{Workflow: name})
	if err != nil {
		t.Fatal(err)
	}
	waitApproval(t, c, rejected.GetId(), "gate")
	if _, err := c.RejectStep(ctx, rejected.GetId(), "gate", "go-test", "not today"); err != nil {
		t.Fatal(err)
	}
	if ev := lastEvent(t, c, rejected.GetId()); ev.GetType() != batonv1.RunEventType_RUN_EVENT_TYPE_RUN_FAILED {
		t.Fatalf("rejected run ended with %v; want RUN_FAILED", ev.GetType())
	}
	run, err := c.GetRun(ctx, rejected.GetId())
	if err != nil || run.GetState() != baton.RunStateFailed || run.GetSteps()[0].GetError().GetType() != "approval_rejected" {
		t.Fatalf("rejected run = %v step error %v, %v", run.GetState(), run.GetSteps()[0].GetError(), err)
	}
	// Approving a step that no longer waits is refused.
	_, err = c.ApproveStep(ctx, rejected.GetId(), "gate", "go-test", "")
	wantReason(t, "ApproveStep after RejectStep", err, connect.CodeFailedPrecondition, batonv1.ErrorReason_INVALID_STATE)

	cancelled, _, err := c.StartRun(ctx, baton.RunSpec{Workflow: name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CancelRun(ctx, cancelled.GetId(), "changed my mind"); err != nil {
		t.Fatal(err)
	}
	if ev := lastEvent(t, c, cancelled.GetId()); ev.GetType() != batonv1.RunEventType_RUN_EVENT_TYPE_RUN_CANCELLED {
		t.Fatalf("cancelled run ended with %v; want RUN_CANCELLED", ev.GetType())
	}
	run, err = c.GetRun(ctx, cancelled.GetId())
	if err != nil || run.GetState() != baton.RunStateCancelled {
		t.Fatalf("cancelled run = %v, %v", run.GetState(), err)
	}
	states := map[string]baton.RunState{}
	for r, err := range c.ListRuns(ctx, baton.RunFilter{Workflow: name}) {
		if err != nil {
			t.Fatal(err)
		}
		states[r.GetId()] = r.GetState()
	}
	if len(states) != 2 || states[rejected.GetId()] != baton.RunStateFailed || states[cancelled.GetId()] != baton.RunStateCancelled {
		t.Fatalf("ListRuns = %v", states)
	}
}

func TestWorkflowClientErrors(t *testing.T) {
	t.Parallel()
	c := newWorkflowClient(t)
	ctx := context.Background()
	name := workflowName(t)
	queue := queueName(t)

	_, _, err := c.StartRun(ctx, baton.RunSpec{Workflow: name + "-missing"})
	wantReason(t, "StartRun(missing workflow)", err, connect.CodeNotFound, batonv1.ErrorReason_WORKFLOW_NOT_FOUND)
	_, err = c.GetWorkflow(ctx, "", name+"-missing")
	wantReason(t, "GetWorkflow(missing)", err, connect.CodeNotFound, batonv1.ErrorReason_WORKFLOW_NOT_FOUND)
	_, err = c.GetRun(ctx, "01936b2e-0000-7000-8000-000000000000")
	wantReason(t, "GetRun(unknown)", err, connect.CodeNotFound, batonv1.ErrorReason_RUN_NOT_FOUND)

	// A refused definition lists its problems with YAML paths.
	bad := fmt.Sprintf("metadata: {name: %s}\nspec:\n  steps:\n    - {name: a, task_type: wf.step, queue: %s}\n  edges:\n    - {from: a, to: zz}\n", name, queue)
	_, err = c.PutWorkflowYAML(ctx, bad)
	wantReason(t, "PutWorkflowYAML(bad edge)", err, connect.CodeInvalidArgument, batonv1.ErrorReason_INVALID_FIELD)
	var be *baton.Error
	errors.As(err, &be)
	if len(be.FieldViolations) != 1 || be.FieldViolations[0].Field != "yaml.spec.edges[0].to_step" {
		t.Fatalf("violations = %+v", be.FieldViolations)
	}

	// ValidateOnly stores nothing.
	good := workflowYAML(name, queue)
	if res, err := c.PutWorkflowYAML(ctx, good, baton.PutWorkflowOptions{ValidateOnly: true}); err != nil || res.Workflow.GetMetadata().GetName() != name {
		t.Fatalf("validate-only put = %v, %v", res, err)
	}
	_, err = c.GetWorkflow(ctx, "", name)
	wantReason(t, "GetWorkflow after validate-only put", err, connect.CodeNotFound, batonv1.ErrorReason_WORKFLOW_NOT_FOUND)

	// DeleteWorkflow: a stale resource version is refused, the current one deletes.
	put, err := c.PutWorkflowYAML(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	version := put.Workflow.GetMetadata().GetResourceVersion()
	_, err = c.DeleteWorkflow(ctx, "", name, version+"0")
	wantReason(t, "DeleteWorkflow(stale version)", err, connect.CodeAborted, batonv1.ErrorReason_RESOURCE_VERSION_STALE)
	deleted, err := c.DeleteWorkflow(ctx, "", name, version)
	if err != nil || deleted.GetMetadata().GetName() != name {
		t.Fatalf("DeleteWorkflow = %v, %v", deleted, err)
	}
	_, err = c.GetWorkflow(ctx, "", name)
	wantReason(t, "GetWorkflow after delete", err, connect.CodeNotFound, batonv1.ErrorReason_WORKFLOW_NOT_FOUND)

	// WatchRun of an unknown run yields the error once instead of retrying.
	n := 0
	for ev, err := range c.WatchRun(watchCtx(t), "01936b2e-0000-7000-8000-000000000000") {
		n++
		if ev != nil || n > 1 {
			t.Fatalf("WatchRun(unknown) yielded %v, %v", ev, err)
		}
		wantReason(t, "WatchRun(unknown)", err, connect.CodeNotFound, batonv1.ErrorReason_RUN_NOT_FOUND)
	}
	if n != 1 {
		t.Fatalf("WatchRun(unknown) yielded %d times; want one error", n)
	}
}

// A WatchRun loop outlives a server killed and restarted on the same port and
// database: it resumes after its last cursor, with nothing missed or repeated,
// and ends with the run.
func TestWorkflowClientWatchRunResumesAcrossRestart(t *testing.T) {
	t.Parallel()
	srv, err := startServer(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.stop() })
	c := baton.NewWorkflowClient(srv.url)
	t.Cleanup(c.Close)
	ctx := context.Background()
	name := workflowName(t)
	yaml := fmt.Sprintf("kind: Workflow\nmetadata: {name: %s}\nspec:\n  steps:\n    - {name: gate, task_type: wf.step, queue: %s, requires_approval: true}\n", name, queueName(t))
	if _, err := c.PutWorkflowYAML(ctx, yaml); err != nil {
		t.Fatal(err)
	}
	run, _, err := c.StartRun(ctx, baton.RunSpec{Workflow: name})
	if err != nil {
		t.Fatal(err)
	}

	events := make(chan *baton.RunEvent, 64)
	watchErr := make(chan error, 1)
	go func() {
		defer close(events)
		for ev, err := range c.WatchRun(watchCtx(t), run.GetId()) {
			if err != nil {
				watchErr <- err
				return
			}
			events <- ev
		}
	}()
	var seen []*baton.RunEvent
	for {
		ev := recv(t, events, 30*time.Second, "STEP_WAITING_APPROVAL")
		if ev == nil {
			t.Fatal("the watch ended early")
		}
		seen = append(seen, ev)
		if ev.GetType() == batonv1.RunEventType_RUN_EVENT_TYPE_STEP_WAITING_APPROVAL {
			break
		}
	}

	srv.kill()
	restarted, err := startServer(srv.port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { restarted.stop() })
	srv = restarted
	if _, err := c.RejectStep(ctx, run.GetId(), "gate", "go-test", "after the restart"); err != nil {
		t.Fatal(err)
	}
	for ev := range events {
		seen = append(seen, ev)
	}
	select {
	case err := <-watchErr:
		t.Fatalf("WatchRun across the restart: %v", err)
	default:
	}
	if last := seen[len(seen)-1].GetType(); last != batonv1.RunEventType_RUN_EVENT_TYPE_RUN_FAILED {
		t.Fatalf("last event = %v; want RUN_FAILED", last)
	}
	// The same events as a fresh watch of the ended run: no gap, no duplicate.
	var replay []int64
	for ev, err := range c.WatchRun(watchCtx(t), run.GetId()) {
		if err != nil {
			t.Fatal(err)
		}
		replay = append(replay, ev.GetCursor())
	}
	var got []int64
	for _, ev := range seen {
		got = append(got, ev.GetCursor())
	}
	if fmt.Sprint(got) != fmt.Sprint(replay) {
		t.Fatalf("cursors across the restart = %v; a fresh watch = %v", got, replay)
	}
}
