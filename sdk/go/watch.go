package baton

import (
	"context"
	"errors"
	"iter"

	"connectrpc.com/connect"

	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
)

// WatchFilter selects the events WatchTasks streams. Zero fields do not filter.
type WatchFilter struct {
	// Namespace; default "default".
	Namespace string
	// Queue, when set, keeps only this queue's events.
	Queue string
	// Type, when set, keeps only events of tasks of this type.
	Type string
	// TaskID, when set, keeps only this task's events.
	TaskID string
	// AfterCursor, when set, replays every event after this cursor first (0:
	// from the oldest kept event). Nil: only events committed after the call.
	AfterCursor *int64
}

// Cursor returns a pointer to c, for WatchFilter.AfterCursor.
func Cursor(c int64) *int64 { return &c }

// WatchOptions tunes WatchTasks.
type WatchOptions struct {
	// Backoff spaces out reconnects; the zero value uses the protocol's bounds.
	Backoff Backoff
}

// resumable codes are what a broken path looks like: a long watch outlives
// connections, replicas and deploys, so these resume instead of ending it.
func resumable(c connect.Code) bool {
	switch c {
	case connect.CodeUnavailable, connect.CodeUnknown, connect.CodeInternal, connect.CodeAborted,
		connect.CodeDeadlineExceeded, connect.CodeResourceExhausted, connect.CodeCanceled:
		return true
	}
	return false
}

// WatchTasks iterates over task events, first those after f.AfterCursor (when
// set), then live ones, in cursor order. When the stream breaks it reconnects
// with backoff and resumes after the last cursor it yielded, so the loop sees
// no gap and no duplicate. It runs until ctx is done (then it simply ends) or
// the loop breaks; an error a reconnect cannot fix (e.g. INVALID_ARGUMENT) is
// yielded once as (nil, err), and the iteration ends.
//
// With f.AfterCursor nil and the stream lost before its first event there is
// no cursor to resume from, so that reconnect again means "from now"; set
// AfterCursor to be gapless from the start.
func (c *Client) WatchTasks(ctx context.Context, f WatchFilter, opts ...WatchOptions) iter.Seq2[*TaskEvent, error] {
	var o WatchOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	return func(yield func(*TaskEvent, error) bool) {
		backoff := o.Backoff
		var after *int64
		if f.AfterCursor != nil {
			after = Cursor(*f.AfterCursor)
		}
		for ctx.Err() == nil {
			err, stop := c.watchOnce(ctx, f, &after, &backoff, yield)
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

// watchOnce runs one WatchTasks stream; stop is true when the loop broke.
func (c *Client) watchOnce(ctx context.Context, f WatchFilter, after **int64, backoff *Backoff, yield func(*TaskEvent, error) bool) (err error, stop bool) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.tasks.WatchTasks(sctx, connect.NewRequest(&batonv1.WatchTasksRequest{
		Namespace:   f.Namespace,
		Queue:       f.Queue,
		Type:        f.Type,
		TaskId:      f.TaskID,
		AfterCursor: *after,
	}))
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
		if !yield(ev, nil) {
			return nil, true
		}
	}
	return stream.Err(), false
}

// WaitForState watches a task until it reaches one of the given states (or
// any terminal state when none are given) and returns the task as it was
// then. It returns early with ctx's error. Handy for producers that wait for a
// result:
//
//	task, err := client.WaitForState(ctx, id)
func (c *Client) WaitForState(ctx context.Context, id string, states ...TaskState) (*Task, error) {
	want := func(s TaskState) bool {
		if len(states) == 0 {
			return s == TaskStateCompleted || s == TaskStateDeadLetter || s == TaskStateCancelled
		}
		for _, w := range states {
			if s == w {
				return true
			}
		}
		return false
	}
	// Read first: the task may be there already, and its events may be old.
	task, err := c.GetTask(ctx, id)
	if err != nil {
		return nil, err
	}
	if want(task.GetState()) {
		return task, nil
	}
	// Replaying this task's events from the start closes the gap between the
	// read above and the watch below.
	for ev, err := range c.WatchTasks(ctx, WatchFilter{Namespace: task.GetNamespace(), TaskID: id, AfterCursor: Cursor(0)}) {
		if err != nil {
			return nil, err
		}
		if !want(ev.GetTask().GetState()) {
			continue
		}
		// A replayed event may be from before a requeue: trust the task itself.
		task, err := c.GetTask(ctx, id)
		if err != nil {
			return nil, err
		}
		if want(task.GetState()) {
			return task, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, asError(err)
	}
	return nil, newError(connect.CodeUnavailable, batonv1.ErrorReason_UNAVAILABLE, "the watch ended before the task reached the state", nil)
}
