package baton

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
)

// fixed returns a random source cycling through values.
func fixed(values ...float64) func() float64 {
	i := 0
	return func() float64 {
		v := values[i%len(values)]
		i++
		return v
	}
}

func TestBackoffFirstDelayWithinFloorAndTwiceIt(t *testing.T) {
	if d := (&Backoff{Rand: fixed(0)}).Next(); d != 100*time.Millisecond {
		t.Fatalf("lowest first delay = %s", d)
	}
	if d := (&Backoff{Rand: fixed(1)}).Next(); d != 200*time.Millisecond {
		t.Fatalf("highest first delay = %s", d)
	}
	for i := 0; i < 1000; i++ {
		var b Backoff
		if d := b.Next(); d < BackoffFloor || d > 200*time.Millisecond {
			t.Fatalf("first delay %s outside [100ms, 200ms]", d)
		}
	}
}

func TestBackoffDoublesAndCaps(t *testing.T) {
	b := Backoff{Rand: fixed(1)}
	var got []time.Duration
	for i := 0; i < 20; i++ {
		got = append(got, b.Next())
	}
	want := []time.Duration{200, 400, 800, 1600, 3200, 6400}
	for i, w := range want {
		if got[i] != w*time.Millisecond {
			t.Fatalf("delay %d = %s; want %s (all: %v)", i, got[i], w*time.Millisecond, got)
		}
	}
	for _, d := range got[len(got)-5:] {
		if d != BackoffCap {
			t.Fatalf("late delays %v; want the 30s cap", got[len(got)-5:])
		}
	}
}

func TestBackoffStaysInBoundsAndJittersFully(t *testing.T) {
	var b Backoff
	for i := 0; i < 10000; i++ {
		if d := b.Next(); d < BackoffFloor || d > BackoffCap {
			t.Fatalf("delay %s outside [%s, %s]", d, BackoffFloor, BackoffCap)
		}
	}
	// Deep in the failures the ceiling is the cap: draws cover the whole range.
	lo, hi, sum := time.Duration(math.MaxInt64), time.Duration(0), time.Duration(0)
	distinct := map[time.Duration]bool{}
	const n = 2000
	for i := 0; i < n; i++ {
		b := Backoff{failures: 9}
		d := b.Next()
		lo, hi, sum = min(lo, d), max(hi, d), sum+d
		distinct[d] = true
	}
	span := BackoffCap - BackoffFloor
	if lo > BackoffFloor+span/10 || hi < BackoffFloor+span*9/10 {
		t.Fatalf("draws span [%s, %s]; want nearly [%s, %s]", lo, hi, BackoffFloor, BackoffCap)
	}
	if mean := sum / n; mean < 13*time.Second || mean > 17*time.Second {
		t.Fatalf("mean delay %s; want about 15s (uniform)", mean)
	}
	if len(distinct) < n/2 {
		t.Fatalf("only %d distinct delays of %d", len(distinct), n)
	}
}

func TestBackoffResetAndClamps(t *testing.T) {
	b := Backoff{Rand: fixed(1)}
	for i := 0; i < 8; i++ {
		b.Next()
	}
	if b.Failures() != 8 {
		t.Fatalf("failures = %d", b.Failures())
	}
	b.Reset()
	if d := b.Next(); d != 200*time.Millisecond {
		t.Fatalf("after Reset: %s", d)
	}
	c := Backoff{Floor: 5 * time.Millisecond, Cap: 2 * time.Minute, Multiplier: 100, Rand: fixed(0)}
	if d := c.Next(); d != BackoffFloor {
		t.Fatalf("floor not clamped to 100ms: %s", d)
	}
	c.Rand = fixed(1)
	for i := 0; i < 5; i++ {
		if d := c.Next(); d > BackoffCap {
			t.Fatalf("cap not clamped to 30s: %s", d)
		}
	}
}

func detailError(t *testing.T, code connect.Code, d *batonv1.ErrorDetail) *connect.Error {
	t.Helper()
	ce := connect.NewError(code, errors.New(d.GetMessage()))
	ed, err := connect.NewErrorDetail(d)
	if err != nil {
		t.Fatal(err)
	}
	ce.AddDetail(ed)
	return ce
}

