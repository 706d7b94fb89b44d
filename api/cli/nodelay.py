"""uvicorn's HTTP protocol with Nagle's algorithm switched off on every TCP connection.

``spares serve`` binds its socket before the long start-up work and hands uvicorn the file
descriptor; uvicorn wraps a descriptor as a UNIX socket (``socket.fromfd(fd, AF_UNIX, ...)``),
so its event loop never sets ``TCP_NODELAY`` on the TCP connections it accepts. A response
written in two pieces (head, then body) then waits for the client's delayed ACK, about 40 ms
on Linux per request on a keep-alive connection.
"""

from __future__ import annotations

import asyncio
import socket
from contextlib import suppress

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def no_delay(transport: asyncio.BaseTransport) -> None:
    """Set ``TCP_NODELAY`` on the transport's socket (nothing for a real UNIX socket)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with :func:`no_delay` on each new connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        no_delay(transport)
        super().connection_made(transport)
