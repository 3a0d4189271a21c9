// Acks (R2, R4): the server's answers to Results and ExtendLeases.

package baton

import (
	"errors"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
)

func (w *Worker) onAckLocked(s *session, ack *batonv1.Ack) {
	key := leaseKey(ack.GetTaskId(), ack.GetLeaseId())
	// An Ack answers a Result or an ExtendLease of the same lease. Only an
	// extension's Ack carries a deadline, and an extension of a lease whose
	// result is already out can only be refused: so a deadline, or no result
	// waiting, means an extension.
	if list := s.exts[key]; len(list) > 0 && (ack.GetLeaseExpireTime() != nil || !w.outbox.has(ack.GetTaskId(), ack.GetLeaseId())) {
		p := list[0]
		if len(list) == 1 {
			delete(s.exts, key)
		} else {
			s.exts[key] = list[1:]
		}
		if ack.GetAccepted() && ack.GetLeaseExpireTime() != nil {
			p.ch <- extOutcome{deadline: ack.GetLeaseExpireTime().AsTime()}
		} else {
			p.ch <- extOutcome{err: refusal(ack, "ExtendLease was refused")}
		}
		return
	}
	e := w.outbox.take(ack.GetTaskId(), ack.GetLeaseId())
	if e == nil {
		w.log.Debug("baton: Ack for a result not waiting here; ignored", "task_id", ack.GetTaskId())
		return
	}
	switch {
	case !ack.GetAccepted():
		w.emitLocked(WorkerEvent{Kind: WorkerEventRejected, Task: e.task, ErrorDetail: ack.GetError()})
		w.log.Warn("baton: result refused by the server (R4: not resent)", "task_id", ack.GetTaskId(),
			"reason", ack.GetError().GetReason(), "message", ack.GetError().GetMessage())
		// The handler finished just as the task was cancelled: the server now waits for
		// the cancellation failure (X2) instead, a different Result, so R4 allows it.
		if ack.GetError().GetReason() == ReasonCancelRequested && e.result.GetCompleted() != nil {
			msg := ack.GetError().GetMessage()
			if msg == "" {
				msg = "cancelled"
			}
			w.outbox.put(failedResult(ack.GetTaskId(), ack.GetLeaseId(), Retryable(errors.New(msg), ErrorType("cancelled"))), e.task)
			w.flushLocked()
		}
	case e.result.GetCompleted() != nil:
		w.emitLocked(WorkerEvent{Kind: WorkerEventCompleted, Task: e.task, TaskState: ack.GetTaskState(), Result: e.result.GetCompleted()})
		w.log.Debug("baton: result accepted", "task_id", ack.GetTaskId(), "state", ack.GetTaskState().String())
	default:
		w.emitLocked(WorkerEvent{Kind: WorkerEventFailed, Task: e.task, TaskState: ack.GetTaskState(), TaskError: e.result.GetFailed().GetError()})
		w.log.Debug("baton: failure accepted", "task_id", ack.GetTaskId(), "state", ack.GetTaskState().String())
	}
	w.notifyLocked()
	w.closeIfIdleAfterGoAwayLocked()
}

// refusal turns an Ack{accepted: false} into the *Error a unary call would
// have returned. An Ack without an ErrorDetail (or with one that names no
// reason) reads as RESULT_REFUSED, the reason the contract keeps for it.
func refusal(ack *batonv1.Ack, fallback string) *Error {
	code := connect.CodeFailedPrecondition
	if ack.GetError().GetReason() == batonv1.ErrorReason_INVALID_FIELD.String() {
		code = connect.CodeInvalidArgument
	}
	msg := ack.GetError().GetMessage()
	if msg == "" {
		msg = fallback
	}
	detail := ack.GetError()
	if detail != nil && detail.GetReason() == "" {
		detail = proto.CloneOf(detail)
		detail.Reason = batonv1.ErrorReason_RESULT_REFUSED.String()
	}
	return newError(code, batonv1.ErrorReason_RESULT_REFUSED, msg, detail)
}