func TestErrorDecodesErrorDetail(t *testing.T) {
	ce := detailError(t, connect.CodeInvalidArgument, &batonv1.ErrorDetail{
		Reason:  batonv1.ErrorReason_INVALID_FIELD.String(),
		Message: "invalid request: queue is required",
		FieldViolations: []*batonv1.FieldViolation{
			{Field: "queue", Description: "is required"},
			{Field: "retry_policy.multiplier", Description: "must be between 1 and 10; got 0.5"},
		},
		Contract: &batonv1.AgentContract{
			Resource: "task/abc",
			State:    "PENDING",
			Recovery: &batonv1.Recovery{Retryable: true, RetryAfter: durationpb.New(2500 * time.Millisecond), Guidance: "fix the fields"},
		},
	})
	err := asError(fmt.Errorf("calling: %w", ce))
	var be *Error
	if !errors.As(err, &be) {
		t.Fatalf("%T is not *Error", err)
	}
	if be.Code != connect.CodeInvalidArgument || be.ReasonCode() != batonv1.ErrorReason_INVALID_FIELD || be.Message != "invalid request: queue is required" {
		t.Fatalf("decoded %+v", be)
	}
	if len(be.FieldViolations) != 2 || be.FieldViolations[1] != (FieldViolation{"retry_policy.multiplier", "must be between 1 and 10; got 0.5"}) {
		t.Fatalf("violations %+v", be.FieldViolations)
	}
	if !be.Retryable || be.RetryAfter != 2500*time.Millisecond || be.Contract.GetResource() != "task/abc" {
		t.Fatalf("recovery: retryable=%v after=%s contract=%v", be.Retryable, be.RetryAfter, be.Contract)
	}
	var back *connect.Error
	if !errors.As(err, &back) || back != ce {
		t.Fatal("*Error does not unwrap to the *connect.Error")
	}
	if be.Error() != "baton: INVALID_FIELD: invalid request: queue is required" {
		t.Fatalf("Error() = %q", be.Error())
	}
	if d := be.Detail(); d.GetReason() != batonv1.ErrorReason_INVALID_FIELD.String() || len(d.GetFieldViolations()) != 2 {
		t.Fatalf("Detail() = %v", d)
	}
}

func TestErrorWithoutDetailFallsBackToCode(t *testing.T) {
	var be *Error
	if !errors.As(asError(connect.NewError(connect.CodeUnavailable, errors.New("connection refused"))), &be) {
		t.Fatal("not *Error")
	}
	if be.ReasonCode() != batonv1.ErrorReason_UNAVAILABLE || !be.Retryable || be.Contract != nil {
		t.Fatalf("unavailable: %+v", be)
	}
	if !errors.As(asError(connect.NewError(connect.CodeNotFound, errors.New("404"))), &be) || be.ReasonCode() != batonv1.ErrorReason_UNKNOWN || be.Retryable {
		t.Fatalf("not found: %+v", be)
	}
	ctxErr := asError(context.Canceled)
	if !errors.Is(ctxErr, context.Canceled) || !errors.As(ctxErr, &be) || be.Code != connect.CodeCanceled {
		t.Fatalf("context.Canceled became %v", ctxErr)
	}
	if asError(nil) != nil {
		t.Fatal("asError(nil) != nil")
	}
	// A detail without recovery: the code decides.
	ce := detailError(t, connect.CodeFailedPrecondition, &batonv1.ErrorDetail{Reason: batonv1.ErrorReason_LEASE_STALE.String(), Message: "stale"})
	if !errors.As(asError(ce), &be) || be.ReasonCode() != batonv1.ErrorReason_LEASE_STALE || be.Retryable {
		t.Fatalf("lease stale: %+v", be)
	}
}

type typedErr struct{}

func (typedErr) Error() string     { return "typed" }
func (typedErr) ErrorType() string { return "my_type" }

func TestFailureOfHandlerErrors(t *testing.T) {
	f := failureOf(Retryable(errors.New("upstream 503"), ErrorType("http_503"), RetryAfter(1500*time.Millisecond)))
	if e := f.GetError(); e.GetType() != "http_503" || e.GetMessage() != "upstream 503" || e.GetNonRetryable() {
		t.Fatalf("retryable: %v", e)
	}
	if f.GetRetryAfter().AsDuration() != 1500*time.Millisecond {
		t.Fatalf("retry_after = %v", f.GetRetryAfter())
	}

	f = failureOf(NonRetryable(errors.New("bad address"), ErrorType("validation"), RetryAfter(time.Second), ErrorDetails(map[string]any{"field": "to"})))
	if e := f.GetError(); e.GetType() != "validation" || !e.GetNonRetryable() || e.GetDetails().AsMap()["field"] != "to" || f.GetRetryAfter() != nil {
		t.Fatalf("non-retryable: %v", f)
	}

	cases := []struct {
		err  error
		want string
	}{
		{errors.New("x"), "error"},
		{fmt.Errorf("open: %w", &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}), "fs.PathError"},
		{fmt.Errorf("wrapped: %w", typedErr{}), "my_type"},
		{context.DeadlineExceeded, "deadline_exceeded"},
		{NonRetryable(errors.New("plain")), "error"},
		{&panicError{value: "boom", stack: "goroutine 1"}, "panic"},
	}
	for _, c := range cases {
		if got := failureOf(c.err).GetError().GetType(); got != c.want {
			t.Errorf("type of %v = %q; want %q", c.err, got, c.want)
		}
	}
	if s := failureOf(&panicError{value: "boom", stack: "goroutine 1"}).GetError().GetDetails().AsMap()["stack"]; s != "goroutine 1" {
		t.Errorf("panic stack detail = %v", s)
	}
	if Retryable(nil) != nil || NonRetryable(nil) != nil {
		t.Error("wrapping nil is not nil")
	}
	long := make([]byte, 20000)
	for i := range long {
		long[i] = 'a'
	}
	if n := len(failureOf(errors.New(string(long))).GetError().GetMessage()); n != errorMessageMaxChars {
		t.Errorf("message not truncated: %d", n)
	}
}

