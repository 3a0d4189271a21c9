// The graceful stop (G2) and the stop after a fatal error: both decide what
// happens to running handlers and unacknowledged results when Run ends.

package baton

import (
	"slices"
	"time"
)

// drain is the graceful stop (G2), run once Run's context is cancelled.
func (w *Worker) drain() {
	w.mu.Lock()
	w.draining = true
	if s := w.sess; s != nil && s.ready {
		s.enqueue(msgDrain())
	}
	for _, r := range slices.Clone(w.queued) {
		w.shutdownRunLocked(r)
	}
	running := len(w.active)
	w.mu.Unlock()
	w.log.Info("baton: worker draining", "running", running, "grace", w.opts.ShutdownGrace)

	if !w.waitUntil(func() bool { return len(w.active) == 0 }, w.opts.ShutdownGrace) {
		w.log.Warn("baton: shutdown grace ran out; stopping the running tasks")
	}
	w.mu.Lock()
	w.aborting = true
	for _, r := range w.activeRunsLocked() {
		w.shutdownRunLocked(r)
	}
	w.mu.Unlock()

	if !w.waitUntil(func() bool { return w.outbox.len() == 0 }, w.opts.FlushTimeout) {
		w.mu.Lock()
		n := w.outbox.len()
		w.mu.Unlock()
		w.log.Warn("baton: stopping with results the server has not acknowledged; their leases will expire and the tasks retry", "unacknowledged", n)
	}
	w.mu.Lock()
	w.finishLocked()
	s := w.sess
	welcomed := s != nil && s.welcome != nil
	if welcomed {
		s.closeSend()
	} else if s != nil {
		s.cancel() // still waiting for Welcome: nothing to close gracefully
	}
	w.mu.Unlock()
	if s != nil {
		t := time.NewTimer(closeTimeout)
		defer t.Stop()
		select {
		case <-s.done:
		case <-t.C:
			s.cancel()
			<-s.done
		}
	}
	w.log.Info("baton: worker stopped")
}

// abandon gives up after a fatal error: handlers are stopped and nothing more is sent.
func (w *Worker) abandon(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.finishLocked()
	w.aborting = true
	for _, r := range w.activeRunsLocked() {
		w.dropRunLocked(r, ErrWorkerShutdown, "the worker session was refused: "+err.Error())
	}
}

// finishLocked ends the run loop: no more reconnects.
func (w *Worker) finishLocked() {
	if !w.finished {
		w.finished = true
		close(w.wake)
	}
}

func (w *Worker) activeRunsLocked() []*taskRun {
	runs := make([]*taskRun, 0, len(w.active))
	for _, r := range w.active {
		runs = append(runs, r)
	}
	return runs
}
