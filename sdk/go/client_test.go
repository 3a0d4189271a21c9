package baton_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"connectrpc.com/connect"

	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
	baton "github.com/baton-run/baton/sdk/go"
)

func TestClientErrorsCarryErrorDetail(t *testing.T) {
	t.Parallel()
	c := newClient(t, shared.url)
	ctx := context.Background()

	// S1: every invalid field at once.
	_, _, err := c.CreateTask(ctx, baton.TaskSpec{Queue: "", Type: "", MaxAttempts: 5000})
	var be *baton.Error
	if !errors.As(err, &be) {
		t.Fatalf("err = %T %v; want *baton.Error", err, err)
	}
	if be.Code != connect.CodeInvalidArgument || be.ReasonCode() != batonv1.ErrorReason_INVALID_FIELD || be.Retryable {
		t.Fatalf("code=%v reason=%s retryable=%v", be.Code, be.Reason, be.Retryable)
	}
	fields := map[string]bool{}
	for _, v := range be.FieldViolations {
		fields[v.Field] = true
	}
	for _, f := range []string{"queue", "type", "max_attempts"} {
		if !fields[f] {
			t.Errorf("no violation for %s in %+v", f, be.FieldViolations)
		}
	}
	if be.Contract == nil || be.Contract.GetRecovery().GetGuidance() == "" {
		t.Errorf("no contract: %v", be.Contract)
	}

	// S2.
	_, err = c.GetTask(ctx, "01936b2e-0000-7000-8000-000000000000")
	if !errors.As(err, &be) || be.Code != connect.CodeNotFound || be.ReasonCode() != batonv1.ErrorReason_TASK_NOT_FOUND {
		t.Fatalf("GetTask(unknown) = %v", err)
	}

	// I1: the same key with another body.
	queue := queueName(t)
	if _, _, err := c.CreateTask(ctx, baton.TaskSpec{Queue: queue, Type: "x", IdempotencyKey: queue + "-k1", Payload: map[string]any{"n": 1}}); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.CreateTask(ctx, baton.TaskSpec{Queue: queue, Type: "x", IdempotencyKey: queue + "-k1", Payload: map[string]any{"n": 2}})
	if !errors.As(err, &be) || be.Code != connect.CodeAlreadyExists || be.ReasonCode() != batonv1.ErrorReason_IDEMPOTENCY_KEY_REUSED {
		t.Fatalf("reused key: %v", err)
	}
}

func TestClientListTasksPages(t *testing.T) {
	t.Parallel()
	c := newClient(t, shared.url)
	queue := queueName(t)
	specs := make([]baton.TaskSpec, 5)
	for i := range specs {
		specs[i] = baton.TaskSpec{Queue: queue, Type: "page", Payload: map[string]any{"i": i}}
	}
	created, err := c.BatchCreateTasks(context.Background(), specs)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for task, err := range c.ListTasks(context.Background(), baton.ListFilter{Queue: queue, PageSize: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		seen[task.GetId()] = true
	}
	for _, task := range created {
		if !seen[task.GetId()] {
			t.Fatalf("ListTasks missed %s; saw %d of %d", task.GetId(), len(seen), len(created))
		}
	}
	if len(seen) != len(created) {
		t.Fatalf("ListTasks returned %d tasks; want %d", len(seen), len(created))
	}
	// Breaking out of the loop stops paging.
	n := 0
	for range c.ListTasks(context.Background(), baton.ListFilter{Queue: queue, PageSize: 2}) {
		n++
		break
	}
	if n != 1 {
		t.Fatal("break did not stop the iterator")
	}
}

func TestClientPollingWorkerCalls(t *testing.T) {
	t.Parallel()
	c := newClient(t, shared.url)
	ctx := context.Background()
	queue := queueName(t)
	a := mustCreate(t, c, baton.TaskSpec{Queue: queue, Type: "poll", Priority: 10})
	b := mustCreate(t, c, baton.TaskSpec{Queue: queue, Type: "poll", MaxAttempts: 1})

	claimed, err := c.ClaimTasks(ctx, baton.ClaimRequest{Queue: queue, WorkerID: "poller", MaxTasks: 2, Wait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != 2 || claimed[0].GetId() != a.GetId() {
		t.Fatalf("claimed %d tasks, first %s; want 2 with %s (higher priority) first", len(claimed), claimed[0].GetId(), a.GetId())
	}
	leaseA := claimed[0].GetLease().GetLeaseId()
	leaseB := claimed[1].GetLease().GetLeaseId()

	hb, err := c.Heartbeat(ctx, a.GetId(), leaseA)
	if err != nil || hb.CancelRequested || time.Until(hb.LeaseExpireTime) < 10*time.Second {
		t.Fatalf("Heartbeat = %+v, %v", hb, err)
	}
	done, err := c.CompleteTask(ctx, a.GetId(), leaseA, map[string]any{"ok": true})
	if err != nil || done.GetState() != baton.TaskStateCompleted {
		t.Fatalf("CompleteTask = %v, %v", done.GetState(), err)
	}
	// W3: a resend after acceptance is answered the same way.
	if again, err := c.CompleteTask(ctx, a.GetId(), leaseA, map[string]any{"ok": true}); err != nil || again.GetState() != baton.TaskStateCompleted {
		t.Fatalf("CompleteTask resend = %v, %v", again.GetState(), err)
	}
	// L1: a stale lease is refused.
	var be *baton.Error
	if _, err := c.Heartbeat(ctx, a.GetId(), leaseA); !errors.As(err, &be) || be.ReasonCode() != batonv1.ErrorReason_LEASE_STALE {
		t.Fatalf("Heartbeat after completion = %v; want LEASE_STALE", err)
	}

	failed, err := c.FailTask(ctx, b.GetId(), leaseB, baton.Retryable(errors.New("out of stock"), baton.ErrorType("stock")))
	if err != nil {
		t.Fatal(err)
	}
	if failed.GetState() != baton.TaskStateDeadLetter || failed.GetLastError().GetType() != "stock" {
		t.Fatalf("FailTask on the last attempt = %s %v; want DEAD_LETTER", failed.GetState(), failed.GetLastError())
	}
}
