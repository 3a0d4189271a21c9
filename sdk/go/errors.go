package baton

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
)

// Reasons Baton puts in ErrorDetail.reason (and so in [Error.Reason]). Each
// is the name of a [batonv1.ErrorReason] value, the contract's closed
// vocabulary (rules V1, V2); compare [Error.ReasonCode] with the generated
// enum for the rest, e.g. batonv1.ErrorReason_WORKFLOW_NOT_FOUND. They stay
// string constants so that comparisons with Error.Reason keep compiling.
const (
	// ReasonInvalidField: the request had invalid fields (see FieldViolations).
	ReasonInvalidField = "INVALID_FIELD"
	// ReasonTaskNotFound: no task has the given id (S2).
	ReasonTaskNotFound = "TASK_NOT_FOUND"
	// ReasonInvalidState: the call is not valid in the task's current state (S3).
	ReasonInvalidState = "INVALID_STATE"
	// ReasonLeaseStale: the lease is not the task's current lease; stop working
	// on the task and do not retry (L1, L4).
	ReasonLeaseStale = "LEASE_STALE"
	// ReasonCancelRequested: the task was cancelled while running; report with
	// FailTask instead of CompleteTask (W4).
	ReasonCancelRequested = "CANCEL_REQUESTED"
	// ReasonIdempotencyKeyReused: the idempotency key was used before with a
	// different request body (I1).
	ReasonIdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
	// ReasonStorageUnavailable: Baton's database is unreachable; retry later (S4).
	ReasonStorageUnavailable = "STORAGE_UNAVAILABLE"
	// ReasonNotConnected was the reason of a call the worker could not send
	// for want of a session.
	//
	// Deprecated: it is not in the contract's vocabulary; the SDK now reports
	// that case as UNAVAILABLE (batonv1.ErrorReason_UNAVAILABLE), as for any
	// server it cannot reach.
	ReasonNotConnected = "NOT_CONNECTED"
)

// FieldViolation is one invalid field of a request.
type FieldViolation struct {
	// Field is the field's path in proto names, e.g. "retry_policy.multiplier".
	Field string
	// Description says what is wrong and how to fix it.
	Description string
}

// Error is every error a Baton call returns. Baton attaches an ErrorDetail to
// every error (rule C2); Error decodes it so callers branch on Reason and
// Retryable instead of parsing messages:
//
//	var be *baton.Error
//	if errors.As(err, &be) && be.Reason == baton.ReasonTaskNotFound { ... }
type Error struct {
	// Code is the Connect/gRPC status code.
	Code connect.Code
	// Reason is a stable UPPER_SNAKE_CASE reason such as LEASE_STALE; derived
	// from Code (e.g. UNAVAILABLE) when the server sent no ErrorDetail.
	Reason string
	// Message says what went wrong, in plain words.
	Message string
	// FieldViolations lists every invalid field of the request (S1).
	FieldViolations []FieldViolation
	// Contract is the agent contract of the error: state, next actions and
	// recovery guidance. Nil when the server sent none.
	Contract *AgentContract
	// Retryable reports whether repeating the same request later can succeed
	// (C5). Without an ErrorDetail, transient codes (UNAVAILABLE,
	// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED) count as retryable.
	Retryable bool
	// RetryAfter is the least wait before that retry; 0 when there is no minimum.
	RetryAfter time.Duration

	cause error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Message == "" {
		return "baton: " + e.Reason
	}
	return "baton: " + e.Reason + ": " + e.Message
}

// Unwrap returns the underlying *connect.Error (or other cause), so
// errors.Is(err, context.Canceled) and errors.As(err, &connectErr) work.
func (e *Error) Unwrap() error { return e.cause }

// ReasonCode returns Reason as the contract's enum, for comparisons with the
// generated names:
//
//	if be.ReasonCode() == batonv1.ErrorReason_WORKFLOW_NOT_FOUND { ... }
//
// A reason this SDK's generated code does not know (a newer server) gives
// ERROR_REASON_UNSPECIFIED; act on Code and Retryable then (rule V2).
func (e *Error) ReasonCode() batonv1.ErrorReason {
	return batonv1.ErrorReason(batonv1.ErrorReason_value[e.Reason])
}