func TestResultConversion(t *testing.T) {
	type out struct {
		N    int       `json:"n"`
		At   time.Time `json:"at"`
		Tags []string  `json:"tags"`
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := completedResult("t", "l", out{N: 1, At: at, Tags: []string{"a"}})
	m := r.GetCompleted().AsMap()
	if m["n"] != float64(1) || m["at"] != "2026-01-01T00:00:00Z" || fmt.Sprint(m["tags"]) != "[a]" {
		t.Fatalf("struct result = %v", m)
	}
	if got := completedResult("t", "l", nil).GetCompleted(); len(got.GetFields()) != 0 {
		t.Fatalf("nil result = %v", got)
	}
	if got := completedResult("t", "l", 42).GetCompleted().AsMap(); got["value"] != float64(42) {
		t.Fatalf("scalar result = %v", got)
	}
	s, _ := structpb.NewStruct(map[string]any{"k": "v"})
	if got := completedResult("t", "l", s).GetCompleted(); got != s {
		t.Fatal("a *structpb.Struct is not passed through")
	}
	if got := completedResult("t", "l", map[string]any{"ch": make(chan int)}); got.GetFailed().GetError().GetType() != "invalid_result" || !got.GetFailed().GetError().GetNonRetryable() {
		t.Fatalf("non-JSON result = %v", got)
	}
	if _, err := toStruct([]int{1}); err == nil {
		t.Fatal("a list payload was accepted")
	}
}

func TestOutboxKeepsResultsUntilAcked(t *testing.T) {
	var o outbox
	r1 := completedResult("t1", "l1", nil)
	r2 := completedResult("t2", "l2", nil)
	if !o.put(r1, nil) || !o.put(r2, nil) || o.put(completedResult("t1", "l1", map[string]any{"x": 1}), nil) {
		t.Fatal("put: an attempt keeps its first result only")
	}
	if got := o.unsent(); len(got) != 2 || got[0] != r1 {
		t.Fatalf("unsent = %v", got)
	}
	if got := o.unsent(); len(got) != 0 {
		t.Fatal("a result was sent twice on one stream")
	}
	o.connectionLost() // R3: everything unacknowledged goes out again.
	if got := o.unsent(); len(got) != 2 {
		t.Fatalf("after reconnect: %d resent", len(got))
	}
	if o.take("t1", "l1") == nil || o.take("t1", "l1") != nil || o.len() != 1 {
		t.Fatal("take")
	}
	if ls := o.leases(); len(ls) != 1 || ls[0].GetTaskId() != "t2" {
		t.Fatalf("leases = %v", ls)
	}
}

// The exported reason constants are the contract's names (V1), so comparing
// Error.Reason with them and ReasonCode with the enum agree.
func TestReasonConstantsAreTheContractsNames(t *testing.T) {
	for c, r := range map[string]batonv1.ErrorReason{
		ReasonInvalidField:         batonv1.ErrorReason_INVALID_FIELD,
		ReasonTaskNotFound:         batonv1.ErrorReason_TASK_NOT_FOUND,
		ReasonInvalidState:         batonv1.ErrorReason_INVALID_STATE,
		ReasonLeaseStale:           batonv1.ErrorReason_LEASE_STALE,
		ReasonCancelRequested:      batonv1.ErrorReason_CANCEL_REQUESTED,
		ReasonIdempotencyKeyReused: batonv1.ErrorReason_IDEMPOTENCY_KEY_REUSED,
		ReasonStorageUnavailable:   batonv1.ErrorReason_STORAGE_UNAVAILABLE,
	} {
		if c != r.String() {
			t.Errorf("constant %q != %s", c, r)
		}
		if got := (&Error{Reason: c}).ReasonCode(); got != r {
			t.Errorf("ReasonCode(%q) = %s", c, got)
		}
	}
	// V2: a reason from a newer server is not a crash, just unspecified.
	if got := (&Error{Reason: "SOMETHING_NEW"}).ReasonCode(); got != batonv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
		t.Errorf("ReasonCode(unknown) = %s", got)
	}
}

// An Ack refusing without a reason reads as RESULT_REFUSED; one with a reason keeps it.
func TestRefusalReasons(t *testing.T) {
	for _, ack := range []*batonv1.Ack{{}, {Error: &batonv1.ErrorDetail{Message: "no"}}} {
		if e := refusal(ack, "refused"); e.ReasonCode() != batonv1.ErrorReason_RESULT_REFUSED || e.Code != connect.CodeFailedPrecondition {
			t.Errorf("refusal(%v) = %v %s", ack, e.Code, e.Reason)
		}
	}
	e := refusal(&batonv1.Ack{Error: &batonv1.ErrorDetail{Reason: ReasonInvalidField, Message: "bad"}}, "refused")
	if e.ReasonCode() != batonv1.ErrorReason_INVALID_FIELD || e.Code != connect.CodeInvalidArgument || e.Message != "bad" {
		t.Errorf("refusal(INVALID_FIELD) = %v %s %q", e.Code, e.Reason, e.Message)
	}
}
