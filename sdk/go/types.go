package baton

import (
	batonv1 "github.com/baton-run/baton/gen/go/baton/v1"
)

// SDKVersion is the version of this SDK.
const SDKVersion = "0.1.0"

// SDKName is sent in Hello.sdk so that ListWorkers shows which SDK a worker runs.
const SDKName = "baton-go/" + SDKVersion

// Protocol types, re-exported so that callers need not import the generated
// package for everyday use.
type (
	// Task is one unit of work (baton.v1.Task).
	Task = batonv1.Task
	// TaskState is a task's state (baton.v1.TaskState).
	TaskState = batonv1.TaskState
	// TaskEvent is a state change streamed by WatchTasks (baton.v1.TaskEvent).
	TaskEvent = batonv1.TaskEvent
	// TaskEventType is the kind of a TaskEvent.
	TaskEventType = batonv1.TaskEventType
	// TaskError is the error of a failed attempt (baton.v1.TaskError).
	TaskError = batonv1.TaskError
	// Attempt is one entry of a task's attempt history.
	Attempt = batonv1.Attempt
	// AttemptOutcome says how an attempt ended.
	AttemptOutcome = batonv1.AttemptOutcome
	// Lease is the right of one worker to run one attempt of a task.
	Lease = batonv1.Lease
	// AgentContract is the state, next actions and recovery guidance every
	// Baton response and error carries.
	AgentContract = batonv1.AgentContract
	// ErrorDetail is the detail Baton attaches to every error.
	ErrorDetail = batonv1.ErrorDetail
	// WorkerInfo is a live worker session as listed by ListWorkers.
	WorkerInfo = batonv1.WorkerInfo
)

// Task states (rule T1).
const (
	// TaskStatePending: waiting to be claimed once its scheduled time has passed.
	TaskStatePending = batonv1.TaskState_TASK_STATE_PENDING
	// TaskStateClaimed: held by one worker under a lease.
	TaskStateClaimed = batonv1.TaskState_TASK_STATE_CLAIMED
	// TaskStateCompleted: finished with a result. Terminal.
	TaskStateCompleted = batonv1.TaskState_TASK_STATE_COMPLETED
	// TaskStateDeadLetter: failed for good; RequeueTask tries again.
	TaskStateDeadLetter = batonv1.TaskState_TASK_STATE_DEAD_LETTER
	// TaskStateCancelled: cancelled by a caller. Terminal.
	TaskStateCancelled = batonv1.TaskState_TASK_STATE_CANCELLED
)

// Task event types.
const (
	// EventCreated: CreateTask made the task.
	EventCreated = batonv1.TaskEventType_TASK_EVENT_TYPE_CREATED
	// EventClaimed: a worker claimed the task.
	EventClaimed = batonv1.TaskEventType_TASK_EVENT_TYPE_CLAIMED
	// EventCancelRequested: CancelTask was called while the task ran.
	EventCancelRequested = batonv1.TaskEventType_TASK_EVENT_TYPE_CANCEL_REQUESTED
	// EventCompleted: the task completed.
	EventCompleted = batonv1.TaskEventType_TASK_EVENT_TYPE_COMPLETED
	// EventRetryScheduled: a failed attempt will be retried.
	EventRetryScheduled = batonv1.TaskEventType_TASK_EVENT_TYPE_RETRY_SCHEDULED
	// EventDeadLettered: the task moved to DEAD_LETTER.
	EventDeadLettered = batonv1.TaskEventType_TASK_EVENT_TYPE_DEAD_LETTERED
	// EventCancelled: the task was cancelled.
	EventCancelled = batonv1.TaskEventType_TASK_EVENT_TYPE_CANCELLED
	// EventRequeued: RequeueTask moved the task back to PENDING.
	EventRequeued = batonv1.TaskEventType_TASK_EVENT_TYPE_REQUEUED
	// EventLeaseExpired: a lease expired and the attempt will be retried.
	EventLeaseExpired = batonv1.TaskEventType_TASK_EVENT_TYPE_LEASE_EXPIRED
)

// Attempt outcomes.
const (
	// AttemptRunning: the attempt is still running.
	AttemptRunning = batonv1.AttemptOutcome_ATTEMPT_OUTCOME_RUNNING
	// AttemptCompleted: CompleteTask (or a completed Result) was accepted.
	AttemptCompleted = batonv1.AttemptOutcome_ATTEMPT_OUTCOME_COMPLETED
	// AttemptFailed: FailTask (or a failed Result) was accepted.
	AttemptFailed = batonv1.AttemptOutcome_ATTEMPT_OUTCOME_FAILED
	// AttemptLeaseExpired: no heartbeat before the lease expired (L3).
	AttemptLeaseExpired = batonv1.AttemptOutcome_ATTEMPT_OUTCOME_LEASE_EXPIRED
	// AttemptTimedOut: the start-to-close timeout passed.
	AttemptTimedOut = batonv1.AttemptOutcome_ATTEMPT_OUTCOME_TIMED_OUT
	// AttemptCancelled: the task was cancelled while this attempt ran.
	AttemptCancelled = batonv1.AttemptOutcome_ATTEMPT_OUTCOME_CANCELLED
)
