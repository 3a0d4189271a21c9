package baton

import (
	"time"

	"google.golang.org/protobuf/types/known/structpb"
)

// WorkerEventKind names what happened in a [WorkerEvent].
type WorkerEventKind string

// Kinds of worker events.
const (
	// WorkerEventConnected: a session was welcomed (SessionID, ReplicaID,
	// ServerVersion, Resumed, Lost are set).
	WorkerEventConnected WorkerEventKind = "connected"
	// WorkerEventDisconnected: the session ended; the worker reconnects after
	// ReconnectIn (Err says why, when it broke; GoAwayReason when the server
	// asked).
	WorkerEventDisconnected WorkerEventKind = "disconnected"
	// WorkerEventAssigned: the server assigned Task.
	WorkerEventAssigned WorkerEventKind = "assigned"
	// WorkerEventCompleted: the server accepted Task's result (Result,
	// TaskState).
	WorkerEventCompleted WorkerEventKind = "completed"
	// WorkerEventFailed: the server accepted a failure of the attempt
	// (TaskError; TaskState says whether it will be retried).
	WorkerEventFailed WorkerEventKind = "failed"
	// WorkerEventRejected: the server refused a result (ErrorDetail); it is not
	// sent again (R4).
	WorkerEventRejected WorkerEventKind = "rejected"
	// WorkerEventCancelled: a handler was told to stop: cancelled by a caller
	// (Reason), or its lease is gone (LeaseLost).
	WorkerEventCancelled WorkerEventKind = "cancelled"
	// WorkerEventGoAway: the server is going away (GoAwayReason, ReconnectIn).
	WorkerEventGoAway WorkerEventKind = "go_away"
)

// WorkerEvent is something that happened to a [Worker], delivered to
// WorkerOptions.OnEvent. Only the fields of its Kind are set.
type WorkerEvent struct {
	// Kind says what happened.
	Kind WorkerEventKind
	// Task is the task the event is about.
	Task *Task
	// TaskState is the task's state after an accepted result.
	TaskState TaskState
	// Result is the accepted result of a completed task.
	Result *structpb.Struct
	// TaskError is the accepted failure of a failed attempt.
	TaskError *TaskError
	// ErrorDetail says why a result was rejected.
	ErrorDetail *ErrorDetail
	// Reason is why a task was cancelled.
	Reason string
	// LeaseLost is true when a cancellation means the lease is gone.
	LeaseLost bool
	// SessionID, ReplicaID and ServerVersion describe a new session.
	SessionID, ReplicaID, ServerVersion string
	// Resumed and Lost count the leases a new session kept and lost (N2).
	Resumed, Lost int
	// Err is why a session broke; nil when it ended cleanly.
	Err error
	// GoAwayReason is the server's reason for a GoAway.
	GoAwayReason string
	// ReconnectIn is the delay before the next connection attempt.
	ReconnectIn time.Duration
}

// emitLocked queues an event for OnEvent; events are delivered in order on
// one goroutine, never under the worker's lock.
func (w *Worker) emitLocked(ev WorkerEvent) {
	if w.opts.OnEvent == nil || w.eventsClosed {
		return
	}
	w.events = append(w.events, ev)
	select {
	case w.eventSignal <- struct{}{}:
	default:
	}
}

func (w *Worker) emit(ev WorkerEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.emitLocked(ev)
}

// deliverEvents calls OnEvent for queued events until closeEvents.
func (w *Worker) deliverEvents(done chan<- struct{}) {
	defer close(done)
	for {
		w.mu.Lock()
		batch := w.events
		w.events = nil
		closed := w.eventsClosed
		w.mu.Unlock()
		for _, ev := range batch {
			w.callOnEvent(ev)
		}
		if closed && len(batch) == 0 {
			return
		}
		if len(batch) == 0 {
			<-w.eventSignal
		}
	}
}

func (w *Worker) callOnEvent(ev WorkerEvent) {
	defer func() {
		if p := recover(); p != nil {
			w.log.Error("baton: OnEvent panicked", "kind", ev.Kind, "panic", p)
		}
	}()
	w.opts.OnEvent(ev)
}

// closeEvents ends delivery after the queued events.
func (w *Worker) closeEvents() {
	w.mu.Lock()
	w.eventsClosed = true
	w.mu.Unlock()
	select {
	case w.eventSignal <- struct{}{}:
	default:
	}
}
