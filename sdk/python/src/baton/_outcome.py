"""Building the one Result of an attempt from what its handler did."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from typing import Any

from ._errors import NonRetryableError, RetryableError
from ._json import to_duration, to_json_object, to_struct
from .v1 import task_pb2, worker_pb2

# Server limits on TaskError (server/src/core/defaults.ts): longer values would get
# the Result refused.
_TYPE_MAX_CHARS = 256
_MESSAGE_MAX_CHARS = 16 * 1024
_TRACEBACK_MAX_CHARS = 8 * 1024


def failure_result(
    task_id: str,
    lease_id: str,
    *,
    type: str,  # noqa: A002
    message: str,
    non_retryable: bool = False,
    retry_after: float | None = None,
    details: Mapping[str, Any] | None = None,
) -> worker_pb2.Result:
    failure = worker_pb2.Failure(
        error=task_pb2.TaskError(
            type=type[:_TYPE_MAX_CHARS] or "Exception",
            message=message[:_MESSAGE_MAX_CHARS],
            non_retryable=non_retryable,
        )
    )
    if details:
        try:
            failure.error.details.CopyFrom(to_struct(details))
        except (TypeError, ValueError):
            failure.error.details.CopyFrom(to_struct({"repr": repr(details)[:_TRACEBACK_MAX_CHARS]}))
    if retry_after is not None and retry_after > 0:
        failure.retry_after.CopyFrom(to_duration(retry_after))
    return worker_pb2.Result(task_id=task_id, lease_id=lease_id, failed=failure)


def completed_result(task_id: str, lease_id: str, value: object) -> worker_pb2.Result:
    """A handler's return value as the Result's JSON object (None -> {}, a non-object
    -> {"value": ...}); a value JSON cannot hold fails the attempt for good."""
    try:
        obj = to_json_object(value)
    except (TypeError, ValueError) as err:
        return failure_result(
            task_id,
            lease_id,
            type="invalid_result",
            message=f"the handler's result is not JSON: {err}",
            non_retryable=True,
        )
    return worker_pb2.Result(task_id=task_id, lease_id=lease_id, completed=to_struct(obj))


def failed_result(task_id: str, lease_id: str, err: BaseException) -> worker_pb2.Result:
    """R5: what a handler raised, as a failure; anything but NonRetryableError may be retried."""
    if isinstance(err, NonRetryableError):
        return failure_result(
            task_id,
            lease_id,
            type=err.type or type(err).__name__,
            message=err.message,
            non_retryable=True,
            details=err.details,
        )
    if isinstance(err, RetryableError):
        return failure_result(
            task_id,
            lease_id,
            type=err.type or type(err).__name__,
            message=err.message,
            retry_after=err.retry_after,
            details=err.details,
        )
    tb = "".join(traceback.format_exception(err))
    return failure_result(
        task_id,
        lease_id,
        type=type(err).__name__,
        message=str(err) or type(err).__name__,
        details={"traceback": tb[-_TRACEBACK_MAX_CHARS:]},
    )
