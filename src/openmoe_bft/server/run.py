"""Run the server: :func:`serve` (blocking, uvicorn) and :func:`running_server` (a
background thread, for examples, benchmarks and in-process tests)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from ..errors import OpenMoEBFTError
from .config import ServerConfig

__all__ = ["serve", "running_server", "free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _uvicorn_server(config: ServerConfig, app: Any) -> Any:
    import uvicorn

    return uvicorn.Server(uvicorn.Config(app, host=config.host, port=config.port,
                                         log_level=config.log_level.lower(),
                                         access_log=False, lifespan="on",
                                         timeout_graceful_shutdown=5))


def serve(config: ServerConfig | None = None, **build_kw: Any) -> None:
    """Serve MCP over streamable HTTP until interrupted (checks the config first)."""
    from .app import build_app

    config = (config or ServerConfig()).check()
    app = build_app(config, **build_kw)
    try:
        _uvicorn_server(config, app).run()
    finally:
        app.state.openmoe.close()


@contextlib.contextmanager
def running_server(config: ServerConfig | None = None, *, timeout: float = 10.0,
                   **build_kw: Any) -> Iterator[tuple[str, Any]]:
    """Serve in a background thread; yields ``(url, app)`` and stops on exit.
    Port 0 picks a free loopback port."""
    from .app import build_app

    config = config or ServerConfig()
    if config.port == 0:
        config = replace(config, port=free_port(config.host))
    config = config.check()
    app = build_app(config, **build_kw)
    server = _uvicorn_server(config, app)
    thread = threading.Thread(target=server.run, name="openmoe-bft-mcp", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise OpenMoEBFTError(f"the MCP server did not start on {config.url} within "
                                  f"{timeout:g} s (port taken?)")
        time.sleep(0.01)
    try:
        yield config.url, app
    finally:
        server.should_exit = True
        thread.join(timeout)
        app.state.openmoe.close()