// Detail returns the error as the protocol's ErrorDetail message.
func (e *Error) Detail() *ErrorDetail {
	d := &batonv1.ErrorDetail{Reason: e.Reason, Message: e.Message, Contract: e.Contract}
	for _, v := range e.FieldViolations {
		d.FieldViolations = append(d.FieldViolations, &batonv1.FieldViolation{Field: v.Field, Description: v.Description})
	}
	return d
}

// transientCodes are retried when no ErrorDetail says otherwise: they describe
// the path to the server (a proxy, the network), not the request.
func transientCode(c connect.Code) bool {
	switch c {
	case connect.CodeUnavailable, connect.CodeDeadlineExceeded, connect.CodeResourceExhausted, connect.CodeAborted:
		return true
	}
	return false
}

// codeReason is the reason of an error that came without an ErrorDetail: the
// contract's client-side names for a broken path (UNAVAILABLE), a call
// cancelled or out of time, a procedure the server lacks, and UNKNOWN ("act on
// the code") for everything else.
func codeReason(c connect.Code) string {
	switch c {
	case connect.CodeUnavailable:
		return batonv1.ErrorReason_UNAVAILABLE.String()
	case connect.CodeCanceled:
		return batonv1.ErrorReason_CANCELED.String()
	case connect.CodeDeadlineExceeded:
		return batonv1.ErrorReason_DEADLINE_EXCEEDED.String()
	case connect.CodeUnimplemented:
		return batonv1.ErrorReason_UNIMPLEMENTED.String()
	}
	return batonv1.ErrorReason_UNKNOWN.String()
}

// ErrorDetailOf returns the baton.v1.ErrorDetail attached to a Connect error,
// or nil when there is none.
func ErrorDetailOf(err *connect.Error) *ErrorDetail {
	if err == nil {
		return nil
	}
	for _, d := range err.Details() {
		if d.Type() != "baton.v1.ErrorDetail" {
			continue
		}
		var detail batonv1.ErrorDetail
		if proto.Unmarshal(d.Bytes(), &detail) == nil {
			return &detail
		}
	}
	return nil
}

// asError converts what a Connect call returned into *Error. Nil stays nil and
// an *Error passes through unchanged.
func asError(err error) error {
	if err == nil {
		return nil
	}
	var be *Error
	if errors.As(err, &be) {
		return err
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		code := connect.CodeOf(err)
		if errors.Is(err, context.Canceled) {
			code = connect.CodeCanceled
		} else if errors.Is(err, context.DeadlineExceeded) {
			code = connect.CodeDeadlineExceeded
		}
		ce = connect.NewError(code, err)
	}
	return newErrorFromConnect(ce)
}

