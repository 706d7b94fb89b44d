"""`spares serve` switches Nagle's algorithm off on the TCP connections it accepts."""

from __future__ import annotations

import socket
from typing import Any

from api.cli.nodelay import NoDelayHttpToolsProtocol, no_delay


class _Transport:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.sock if name == "socket" else default


def _accepted_pair() -> tuple[socket.socket, socket.socket, socket.socket]:
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server_side, _ = listener.accept()
    return listener, client, server_side


def test_no_delay_sets_tcp_nodelay_on_an_accepted_connection():
    listener, client, conn = _accepted_pair()
    try:
        assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        no_delay(_Transport(conn))  # type: ignore[arg-type]
        assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        for s in (conn, client, listener):
            s.close()


def test_no_delay_leaves_a_unix_socket_alone():
    a, b = socket.socketpair(socket.AF_UNIX)
    try:
        no_delay(_Transport(a))  # type: ignore[arg-type]  (no error: nothing to set)
    finally:
        a.close()
        b.close()


def test_serve_hands_uvicorn_the_no_delay_protocol(monkeypatch, tmp_path):
    import uvicorn

    from api.cli import serve

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options))
    monkeypatch.setattr(serve, "build_app", lambda *a, **k: _FakeApp())
    monkeypatch.setattr(serve, "prepare_metrics_dir", lambda env: None)
    sock = socket.create_server(("127.0.0.1", 0))
    serve.run("sqlite:///unused.db", "127.0.0.1", sock.getsockname()[1], sock=sock)
    assert seen.get("http") is NoDelayHttpToolsProtocol


class _FakeApp:
    class state:  # noqa: N801 - mimics FastAPI's app.state
        class ctx:  # noqa: N801
            scenario = type("S", (), {"name": "x", "depots": [], "sites": []})()

            @staticmethod
            def dispose() -> None:
                pass
