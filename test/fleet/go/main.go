// Command fleet is the Go member of the mixed fleet test: a real SDK worker on
// one queue. Usage: fleet <url> <queue>. Prints "connected" once welcomed and
// drains on SIGTERM.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	baton "github.com/baton-run/baton/sdk/go"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	w, err := baton.NewWorker(os.Args[1], baton.WorkerOptions{
		Queues:   []string{os.Args[2]},
		WorkerID: "fleet-go",
		Slots:    8,
		OnEvent: func(e baton.WorkerEvent) {
			if e.Kind == baton.WorkerEventConnected {
				fmt.Println("connected")
			}
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	w.Handle("fleet.work", func(ctx context.Context, t *baton.Task) (any, error) {
		time.Sleep(2 * time.Millisecond)
		return map[string]any{"by": "go"}, nil
	})
	if err := w.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
