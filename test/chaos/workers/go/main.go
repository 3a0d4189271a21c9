// Command chaosworker is the Go member of the chaos fleet: a real SDK worker
// that logs every handler execution to a file, one JSON line per event (the
// format of ts-worker.ts; test/chaos/checker.ts reads it), written with one
// unbuffered write each so a kill -9 loses nothing that happened before it.
//
//	chaosworker <url> <queue> <workerID> <logPath> <slots>
//
// Prints "connected" once welcomed; drains on SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	baton "github.com/baton-run/baton/sdk/go"
)

func main() {
	url, queue, workerID, logPath := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	slots, _ := strconv.Atoi(os.Args[5])
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	log := func(entry map[string]any) {
		entry["t"] = time.Now().UnixMilli()
		line, _ := json.Marshal(entry)
		mu.Lock()
		defer mu.Unlock()
		_, _ = f.Write(append(line, '\n'))
	}
	ref := func(t *baton.Task, more map[string]any) map[string]any {
		more["task"] = t.GetId()
		more["lease"] = t.GetLease().GetLeaseId()
		return more
	}

	log(map[string]any{"e": "hello", "lang": "go", "worker": workerID, "pid": os.Getpid()})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	w, err := baton.NewWorker(url, baton.WorkerOptions{
		Queues:        []string{queue},
		WorkerID:      workerID,
		Slots:         slots,
		ShutdownGrace: 2 * time.Second,
		Reconnect:     baton.Backoff{Floor: 100 * time.Millisecond, Cap: time.Second},
		OnEvent: func(e baton.WorkerEvent) {
			switch e.Kind {
			case baton.WorkerEventConnected:
				log(map[string]any{"e": "connected", "session": e.SessionID, "replica": e.ReplicaID, "resumed": e.Resumed, "lost": e.Lost})
				fmt.Println("connected")
			case baton.WorkerEventDisconnected:
				msg := ""
				if e.Err != nil {
					msg = e.Err.Error()
				}
				log(map[string]any{"e": "disconnected", "error": msg, "goAway": e.GoAwayReason})
			case baton.WorkerEventCompleted:
				log(ref(e.Task, map[string]any{"e": "ack", "accepted": true, "kind": "completed"}))
			case baton.WorkerEventFailed:
				log(ref(e.Task, map[string]any{"e": "ack", "accepted": true, "kind": "failed"}))
			case baton.WorkerEventRejected:
				log(ref(e.Task, map[string]any{"e": "ack", "accepted": false, "reason": e.ErrorDetail.GetReason()}))
			case baton.WorkerEventCancelled:
				if e.LeaseLost {
					log(ref(e.Task, map[string]any{"e": "lost"}))
				}
			}
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	w.Handle("chaos.work", func(ctx context.Context, t *baton.Task) (any, error) {
		attempt := t.GetLease().GetAttempt()
		if attempt == 0 {
			attempt = t.GetAttempt()
		}
		payload := t.GetPayload().AsMap()
		ms, _ := payload["ms"].(float64)
		failAttempts, _ := payload["failAttempts"].(float64)
		log(ref(t, map[string]any{"e": "start", "attempt": attempt}))
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-ctx.Done():
			log(ref(t, map[string]any{"e": "end", "attempt": attempt, "outcome": "aborted"}))
			return nil, ctx.Err()
		}
		if float64(attempt) <= failAttempts {
			log(ref(t, map[string]any{"e": "end", "attempt": attempt, "outcome": "error"}))
			return nil, fmt.Errorf("planned failure of attempt %d", attempt)
		}
		log(ref(t, map[string]any{"e": "end", "attempt": attempt, "outcome": "ok"}))
		return map[string]any{"by": "go", "worker": workerID, "lease": t.GetLease().GetLeaseId(), "attempt": attempt}, nil
	})
	if err := w.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
