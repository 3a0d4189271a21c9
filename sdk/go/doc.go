// Package baton is the Go SDK for Baton, a task orchestration protocol server.
//
// It has two halves:
//
//   - [Client] wraps TaskService for producers, operators and polling workers:
//     create tasks (optionally idempotently), read and list them, cancel and
//     requeue them, watch their events with transparent resume, and claim,
//     heartbeat, complete and fail tasks by hand.
//   - [Worker] holds a streaming session (WorkerService.Connect over HTTP/2,
//     gRPC protocol) and runs registered handlers for the tasks Baton pushes to
//     it: it keeps within its slot count, heartbeats every lease it holds,
//     delivers cancellation by cancelling the handler's context, keeps results
//     until the server acknowledges them, reconnects with capped exponential
//     backoff and jitter (resuming its leases), obeys GoAway, and drains
//     gracefully when the context passed to [Worker.Run] is cancelled.
//
// Every call returns errors as [*Error], which carries the ErrorDetail Baton
// attaches to every error: a stable reason, the invalid fields, the agent
// contract and whether (and when) the call may be retried.
//
// Handlers report failures with ordinary errors; wrap them with [Retryable] or
// [NonRetryable] to set the error type, a retry-after delay, or to send the
// task straight to DEAD_LETTER.
//
// The rule names in comments (H1, K3, R3, ...) refer to the numbered rules of
// the protocol in proto/baton/v1/*.proto.
package baton
