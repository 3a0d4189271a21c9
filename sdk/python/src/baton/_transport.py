"""The HTTP client under the Connect stubs: pyqwest (reqwest/hyper), HTTP/1.1 or HTTP/2."""

from __future__ import annotations

import asyncio
from typing import Literal

import pyqwest
from connectrpc.protocol import ProtocolType

#: The wire protocol: Connect (default), gRPC (needs HTTP/2) or gRPC-Web.
Protocol = Literal["connect", "grpc", "grpc-web"]
#: ``"2"`` on a plaintext ``http://`` address means h2c with prior knowledge.
HttpVersion = Literal["1.1", "2"]

#: See OwnedHttp.aclose.
_CLOSE_SETTLE = 0.05

_PROTOCOLS: dict[str, ProtocolType] = {
    "connect": ProtocolType.CONNECT,
    "grpc": ProtocolType.GRPC,
    "grpc-web": ProtocolType.GRPC_WEB,
}


def protocol_type(protocol: Protocol) -> ProtocolType:
    try:
        return _PROTOCOLS[protocol]
    except KeyError:
        raise ValueError(f"unknown protocol {protocol!r}: use 'connect', 'grpc' or 'grpc-web'") from None


class OwnedHttp:
    """A pyqwest client, closed with its owner unless the caller supplied it."""

    def __init__(
        self,
        address: str,
        *,
        http_version: HttpVersion | None,
        protocol: Protocol,
        http_client: pyqwest.Client | None,
    ) -> None:
        if not address.startswith(("http://", "https://")):
            raise ValueError(f"address must start with http:// or https://; got {address!r}")
        self.address = address.rstrip("/")
        self._transport: pyqwest.HTTPTransport | None = None
        if protocol == "grpc" and http_version == "1.1":
            raise ValueError("gRPC needs HTTP/2: use http_version='2' or another protocol")
        if http_client is not None:
            self.client = http_client
            return
        if http_version is None and protocol == "grpc":
            http_version = "2"
        version: pyqwest.HTTPVersion | None
        if http_version == "2":
            version = pyqwest.HTTPVersion.HTTP2
        elif http_version == "1.1":
            version = pyqwest.HTTPVersion.HTTP1
        else:
            # Plaintext: HTTP/1.1; TLS: whatever ALPN picks (HTTP/2 with Baton).
            version = None
        self._transport = pyqwest.HTTPTransport(
            http_version=version,
            tls_include_system_certs=True,
            # Long streams (Connect, WatchTasks) must notice a peer that vanished without a FIN.
            tcp_keepalive_interval=15.0,
        )
        self.client = pyqwest.Client(self._transport)

    async def aclose(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.aclose()
            # pyqwest 0.12's tokio threads still call into the event loop just after
            # aclose(); if the interpreter is finalizing by then, Python ends such a
            # thread with pthread_exit inside Rust frames and the process aborts
            # (SIGABRT, exit 134) after all work is done. Letting the loop run
            # briefly here absorbs those callbacks.
            await asyncio.sleep(_CLOSE_SETTLE)
