package baton

import (
	"context"
	"sync"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
)

// session is one WorkerService.Connect stream, from Hello to its end. The
// worker reconnects with a new session; the fields marked "w.mu" are guarded
// by the worker's mutex.
type session struct {
	stream *connect.BidiStreamForClient[batonv1.ConnectRequest, batonv1.ConnectResponse]
	ctx    context.Context
	cancel context.CancelFunc
	// done is closed when the session has ended.
	done chan struct{}

	// w.mu
	welcome *batonv1.Welcome
	ready   bool // welcomed and not ended: messages other than Hello may go out (H3)
	ended   bool
	goAway  *batonv1.GoAway
	exts    map[string][]*pendingExt

	// The send queue: unbounded, so the worker never blocks on the network while
	// holding its mutex; one writer goroutine drains it in order.
	qmu        sync.Mutex
	queue      []*batonv1.ConnectRequest
	closeReq   bool
	signal     chan struct{}
	writerDone chan struct{}
}

// pendingExt is an ExtendLease waiting for its Ack.
type pendingExt struct {
	ch chan extOutcome
}

type extOutcome struct {
	deadline time.Time
	err      error
}

func leaseKey(taskID, leaseID string) string { return taskID + "\x00" + leaseID }

func newSession(ctx context.Context, cancel context.CancelFunc, stream *connect.BidiStreamForClient[batonv1.ConnectRequest, batonv1.ConnectResponse]) *session {
	return &session{
		stream:     stream,
		ctx:        ctx,
		cancel:     cancel,
		done:       make(chan struct{}),
		exts:       map[string][]*pendingExt{},
		signal:     make(chan struct{}, 1),
		writerDone: make(chan struct{}),
	}
}

// enqueue queues a message for the writer; false once the request side closed.
func (s *session) enqueue(m *batonv1.ConnectRequest) bool {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.closeReq {
		return false
	}
	s.queue = append(s.queue, m)
	s.poke()
	return true
}

// closeSend ends the request side after what is queued: the server then ends
// the stream.
func (s *session) closeSend() {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	s.closeReq = true
	s.poke()
}

func (s *session) poke() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// writeLoop sends queued messages in order until the session ends.
func (s *session) writeLoop() {
	defer close(s.writerDone)
	closed := false
	for {
		s.qmu.Lock()
		var msg *batonv1.ConnectRequest
		if len(s.queue) > 0 {
			msg = s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
		}
		closeNow := msg == nil && s.closeReq && !closed
		s.qmu.Unlock()
		switch {
		case msg != nil:
			if err := s.stream.Send(msg); err != nil {
				// Receive reports why; if it somehow does not, do not hang.
				time.AfterFunc(2*time.Second, s.cancel)
				return
			}
			continue
		case closeNow:
			closed = true
			_ = s.stream.CloseRequest()
			return
		}
		select {
		case <-s.signal:
		case <-s.ctx.Done():
			return
		}
	}
}

func hasFeature(w *batonv1.Welcome, f string) bool {
	for _, x := range w.GetFeatures() {
		if x == f {
			return true
		}
	}
	return false
}

func msgHello(h *batonv1.Hello) *batonv1.ConnectRequest {
	return &batonv1.ConnectRequest{Message: &batonv1.ConnectRequest_Hello{Hello: h}}
}

func msgHeartbeat(leases []*batonv1.LeaseRef) *batonv1.ConnectRequest {
	return &batonv1.ConnectRequest{Message: &batonv1.ConnectRequest_Heartbeat{Heartbeat: &batonv1.WorkerHeartbeat{Leases: leases}}}
}

func msgResult(r *batonv1.Result) *batonv1.ConnectRequest {
	return &batonv1.ConnectRequest{Message: &batonv1.ConnectRequest_Result{Result: r}}
}

func msgDrain() *batonv1.ConnectRequest {
	return &batonv1.ConnectRequest{Message: &batonv1.ConnectRequest_Drain{Drain: &batonv1.Drain{}}}
}

func msgExtend(taskID, leaseID string, by time.Duration) *batonv1.ConnectRequest {
	return &batonv1.ConnectRequest{Message: &batonv1.ConnectRequest_ExtendLease{ExtendLease: &batonv1.ExtendLease{
		TaskId: taskID, LeaseId: leaseID, ExtendBy: durationpb.New(by),
	}}}
}
