// Heartbeats (B1): one WorkerHeartbeat per interval listing every lease the
// worker holds, and the leases Hello resumes after a reconnect (N2, R3).

package baton

import (
	"sort"
	"time"

	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
)

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
