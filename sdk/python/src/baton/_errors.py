"""BatonError (what calls raise) and the errors handlers raise to steer retries."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from connectrpc.code import Code
from connectrpc.errors import ConnectError

from ._json import duration_seconds
from .v1 import contract_pb2

__all__ = [
    "AbortCause",
    "BatonError",
    "Code",
    "FieldViolation",
    "NonRetryableError",
    "RetryableError",
    "code_reason",
]

_ERROR_DETAIL_TYPE = contract_pb2.ErrorDetail.DESCRIPTOR.full_name

#: Codes worth retrying when the server sent no ErrorDetail (a proxy or the
#: network answered instead of Baton): they describe the path, not the request.
_TRANSIENT_CODES = frozenset({Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED, Code.RESOURCE_EXHAUSTED, Code.ABORTED})

#: The reason of an error that arrived without an ErrorDetail, by code: the
#: ErrorReason values documented for that case; every other code is UNKNOWN
#: ("act on the gRPC code").
_CODE_REASONS: dict[Code, contract_pb2.ErrorReason] = {
    Code.UNAVAILABLE: contract_pb2.UNAVAILABLE,
    Code.CANCELED: contract_pb2.CANCELED,
    Code.DEADLINE_EXCEEDED: contract_pb2.DEADLINE_EXCEEDED,
    Code.INTERNAL: contract_pb2.INTERNAL,
    Code.UNIMPLEMENTED: contract_pb2.UNIMPLEMENTED,
}


def code_reason(code: Code) -> str:
    """The ErrorReason name for an error with this code and no ErrorDetail."""
    return contract_pb2.ErrorReason.Name(_CODE_REASONS.get(code, contract_pb2.UNKNOWN))


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field of a request."""

    #: The field's path in proto names, e.g. ``retry_policy.multiplier``.
    field: str
    #: What is wrong and how to fix it.
    description: str


class BatonError(Exception):
    """Every error a Baton call raises.

    Baton attaches a ``baton.v1.ErrorDetail`` to every error (rule C2); this
    decodes it once so callers branch on :attr:`reason` and :attr:`retryable`
    instead of parsing messages.
    """

    #: The Connect / gRPC status code.
    code: Code
    #: The wire string, an ``ErrorReason`` name such as ``LEASE_STALE``; derived
    #: from the code when the server sent none (see :attr:`reason_code`).
    reason: str
    #: The message without any decoration.
    message: str
    #: One entry per invalid field (INVALID_ARGUMENT).
    field_violations: list[FieldViolation]
    #: The agent contract: state, next actions, recovery guidance.
    contract: contract_pb2.AgentContract | None
    #: C5: repeat the same request only when true.
    retryable: bool
    #: C5: the least wait in seconds before that repeat, when the server gave one.
    retry_after: float | None
    #: The decoded ErrorDetail, when the server sent one.
    detail: contract_pb2.ErrorDetail | None

    def __init__(
        self,
        code: Code,
        message: str,
        *,
        detail: contract_pb2.ErrorDetail | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(f"[{code.value}] {message}" if message else f"[{code.value}]")
        self.code = code
        self.message = message
        self.detail = detail
        self.reason = reason or (detail.reason if detail is not None else "") or code_reason(code)
        violations = detail.field_violations if detail is not None else []
        self.field_violations = [FieldViolation(v.field, v.description) for v in violations]
        self.contract = detail.contract if detail is not None and detail.HasField("contract") else None
        recovery = self.contract.recovery if self.contract is not None and self.contract.HasField("recovery") else None
        self.retryable = recovery.retryable if recovery is not None else code in _TRANSIENT_CODES
        self.retry_after = (
            duration_seconds(recovery.retry_after) if recovery is not None and recovery.HasField("retry_after") else None
        )

    @property
    def reason_code(self) -> contract_pb2.ErrorReason:
        """:attr:`reason` as a ``baton.v1.contract_pb2.ErrorReason`` value (compare with
        e.g. ``contract_pb2.LEASE_STALE``); ``ERROR_REASON_UNSPECIFIED`` for a reason
        this SDK's vocabulary does not know (a newer server)."""
        try:
            return cast(contract_pb2.ErrorReason, contract_pb2.ErrorReason.Value(self.reason))
        except ValueError:
            return contract_pb2.ERROR_REASON_UNSPECIFIED

    @classmethod
    def from_connect_error(cls, err: ConnectError) -> BatonError:
        """Decodes the ErrorDetail a Baton server attached to a ConnectError."""
        detail: contract_pb2.ErrorDetail | None = None
        for d in err.details:
            if d.type_name == _ERROR_DETAIL_TYPE:
                try:
                    detail = contract_pb2.ErrorDetail.FromString(d.message_bytes)
                except Exception:  # noqa: BLE001 - a garbled detail is as good as none
                    detail = None
                break
        out = cls(err.code, err.message, detail=detail)
        out.__cause__ = err
        return out

    @classmethod
    def from_exception(cls, err: BaseException) -> BatonError:
        """Wraps whatever a call raised; a BatonError passes through unchanged."""
        if isinstance(err, BatonError):
            return err
        if isinstance(err, ConnectError):
            return cls.from_connect_error(err)
        if isinstance(err, asyncio.CancelledError):
            out = cls(Code.CANCELED, "the call was cancelled")
        elif isinstance(err, TimeoutError):
            out = cls(Code.DEADLINE_EXCEEDED, str(err) or "the call timed out")
        else:
            out = cls(Code.UNAVAILABLE, f"{type(err).__name__}: {err}")
        out.__cause__ = err
        return out

    @classmethod
    def of(cls, code: Code, reason: contract_pb2.ErrorReason, message: str, detail: contract_pb2.ErrorDetail | None = None) -> BatonError:
        """An error the SDK raises itself, shaped like one the server would have sent;
        ``reason`` is an ErrorReason value, e.g. ``contract_pb2.LEASE_STALE``."""
        name = contract_pb2.ErrorReason.Name(reason)
        return cls(code, message, detail=detail or contract_pb2.ErrorDetail(reason=name, message=message), reason=name)

    def __repr__(self) -> str:
        return f"BatonError(code={self.code.name}, reason={self.reason!r}, message={self.message!r})"


class _HandlerError(Exception):
    def __init__(
        self,
        message: str,
        *,
        type: str | None = None,  # noqa: A002 - the protocol's name for it
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        #: Machine-readable error type, matched against ``non_retryable_error_types``.
        #: Default: the exception's class name.
        self.type = type
        self.details = dict(details) if details is not None else None


class RetryableError(_HandlerError):
    """Raised by a handler: the attempt failed and another attempt may succeed.

    ``retry_after`` (seconds) is the least delay before the retry (T5); the
    server waits for the later of it and the task's backoff.
    """

    def __init__(
        self,
        message: str,
        *,
        type: str | None = None,  # noqa: A002
        retry_after: float | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, type=type, details=details)
        self.retry_after = retry_after


class NonRetryableError(_HandlerError):
    """Raised by a handler: retrying cannot help, so the task goes to DEAD_LETTER (R5, T6)."""


#: Why a handler was stopped: ``cancelled`` (CancelTask; a ``cancelled`` failure is
#: reported for you, X2), ``lease_lost`` (the lease expired or went to another
#: worker; nothing is reported, B2/L4) or ``shutdown`` (the worker's stop grace ran
#: out; a retryable ``worker_shutdown`` failure is reported).
AbortCause = Literal["cancelled", "lease_lost", "shutdown"]

