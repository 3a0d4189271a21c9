// One attempt from Assign to its single outcome: slot accounting (K3),
// running the handler, and stopping it on Cancel (X2), a lost lease (B2) or
// shutdown (G2).

package baton

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"connectrpc.com/connect"

	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
)

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
			p.ch <- extOutcome{err: newError(connect.CodeFailedPrecondition, batonv1.ErrorReason_LEASE_STALE, "lease lost: "+c.GetReason(), nil)}
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
