package baton

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
)

// Server limits on TaskError (server/src/core/defaults.ts): longer values would
// get the Result refused.
const (
	errorTypeMaxChars    = 256
	errorMessageMaxChars = 16 * 1024
	stackMaxChars        = 8 * 1024
	retryAfterMax        = 24 * time.Hour
)

// toStruct converts a JSON object value to a Struct: nil, *structpb.Struct,
// map[string]any, json.RawMessage, []byte holding JSON, or anything
// encoding/json turns into an object (e.g. a struct with json tags).
func toStruct(v any) (*structpb.Struct, error) {
	var data []byte
	switch x := v.(type) {
	case nil:
		return &structpb.Struct{Fields: map[string]*structpb.Value{}}, nil
	case *structpb.Struct:
		if x == nil {
			return &structpb.Struct{Fields: map[string]*structpb.Value{}}, nil
		}
		return x, nil
	case map[string]any:
		if s, err := structpb.NewStruct(x); err == nil {
			return s, nil
		}
	case json.RawMessage:
		data = x
	case []byte:
		data = x
	}
	if data == nil {
		var err error
		if data, err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("baton: %T is not JSON: %w", v, err)
		}
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("baton: %T is not a JSON object: %w", v, err)
	}
	return s, nil
}

// resultStruct is toStruct for a handler's result: a value that is JSON but not
// an object (a number, a list) is wrapped as {"value": ...} rather than failing
// an attempt whose work is done.
func resultStruct(v any) (*structpb.Struct, error) {
	s, err := toStruct(v)
	if err == nil {
		return s, nil
	}
	data, jerr := json.Marshal(v)
	if jerr != nil {
		return nil, err
	}
	var value structpb.Value
	if protojson.Unmarshal(data, &value) != nil {
		return nil, err
	}
	if _, isObject := value.GetKind().(*structpb.Value_StructValue); isObject {
		return value.GetStructValue(), nil
	}
	return &structpb.Struct{Fields: map[string]*structpb.Value{"value": &value}}, nil
}

// decodeStruct decodes a Struct into v as encoding/json would decode the JSON.
func decodeStruct(s *structpb.Struct, v any) error {
	if s == nil {
		s = &structpb.Struct{}
	}
	data, err := protojson.Marshal(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// DecodePayload decodes a task's JSON payload into v (a pointer), as
// json.Unmarshal would.
func DecodePayload(task *Task, v any) error {
	return decodeStruct(task.GetPayload(), v)
}

// DecodeResult decodes a completed task's JSON result into v (a pointer), as
// json.Unmarshal would.
func DecodeResult(task *Task, v any) error {
	return decodeStruct(task.GetResult(), v)
}

// panicError is a handler's panic, reported as a retryable failure.
type panicError struct {
	value any
	stack string
}

func (p *panicError) Error() string { return fmt.Sprintf("handler panicked: %v", p.value) }

// failureOf turns an error into the protocol's Failure (R5): type, message,
// non-retryability, retry-after and details.
func failureOf(err error) *batonv1.Failure {
	if err == nil {
		err = errors.New("task failed")
	}
	te := &batonv1.TaskError{Message: err.Error()}
	var retryAfter time.Duration
	var details map[string]any
	var he *HandlerError
	if errors.As(err, &he) {
		te.Type = he.Type
		te.NonRetryable = he.NonRetryable
		retryAfter = he.RetryAfter
		details = he.Details
		if te.Type == "" {
			te.Type = errorTypeOf(he.Err)
		}
	} else {
		te.Type = errorTypeOf(err)
	}
	var pe *panicError
	if errors.As(err, &pe) {
		if details == nil {
			details = map[string]any{}
		}
		details["stack"] = truncate(pe.stack, stackMaxChars)
	}
	if details != nil {
		if s, serr := toStruct(details); serr == nil {
			te.Details = s
		}
	}
	te.Type = truncate(te.Type, errorTypeMaxChars)
	if te.Type == "" {
		te.Type = "error"
	}
	te.Message = truncate(te.Message, errorMessageMaxChars)
	f := &batonv1.Failure{Error: te}
	if retryAfter > 0 && !te.NonRetryable {
		f.RetryAfter = durationpb.New(min(retryAfter, retryAfterMax))
	}
	return f
}

// errorTypeOf names an error by its Go type, skipping the anonymous wrappers of
// the standard library: fmt.Errorf("...: %w", &os.PathError{}) is "fs.PathError",
// errors.New("x") is "error". An error with an `ErrorType() string` method
// names itself.
func errorTypeOf(err error) string {
	var typed interface{ ErrorType() string }
	if errors.As(err, &typed) && typed.ErrorType() != "" {
		return typed.ErrorType()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch name := fmt.Sprintf("%T", e); name {
		case "*errors.errorString", "*fmt.wrapError", "*fmt.wrapErrors", "*errors.joinError", "*baton.HandlerError":
			continue
		case "*baton.panicError":
			return "panic"
		default:
			return strings.TrimPrefix(name, "*")
		}
	}
	return "error"
}

// truncate cuts s to at most n characters (runes).
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// completedResult is the Result for a handler's return value; a value that
// cannot be JSON fails the attempt non-retryably.
func completedResult(taskID, leaseID string, value any) *batonv1.Result {
	s, err := resultStruct(value)
	if err != nil {
		return failedResult(taskID, leaseID, NonRetryable(fmt.Errorf("the handler's result is not a JSON object: %w", err), ErrorType("invalid_result")))
	}
	return &batonv1.Result{TaskId: taskID, LeaseId: leaseID, Outcome: &batonv1.Result_Completed{Completed: s}}
}

// failedResult is the Result for a handler's error.
func failedResult(taskID, leaseID string, err error) *batonv1.Result {
	return &batonv1.Result{TaskId: taskID, LeaseId: leaseID, Outcome: &batonv1.Result_Failed{Failed: failureOf(err)}}
}
