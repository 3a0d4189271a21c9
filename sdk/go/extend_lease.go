// ExtendLease (E1): a handler asks for a longer lease than its heartbeat
// timeout, answered by an Ack carrying the new deadline.

package baton

import (
	"context"
	"errors"
	"slices"
	"time"

	"connectrpc.com/connect"

	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
)

// ExtendLease moves the lease of the task whose handler ctx belongs to, to
// now + by (E1; at most 1h, never past the attempt's start-to-close
// deadline), and returns the new deadline. The worker heartbeats leases on its
// own; ExtendLease is for a handler that knows it needs a longer lease than
// the task's heartbeat timeout, e.g. before a long blocking call. It fails
// with reason LEASE_STALE when the lease is gone and UNAVAILABLE while the
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
		return time.Time{}, newError(connect.CodeFailedPrecondition, batonv1.ErrorReason_LEASE_STALE, "the attempt is over", nil)
	case s == nil || !s.ready:
		w.mu.Unlock()
		return time.Time{}, newError(connect.CodeUnavailable, batonv1.ErrorReason_UNAVAILABLE, "not connected to Baton; try again", nil)
	case !hasFeature(s.welcome, "extend_lease"):
		w.mu.Unlock()
		return time.Time{}, newError(connect.CodeUnimplemented, batonv1.ErrorReason_UNIMPLEMENTED, "this server does not support ExtendLease", nil)
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
		return time.Time{}, newError(connect.CodeDeadlineExceeded, batonv1.ErrorReason_DEADLINE_EXCEEDED, "no answer to ExtendLease", nil)
	}
}
