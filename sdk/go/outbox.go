package baton

import (
	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
)

// outboxEntry is a result waiting for its Ack.
type outboxEntry struct {
	result *batonv1.Result
	task   *Task
	// sent is true once sent on the current stream.
	sent bool
}

// outbox keeps results until the server answers them (R2), however many
// streams that takes: each is sent once per stream (R3: again after a
// reconnect, never twice on one stream) and forgotten after its Ack, accepted
// or not (R4: a refused result is not resent). Not safe for concurrent use:
// the worker guards it with its mutex.
type outbox struct {
	entries []*outboxEntry
}

func (o *outbox) len() int { return len(o.entries) }

func (o *outbox) index(taskID, leaseID string) int {
	for i, e := range o.entries {
		if e.result.GetTaskId() == taskID && e.result.GetLeaseId() == leaseID {
			return i
		}
	}
	return -1
}

func (o *outbox) has(taskID, leaseID string) bool { return o.index(taskID, leaseID) >= 0 }

// put keeps the first result of a lease: an attempt has exactly one outcome.
func (o *outbox) put(r *batonv1.Result, task *Task) bool {
	if o.has(r.GetTaskId(), r.GetLeaseId()) {
		return false
	}
	o.entries = append(o.entries, &outboxEntry{result: r, task: task})
	return true
}

// unsent returns the entries not yet sent on this stream, oldest first, and
// marks them sent.
func (o *outbox) unsent() []*batonv1.Result {
	var out []*batonv1.Result
	for _, e := range o.entries {
		if !e.sent {
			e.sent = true
			out = append(out, e.result)
		}
	}
	return out
}

// connectionLost marks everything unacknowledged for sending again (R3).
func (o *outbox) connectionLost() {
	for _, e := range o.entries {
		e.sent = false
	}
}

// take removes and returns the entry of a lease, or nil.
func (o *outbox) take(taskID, leaseID string) *outboxEntry {
	i := o.index(taskID, leaseID)
	if i < 0 {
		return nil
	}
	e := o.entries[i]
	o.entries = append(o.entries[:i], o.entries[i+1:]...)
	return e
}

// leases returns the lease of every entry.
func (o *outbox) leases() []*batonv1.LeaseRef {
	out := make([]*batonv1.LeaseRef, 0, len(o.entries))
	for _, e := range o.entries {
		out = append(out, &batonv1.LeaseRef{TaskId: e.result.GetTaskId(), LeaseId: e.result.GetLeaseId()})
	}
	return out
}
