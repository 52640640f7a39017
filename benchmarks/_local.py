"""Local servers for the benchmarks that run whole stacks on this machine: a free port, a private Redis, and
libpq URLs for psycopg."""

from __future__ import annotations

import socket
import subprocess
import time


def free_port() -> int:
    """A TCP port on the loopback nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def libpq(url: str) -> str:
    """A SQLAlchemy URL as psycopg wants it."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def start_private_redis(port: int, databases: int = 16) -> subprocess.Popen[bytes]:
    """Start a redis-server on 127.0.0.1:`port` keeping nothing on disk; wait until it answers; return it."""
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--databases",
            str(databases),
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"redis-server did not start on 127.0.0.1:{port}")
