// Package gengo_test checks that the generated Go code (gen/go) builds, round-trips
// messages and serves Connect. Run through scripts/test-gen.sh.
package gengo_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
	"github.com/baton-run/baton/gen/go/baton/v1/batonv1connect"
)

func sampleTask(t *testing.T) *batonv1.Task {
	t.Helper()
	payload, err := structpb.NewStruct(map[string]any{
		"to":      "ada@example.com",
		"attempt": 3,
		"tags":    []any{"a", "b"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &batonv1.Task{
		Id:            "0193a1b2-0000-7000-8000-000000000001",
		Namespace:     "default",
		Queue:         "email",
		Type:          "email.send",
		Payload:       payload,
		State:         batonv1.TaskState_TASK_STATE_PENDING,
		ScheduledTime: &timestamppb.Timestamp{Seconds: 1_700_000_000, Nanos: 5},
		Labels:        map[string]string{"team": "growth"},
	}
}

func TestTaskRoundTrip(t *testing.T) {
	task := sampleTask(t)
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(task)
	if err != nil {
		t.Fatal(err)
	}
	var parsed batonv1.Task
	if err := proto.Unmarshal(data, &parsed); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(task, &parsed) {
		t.Fatalf("round trip changed the task:\n got %v\nwant %v", &parsed, task)
	}
	if got := parsed.GetPayload().GetFields()["to"].GetStringValue(); got != "ada@example.com" {
		t.Fatalf("payload.to = %q", got)
	}
}

func TestGoPackage(t *testing.T) {
	fd := batonv1.File_baton_v1_task_service_proto
	if got := fd.Services().Get(0).FullName(); got != "baton.v1.TaskService" {
		t.Fatalf("service = %s", got)
	}
	if batonv1connect.TaskServiceName != "baton.v1.TaskService" {
		t.Fatalf("TaskServiceName = %s", batonv1connect.TaskServiceName)
	}
}

type fakeTaskService struct {
	batonv1connect.UnimplementedTaskServiceHandler
	task *batonv1.Task
}

func (s *fakeTaskService) GetTask(
	_ context.Context, req *connect.Request[batonv1.GetTaskRequest],
) (*connect.Response[batonv1.GetTaskResponse], error) {
	task := proto.CloneOf(s.task)
	task.Id = req.Msg.GetId()
	return connect.NewResponse(&batonv1.GetTaskResponse{
		Task:     task,
		Contract: &batonv1.AgentContract{Resource: "task/" + task.GetId()},
	}), nil
}

func TestConnectRoundTripOverLoopback(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle(batonv1connect.NewTaskServiceHandler(&fakeTaskService{task: sampleTask(t)}))
	server := httptest.NewServer(mux) // 127.0.0.1 only
	defer server.Close()

	client := batonv1connect.NewTaskServiceClient(server.Client(), server.URL)
	resp, err := client.GetTask(t.Context(), connect.NewRequest(&batonv1.GetTaskRequest{Id: "t-1"}))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Msg.GetTask().GetId() != "t-1" || resp.Msg.GetContract().GetResource() != "task/t-1" {
		t.Fatalf("GetTask = %v", resp.Msg)
	}

	_, err = client.CancelTask(t.Context(), connect.NewRequest(&batonv1.CancelTaskRequest{Id: "t-1"}))
	var connectErr *connect.Error
	if !errors.As(err, &connectErr) || connectErr.Code() != connect.CodeUnimplemented {
		t.Fatalf("CancelTask error = %v, want unimplemented", err)
	}
}