func newErrorFromConnect(ce *connect.Error) *Error {
	e := &Error{Code: ce.Code(), Message: ce.Message(), cause: ce}
	detail := ErrorDetailOf(ce)
	if detail == nil {
		e.Reason = codeReason(ce.Code())
		e.Retryable = transientCode(ce.Code())
		return e
	}
	e.Reason = detail.GetReason()
	if e.Reason == "" {
		e.Reason = codeReason(ce.Code())
	}
	if detail.GetMessage() != "" {
		e.Message = detail.GetMessage()
	}
	for _, v := range detail.GetFieldViolations() {
		e.FieldViolations = append(e.FieldViolations, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
	}
	e.Contract = detail.GetContract()
	if rec := detail.GetContract().GetRecovery(); rec != nil {
		e.Retryable = rec.GetRetryable()
		if rec.GetRetryAfter() != nil {
			e.RetryAfter = rec.GetRetryAfter().AsDuration()
		}
	} else {
		e.Retryable = transientCode(ce.Code())
	}
	return e
}

// newError makes an error the SDK raises itself (e.g. a lost lease on the
// worker stream), shaped like one the server would have sent.
func newError(code connect.Code, reason batonv1.ErrorReason, message string, detail *ErrorDetail) *Error {
	if detail == nil {
		detail = &batonv1.ErrorDetail{Reason: reason.String(), Message: message}
	}
	ce := connect.NewError(code, errors.New(message))
	if d, err := connect.NewErrorDetail(detail); err == nil {
		ce.AddDetail(d)
	}
	return newErrorFromConnect(ce)
}

// ---- Handler errors ----

// HandlerError is a handler's error with instructions for Baton: its type,
// whether retrying can help, and the least delay before the retry. Make one
// with [Retryable] or [NonRetryable].
type HandlerError struct {
	// Err is the wrapped error; its message becomes TaskError.message.
	Err error
	// Type is TaskError.type, matched against the task's
	// non_retryable_error_types (T6). Empty: derived from Err's Go type.
	Type string
	// NonRetryable sends the task to DEAD_LETTER at once (R5, T6).
	NonRetryable bool
	// RetryAfter is the least delay before the retry (T5); 0 for none.
	RetryAfter time.Duration
	// Details is structured detail (any JSON object), e.g. the upstream response.
	Details map[string]any
}

// Error implements error.
func (e *HandlerError) Error() string {
	if e.Err == nil {
		return "task failed"
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *HandlerError) Unwrap() error { return e.Err }

// ErrorOption sets a property of a [HandlerError].
type ErrorOption func(*HandlerError)

// ErrorType sets the error's TaskError.type (e.g. "http_503"), which the task's
// retry policy matches against non_retryable_error_types.
func ErrorType(t string) ErrorOption { return func(e *HandlerError) { e.Type = t } }

// RetryAfter sets the least delay before the retry (T5, at most 24h).
func RetryAfter(d time.Duration) ErrorOption { return func(e *HandlerError) { e.RetryAfter = d } }

// ErrorDetails attaches structured detail (a JSON object) to the TaskError.
func ErrorDetails(details map[string]any) ErrorOption {
	return func(e *HandlerError) { e.Details = details }
}

// Retryable marks err as a failure another attempt may fix. Any error a
// handler returns is retryable unless marked otherwise; use Retryable to set
// the type or a retry-after delay:
//
//	return nil, baton.Retryable(err, baton.ErrorType("http_503"), baton.RetryAfter(30*time.Second))
//
// Retryable(nil) is nil.
func Retryable(err error, opts ...ErrorOption) error {
	if err == nil {
		return nil
	}
	e := &HandlerError{Err: err}
	for _, o := range opts {
		o(e)
	}
	e.NonRetryable = false
	return e
}

// NonRetryable marks err as a failure retrying cannot fix: the task goes to
// DEAD_LETTER at once (R5, T6). NonRetryable(nil) is nil.
func NonRetryable(err error, opts ...ErrorOption) error {
	if err == nil {
		return nil
	}
	e := &HandlerError{Err: err}
	for _, o := range opts {
		o(e)
	}
	e.NonRetryable = true
	e.RetryAfter = 0
	return e
}

// ---- Why a handler's context was cancelled ----

var (
	// ErrTaskCancelled: CancelTask was called. Stop; a "cancelled" failure is
	// reported for you (X2).
	ErrTaskCancelled = errors.New("baton: task cancelled")
	// ErrLeaseLost: the lease expired or went to another worker. Stop; nothing
	// is reported (B2, L4).
	ErrLeaseLost = errors.New("baton: lease lost")
	// ErrWorkerShutdown: the worker is stopping and its grace period ran out; a
	// retryable "worker_shutdown" failure is reported.
	ErrWorkerShutdown = errors.New("baton: worker shutting down")
)

// TaskAbortedError is the context.Cause of a handler's context when Baton
// stops the handler. It wraps one of [ErrTaskCancelled], [ErrLeaseLost] or
// [ErrWorkerShutdown]:
//
//	if errors.Is(context.Cause(ctx), baton.ErrTaskCancelled) { ... }
type TaskAbortedError struct {
	// Why is ErrTaskCancelled, ErrLeaseLost or ErrWorkerShutdown.
	Why error
	// Reason is the server's or the SDK's explanation, e.g.
	// "cancelled by caller: duplicate order".
	Reason string
}

// Error implements error.
func (e *TaskAbortedError) Error() string {
	if e.Reason == "" {
		return e.Why.Error()
	}
	return fmt.Sprintf("%s: %s", e.Why.Error(), e.Reason)
}

// Unwrap returns Why.
func (e *TaskAbortedError) Unwrap() error { return e.Why }
