// Command worker is a runnable example of a Baton worker written with the Go SDK.
//
//	node_modules/.bin/tsx server/src/main.ts serve --port 7233   # in the repo root
//	cd sdk/go && go run ./examples/worker -url http://127.0.0.1:7233 -queue demo -produce 5
//
// It handles two task types on one queue, runs up to -slots of them at once,
// and on SIGTERM or Ctrl-C stops taking work, lets running tasks finish (up to
// -grace), and exits once their results are acknowledged. With -produce N it
// first creates N demo tasks of each type.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"syscall"
	"time"

	baton "github.com/baton-run/baton/sdk/go"
)

// emailPayload is the payload of an "email.send" task.
type emailPayload struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
}

// sendEmail pretends to send an email. A missing address can never succeed, so
// it fails non-retryably (the task goes to DEAD_LETTER); a flaky "upstream"
// fails retryably with a retry-after, as an HTTP 503 with Retry-After would.
func sendEmail(ctx context.Context, task *baton.Task) (any, error) {
	var p emailPayload
	if err := baton.DecodePayload(task, &p); err != nil {
		return nil, baton.NonRetryable(err, baton.ErrorType("bad_payload"))
	}
	if p.To == "" {
		return nil, baton.NonRetryable(errors.New("the payload has no `to` address"), baton.ErrorType("validation"))
	}
	if rand.IntN(4) == 0 {
		return nil, baton.Retryable(errors.New("mail relay answered 503"), baton.ErrorType("http_503"), baton.RetryAfter(2*time.Second))
	}
	select {
	case <-time.After(200 * time.Millisecond): // the "send"
	case <-ctx.Done():
		// Cancelled (context.Cause says why): stop; Baton records the outcome.
		return nil, context.Cause(ctx)
	}
	return map[string]any{"delivered_to": p.To, "attempt": task.GetAttempt()}, nil
}

// buildReport is long work: it asks for a longer lease first, then checks its
// context between steps so a CancelTask stops it within a step.
func buildReport(ctx context.Context, task *baton.Task) (any, error) {
	if _, err := baton.ExtendLease(ctx, 5*time.Minute); err != nil {
		slog.Warn("could not extend the lease; relying on heartbeats", "err", err)
	}
	const steps = 10
	for i := 0; i < steps; i++ {
		select {
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	return map[string]any{"pages": steps, "built_at": time.Now().UTC()}, nil
}

func main() {
	url := flag.String("url", envOr("BATON_URL", "http://127.0.0.1:7233"), "Baton server URL")
	queue := flag.String("queue", "demo", "queue to take tasks from")
	slots := flag.Int("slots", 4, "tasks to run at once")
	grace := flag.Duration("grace", 30*time.Second, "how long running tasks may finish after SIGTERM")
	produce := flag.Int("produce", 0, "create this many demo tasks of each type first")
	flag.Parse()

	// SIGTERM (e.g. from Kubernetes) or Ctrl-C cancels ctx: Run then drains.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	if *produce > 0 {
		if err := createDemoTasks(ctx, *url, *queue, *produce); err != nil {
			slog.Error("creating demo tasks failed", "err", err)
			os.Exit(1)
		}
	}

	w, err := baton.NewWorker(*url, baton.WorkerOptions{
		Queues:        []string{*queue},
		WorkerID:      "example-go-worker",
		Slots:         *slots,
		ShutdownGrace: *grace,
		Labels:        map[string]string{"example": "true"},
		OnEvent:       logEvent,
	})
	if err != nil {
		slog.Error("bad worker options", "err", err)
		os.Exit(2)
	}
	w.Handle("email.send", sendEmail)
	w.Handle("report.build", buildReport)

	slog.Info("worker starting", "url", *url, "queue", *queue, "slots", *slots)
	if err := w.Run(ctx); err != nil {
		// Only errors a reconnect cannot fix end Run early, e.g. a refused Hello.
		var be *baton.Error
		if errors.As(err, &be) {
			for _, v := range be.FieldViolations {
				slog.Error("invalid field", "field", v.Field, "problem", v.Description)
			}
		}
		slog.Error("worker stopped", "err", err)
		os.Exit(1)
	}
	slog.Info("worker drained and stopped")
}

// logEvent reports what the server accepted for each task.
func logEvent(ev baton.WorkerEvent) {
	switch ev.Kind {
	case baton.WorkerEventCompleted:
		slog.Info("task completed", "id", ev.Task.GetId(), "type", ev.Task.GetType(), "result", ev.Result.AsMap())
	case baton.WorkerEventFailed:
		slog.Warn("task attempt failed", "id", ev.Task.GetId(), "type", ev.Task.GetType(),
			"error_type", ev.TaskError.GetType(), "error", ev.TaskError.GetMessage(), "now", ev.TaskState.String())
	case baton.WorkerEventCancelled:
		slog.Info("task stopped", "id", ev.Task.GetId(), "reason", ev.Reason, "lease_lost", ev.LeaseLost)
	case baton.WorkerEventDisconnected:
		slog.Warn("disconnected from Baton", "err", ev.Err, "reconnect_in", ev.ReconnectIn)
	}
}

func createDemoTasks(ctx context.Context, url, queue string, n int) error {
	c := baton.NewClient(url)
	defer c.Close()
	for i := 0; i < n; i++ {
		to := fmt.Sprintf("user%d@example.com", i)
		if i == n-1 {
			to = "" // one that dead-letters
		}
		if _, _, err := c.CreateTask(ctx, baton.TaskSpec{
			Queue:          queue,
			Type:           "email.send",
			Payload:        emailPayload{To: to, Subject: "hello"},
			IdempotencyKey: fmt.Sprintf("demo-email-%d", i),
			RetryPolicy:    &baton.RetryPolicy{InitialBackoff: time.Second},
		}); err != nil {
			return err
		}
		if _, _, err := c.CreateTask(ctx, baton.TaskSpec{
			Queue:          queue,
			Type:           "report.build",
			Payload:        map[string]any{"month": i + 1},
			IdempotencyKey: fmt.Sprintf("demo-report-%d", i),
		}); err != nil {
			return err
		}
	}
	return nil
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
