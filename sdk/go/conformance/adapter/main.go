// Command adapter is the conformance adapter of the Go SDK (docs/CONFORMANCE.md).
//
// It reads AdapterRequests (size-delimited protobuf) from stdin, runs a real
// baton.Worker for each against the reference server, reports what its
// handlers do as AdapterEvents on stdout, and stops the workers gracefully
// when stdin closes:
//
//	(cd sdk/go && GOTOOLCHAIN=local go build -o /tmp/baton-go-adapter ./conformance/adapter)
//	npx baton-conformance --worker /tmp/baton-go-adapter
//
// The Go SDK has no explicit heartbeat call for handlers (heartbeats are
// automatic), so HandlerBehavior.heartbeat_every_ms is logged and ignored.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protodelim"

	conformancev1 "github.com/baton-run/baton/gen/go/baton/conformance/v1"
	baton "github.com/baton-run/baton/sdk/go"
)

// events writes AdapterEvents to stdout, one at a time.
type events struct {
	mu  sync.Mutex
	out *bufio.Writer
}

func (e *events) emit(ev *conformancev1.AdapterEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := protodelim.MarshalTo(e.out, ev); err != nil {
		slog.Error("writing an AdapterEvent failed", "err", err)
		return
	}
	_ = e.out.Flush()
}

// work waits d, or until ctx is done unless ignoreCancel; it reports whether
// it was cut short.
func work(ctx context.Context, d time.Duration, ignoreCancel bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	if ignoreCancel {
		<-t.C
		return false
	}
	select {
	case <-t.C:
		return false
	case <-ctx.Done():
		return true
	}
}

func cause(err error) string {
	switch {
	case errors.Is(err, baton.ErrTaskCancelled):
		return "cancelled"
	case errors.Is(err, baton.ErrLeaseLost):
		return "lease_lost"
	case errors.Is(err, baton.ErrWorkerShutdown):
		return "shutdown"
	}
	return fmt.Sprint(err)
}

func handler(ev *events, caseName string, b *conformancev1.HandlerBehavior) baton.HandlerFunc {
	return func(ctx context.Context, task *baton.Task) (any, error) {
		taskID, leaseID := task.GetId(), task.GetLease().GetLeaseId()
		ev.emit(&conformancev1.AdapterEvent{CaseName: caseName, Event: &conformancev1.AdapterEvent_HandlerStarted{
			HandlerStarted: &conformancev1.HandlerStarted{TaskId: taskID, LeaseId: leaseID, Attempt: task.GetAttempt()},
		}})
		// Report a stop the SDK asked for once, whether the watcher or the
		// handler's own return notices it first.
		var once sync.Once
		reportCancel := func() {
			var aborted *baton.TaskAbortedError
			if errors.As(context.Cause(ctx), &aborted) {
				once.Do(func() {
					ev.emit(&conformancev1.AdapterEvent{CaseName: caseName, Event: &conformancev1.AdapterEvent_HandlerCancelled{
						HandlerCancelled: &conformancev1.HandlerCancelled{TaskId: taskID, LeaseId: leaseID, Cause: cause(aborted)},
					}})
				})
			}
		}
		finished := make(chan struct{})
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			select {
			case <-ctx.Done():
				reportCancel()
			case <-finished:
			}
		}()
		outcome := "completed"
		defer func() {
			reportCancel()
			close(finished)
			<-watched
			ev.emit(&conformancev1.AdapterEvent{CaseName: caseName, Event: &conformancev1.AdapterEvent_HandlerFinished{
				HandlerFinished: &conformancev1.HandlerFinished{TaskId: taskID, LeaseId: leaseID, Outcome: outcome},
			}})
		}()
		if b.GetHeartbeatEveryMs() > 0 {
			slog.Info("heartbeat_every_ms ignored: the Go SDK heartbeats on its own")
		}
		if ms := b.GetExtendLeaseMs(); ms > 0 {
			if _, err := baton.ExtendLease(ctx, time.Duration(ms)*time.Millisecond); err != nil {
				slog.Warn("ExtendLease failed", "err", err)
			}
		}
		if work(ctx, time.Duration(b.GetSleepMs())*time.Millisecond, b.GetIgnoreCancel()) {
			outcome = "cancelled"
			return nil, context.Cause(ctx)
		}
		if f := b.GetFail(); f != nil {
			outcome = "failed"
			msg := f.GetMessage()
			if msg == "" {
				msg = f.GetType()
			}
			if f.GetNonRetryable() {
				return nil, baton.NonRetryable(errors.New(msg), baton.ErrorType(f.GetType()))
			}
			opts := []baton.ErrorOption{baton.ErrorType(f.GetType())}
			if ms := f.GetRetryAfterMs(); ms > 0 {
				opts = append(opts, baton.RetryAfter(time.Duration(ms)*time.Millisecond))
			}
			return nil, baton.Retryable(errors.New(msg), opts...)
		}
		if s := b.GetSucceed(); s != nil {
			return s, nil
		}
		return nil, nil
	}
}

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	ev := &events{out: bufio.NewWriter(os.Stdout)}
	in := bufio.NewReader(os.Stdin)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	failed := false
	var mu sync.Mutex
	for {
		req := &conformancev1.AdapterRequest{}
		if err := protodelim.UnmarshalFrom(in, req); err != nil {
			if !errors.Is(err, io.EOF) {
				slog.Error("reading an AdapterRequest failed", "err", err)
				failed = true
			}
			break
		}
		ws := req.GetWorker()
		grace := time.Duration(ws.GetStopGraceMs()) * time.Millisecond
		if grace <= 0 {
			grace = 2 * time.Second
		}
		w, err := baton.NewWorker(req.GetServerUrl(), baton.WorkerOptions{
			Queues:        ws.GetQueues(),
			WorkerID:      ws.GetWorkerId(),
			InstanceID:    ws.GetInstanceId(),
			Namespace:     ws.GetNamespace(),
			Slots:         int(ws.GetSlots()),
			ShutdownGrace: grace,
			FlushTimeout:  time.Second,
		})
		if err != nil {
			slog.Error("bad worker settings", "err", err)
			os.Exit(1)
		}
		for _, b := range req.GetHandlers() {
			w.Handle(b.GetTaskType(), handler(ev, req.GetCaseName(), b))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Run drains and returns once ctx is cancelled (stdin closed).
			if err := w.Run(ctx); err != nil {
				slog.Error("worker.Run failed", "err", err)
				mu.Lock()
				failed = true
				mu.Unlock()
			}
		}()
		ev.emit(&conformancev1.AdapterEvent{CaseName: req.GetCaseName(), Event: &conformancev1.AdapterEvent_Ready{
			Ready: &conformancev1.Ready{Sdk: baton.SDKName},
		}})
	}
	stop()
	wg.Wait()
	if failed {
		os.Exit(1)
	}
}
