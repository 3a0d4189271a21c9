// The worker's side of one WorkerService.Connect stream: Hello, dispatch of
// server messages, Welcome, and flushing results onto the stream. The stream
// and its send queue are in session.go.

package baton

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
)

// ---- One session ----

type sessionEnd struct {
	welcomed bool
	goAway   *batonv1.GoAway
	err      error
}

// runSession holds one stream from Hello until it ends.
func (w *Worker) runSession() sessionEnd {
	ctx, cancel := context.WithCancel(w.baseCtx)
	defer cancel()
	stream := w.rpc.Connect(ctx)
	// net/http's HTTP/2 client notices a cancelled context only between reads of
	// the request body, which blocks on the next Send: closing the request side
	// lets a cancel end the stream at once. (Closing the pipe is safe while a Send runs.)
	stopClose := context.AfterFunc(ctx, func() { _ = stream.CloseRequest() })
	defer stopClose()
	s := newSession(ctx, cancel, stream)
	w.mu.Lock()
	hello := w.helloLocked()
	w.sess = s
	w.mu.Unlock()
	s.enqueue(msgHello(hello))
	go s.writeLoop()

	var timedOut atomic.Bool
	welcomeTimer := time.AfterFunc(w.opts.WelcomeTimeout, func() {
		timedOut.Store(true)
		cancel()
	})
	var err error
	for {
		msg, rerr := stream.Receive()
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				err = asError(rerr)
			}
			break
		}
		if perr := w.dispatch(s, msg, welcomeTimer); perr != nil {
			err = perr
			break
		}
	}
	welcomeTimer.Stop()
	if timedOut.Load() {
		err = newError(connect.CodeDeadlineExceeded, batonv1.ErrorReason_DEADLINE_EXCEEDED, fmt.Sprintf("protocol error: no Welcome within %s", w.opts.WelcomeTimeout), nil)
	}

	w.mu.Lock()
	welcomed := s.welcome != nil
	s.ended = true
	s.ready = false
	if w.sess == s {
		w.sess = nil
	}
	w.connected.Store(false)
	w.outbox.connectionLost()
	for key, list := range s.exts {
		for _, p := range list {
			p.ch <- extOutcome{err: newError(connect.CodeUnavailable, batonv1.ErrorReason_UNAVAILABLE, "the session ended before ExtendLease was answered", nil)}
		}
		delete(s.exts, key)
	}
	goAway := s.goAway
	w.notifyLocked()
	w.mu.Unlock()

	cancel()
	<-s.writerDone
	_ = stream.CloseResponse()
	close(s.done)
	return sessionEnd{welcomed: welcomed, goAway: goAway, err: err}
}

func (w *Worker) helloLocked() *batonv1.Hello {
	types := make([]string, 0, len(w.handlers))
	for t := range w.handlers {
		types = append(types, t)
	}
	sort.Strings(types)
	return &batonv1.Hello{
		Namespace:    w.opts.Namespace,
		Queues:       w.opts.Queues,
		TaskTypes:    types,
		WorkerId:     w.opts.WorkerID,
		InstanceId:   w.opts.InstanceID,
		Labels:       w.opts.Labels,
		Slots:        int32(w.opts.Slots),
		ResumeLeases: w.resumeLeasesLocked(),
		Sdk:          SDKName,
	}
}

// dispatch handles one server message; an error ends the session.
func (w *Worker) dispatch(s *session, msg *batonv1.ConnectResponse, welcomeTimer *time.Timer) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s.welcome == nil {
		wel := msg.GetWelcome()
		if wel == nil {
			return newError(connect.CodeInternal, batonv1.ErrorReason_PROTOCOL_VIOLATION, fmt.Sprintf("protocol error: got %T before Welcome (H1)", msg.GetMessage()), nil)
		}
		welcomeTimer.Stop()
		w.onWelcomeLocked(s, wel)
		return nil
	}
	switch m := msg.GetMessage().(type) {
	case *batonv1.ConnectResponse_Assign:
		w.onAssignLocked(s, m.Assign.GetTask())
	case *batonv1.ConnectResponse_Cancel:
		w.onCancelLocked(s, m.Cancel)
	case *batonv1.ConnectResponse_Ack:
		w.onAckLocked(s, m.Ack)
	case *batonv1.ConnectResponse_GoAway:
		s.goAway = m.GoAway
		w.emitLocked(WorkerEvent{Kind: WorkerEventGoAway, GoAwayReason: m.GoAway.GetReason(), ReconnectIn: m.GoAway.GetReconnectAfter().AsDuration()})
		w.log.Info("baton: server is going away", "reason", m.GoAway.GetReason(), "reconnect_after", m.GoAway.GetReconnectAfter().AsDuration())
		w.closeIfIdleAfterGoAwayLocked()
	case *batonv1.ConnectResponse_Welcome:
		w.log.Warn("baton: a second Welcome on one session; ignored")
	}
	return nil
}

func (w *Worker) onWelcomeLocked(s *session, wel *batonv1.Welcome) {
	s.welcome = wel
	s.ready = true
	w.connected.Store(true)
	if cg := wel.GetCancelGrace().AsDuration(); cg > 0 {
		w.cancelGrace = cg
	}
	// N2: these handlers work on leases that are gone; their results would be refused.
	for _, l := range wel.GetLost() {
		if r := w.active[l.GetTaskId()]; r != nil && r.leaseID == l.GetLeaseId() {
			w.dropRunLocked(r, ErrLeaseLost, "the lease was lost while disconnected")
		}
	}
	w.log.Info("baton: connected", "session_id", wel.GetSessionId(), "replica_id", wel.GetReplicaId(),
		"server_version", wel.GetServerVersion(), "resumed", len(wel.GetResumed()), "lost", len(wel.GetLost()))
	w.emitLocked(WorkerEvent{Kind: WorkerEventConnected, SessionID: wel.GetSessionId(), ReplicaID: wel.GetReplicaId(),
		ServerVersion: wel.GetServerVersion(), Resumed: len(wel.GetResumed()), Lost: len(wel.GetLost())})
	if w.draining {
		s.enqueue(msgDrain())
	}
	// Renew resumed leases now: the disconnect may have eaten most of their time.
	if len(w.active) > 0 {
		s.enqueue(msgHeartbeat(w.runningLeasesLocked()))
	}
	w.flushLocked() // R3
	interval := wel.GetHeartbeatInterval().AsDuration()
	if interval <= 0 {
		interval = defaultHeartbeat
	}
	go w.heartbeatLoop(s, max(10*time.Millisecond, time.Duration(float64(interval)*heartbeatFraction)))
	w.closeIfIdleAfterGoAwayLocked()
}

// flushLocked sends the results not yet sent on the current session.
func (w *Worker) flushLocked() {
	s := w.sess
	if s == nil || !s.ready {
		return
	}
	for _, r := range w.outbox.unsent() {
		s.enqueue(msgResult(r))
	}
}

// closeIfIdleAfterGoAwayLocked ends the request side once nothing needs a
// session that is going away (G1), so the server ends the stream and the
// worker reconnects.
func (w *Worker) closeIfIdleAfterGoAwayLocked() {
	s := w.sess
	if s != nil && s.goAway != nil && len(w.active) == 0 && w.outbox.len() == 0 {
		s.closeSend()
	}
}
