// Command batonbench drives Baton from Go for test/bench (npm run bench).
//
//	batonbench work -urls U1[,U2] -queue Q -workers N -slots S [-expect T] [-starts]
//
// runs N Go SDK workers (round-robin over the URLs), each with S slots and a
// no-op handler. It prints "connected" once every worker was welcomed; with
// -starts, "start <task id> <unix µs>" when a handler starts; with -expect T,
// "done <T> <seconds>" once T results were acknowledged, timed from just
// before the workers were created. It drains and exits on SIGTERM or when
// stdin closes.
//
//	batonbench idle -url U -streams N -per-conn C
//
// opens N idle WorkerService.Connect streams, C per HTTP/2 connection: Hello,
// Welcome, then an empty WorkerHeartbeat per interval, nothing else. It prints
// "ready <N>" once all were welcomed and holds them until SIGTERM or stdin closes.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"connectrpc.com/connect"

	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
	"github.com/baton-run/baton/gen/go/baton/v1/batonv1connect"
	baton "github.com/baton-run/baton/sdk/go"
)

var out = bufio.NewWriterSize(os.Stdout, 1<<16)
var outMu sync.Mutex

// say writes one line to stdout at once (the harness reads lines as they come).
func say(format string, args ...any) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Fprintf(out, format+"\n", args...)
	out.Flush()
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: batonbench work|idle [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	// The harness closing our stdin also means stop: no orphan survives a crashed harness.
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	var err error
	switch os.Args[1] {
	case "work":
		err = work(ctx, os.Args[2:])
	case "idle":
		err = idle(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "batonbench:", err)
		os.Exit(1)
	}
}

func work(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("work", flag.ExitOnError)
	urls := fs.String("urls", "", "comma-separated Baton URLs; workers are spread round-robin")
	queue := fs.String("queue", "bench", "queue")
	workers := fs.Int("workers", 4, "worker count")
	slots := fs.Int("slots", 50, "slots per worker")
	expect := fs.Int64("expect", 0, "print done after this many acknowledged results")
	starts := fs.Bool("starts", false, "print a line when each handler starts")
	_ = fs.Parse(args)
	if *urls == "" {
		return fmt.Errorf("-urls is required")
	}
	list := strings.Split(*urls, ",")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	began := time.Now()
	var completed atomic.Int64
	var connected atomic.Int64
	all := make([]*baton.Worker, *workers)
	for i := range all {
		w, err := baton.NewWorker(list[i%len(list)], baton.WorkerOptions{
			Queues:        []string{*queue},
			WorkerID:      fmt.Sprintf("bench-go-%d", i),
			Slots:         *slots,
			Logger:        quiet,
			ShutdownGrace: time.Second,
			FlushTimeout:  2 * time.Second,
			OnEvent: func(e baton.WorkerEvent) {
				switch e.Kind {
				case baton.WorkerEventConnected:
					if connected.Add(1) == int64(*workers) {
						say("connected")
					}
				case baton.WorkerEventCompleted:
					if n := completed.Add(1); *expect > 0 && n == *expect {
						say("done %d %.6f", n, time.Since(began).Seconds())
					}
				}
			},
		})
		if err != nil {
			return err
		}
		w.Handle("noop", func(_ context.Context, t *baton.Task) (any, error) {
			if *starts {
				say("start %s %d", t.GetId(), time.Now().UnixMicro())
			}
			return nil, nil
		})
		all[i] = w
	}
	var wg sync.WaitGroup
	for _, w := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = w.Run(ctx)
		}()
	}
	wg.Wait()
	return nil
}

func idle(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	url := fs.String("url", "", "Baton URL")
	streams := fs.Int("streams", 10_000, "streams to open")
	perConn := fs.Int("per-conn", 100, "streams per HTTP/2 connection")
	_ = fs.Parse(args)
	if *url == "" {
		return fmt.Errorf("-url is required")
	}
	var clients []batonv1connect.WorkerServiceClient
	for i := 0; i < (*streams+*perConn-1) / *perConn; i++ {
		// One http.Client per connection: Go's transport would otherwise put every
		// stream on one connection (Node advertises no stream limit).
		clients = append(clients, batonv1connect.NewWorkerServiceClient(baton.NewHTTPClient(), *url, connect.WithGRPC()))
	}
	var welcomed atomic.Int64
	var failed atomic.Int64
	opening := make(chan struct{}, 200) // Hellos in flight at once
	var wg sync.WaitGroup
	for i := 0; i < *streams; i++ {
		wg.Add(1)
		opening <- struct{}{}
		go func() {
			defer wg.Done()
			err := holdIdle(ctx, clients[i / *perConn], i, func() {
				<-opening
				if welcomed.Add(1) == int64(*streams) {
					say("ready %d", *streams)
				}
			})
			if err != nil && ctx.Err() == nil {
				if failed.Add(1) <= 5 {
					fmt.Fprintf(os.Stderr, "batonbench idle: stream %d: %v\n", i, err)
				}
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d of %d idle streams failed", n, *streams)
	}
	return nil
}

// holdIdle keeps one idle session open: Hello, Welcome, heartbeats until ctx ends.
func holdIdle(ctx context.Context, client batonv1connect.WorkerServiceClient, i int, onWelcome func()) error {
	stream := client.Connect(ctx)
	defer func() { _ = stream.CloseRequest() }()
	welcomedOnce := sync.OnceFunc(onWelcome)
	defer welcomedOnce() // free the opening slot even on failure
	err := stream.Send(&batonv1.ConnectRequest{Message: &batonv1.ConnectRequest_Hello{Hello: &batonv1.Hello{
		Queues:     []string{"idle"},
		WorkerId:   fmt.Sprintf("idle-%d", i),
		InstanceId: fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
		Slots:      1,
		Sdk:        "batonbench-idle",
	}}})
	if err != nil {
		return err
	}
	first, err := stream.Receive()
	if err != nil {
		return err
	}
	welcome := first.GetWelcome()
	if welcome == nil {
		return fmt.Errorf("first message is not Welcome: %v", first)
	}
	welcomedOnce()
	// Read (and drop) whatever else comes, so the stream's window never fills.
	ended := make(chan error, 1)
	go func() {
		for {
			if _, err := stream.Receive(); err != nil {
				ended <- err
				return
			}
		}
	}()
	interval := welcome.GetHeartbeatInterval().AsDuration() * 8 / 10
	if interval <= 0 {
		interval = 800 * time.Millisecond
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	heartbeat := &batonv1.ConnectRequest{Message: &batonv1.ConnectRequest_Heartbeat{Heartbeat: &batonv1.WorkerHeartbeat{}}}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-ended:
			return fmt.Errorf("stream ended: %w", err)
		case <-tick.C:
			if err := stream.Send(heartbeat); err != nil {
				return err
			}
		}
	}
}
