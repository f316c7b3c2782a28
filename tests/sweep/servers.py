"""Private servers for the sweep tests: a PostgreSQL cluster and a Ray head, each started
in a temporary folder on a free port and stopped by its own process id."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sweep_support import env, free_port


def _wait_port(port: int, seconds: float, alive=lambda: True) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive():
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def postgres_bin() -> Path | None:
    """The folder of PostgreSQL's server programs, or None."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


@contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL cluster in a new temporary folder, listening on 127.0.0.1; yields its
    URL. As root, the server runs as the ``postgres`` user (it refuses to run as root), in
    a folder of its own under /tmp (it cannot enter root's private folders)."""
    binary = postgres_bin()
    assert binary is not None
    folder = Path(tempfile.mkdtemp(prefix="trainlab-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        prefix = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, user="postgres")
    data, log = folder / "data", folder / "server.log"
    port = free_port()
    subprocess.run([*prefix, str(binary / "initdb"), "-D", str(data), "-U", "postgres",
                    "--auth=trust", "-E", "UTF8"], check=True, capture_output=True, cwd=folder)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run([*prefix, str(binary / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                    str(log), "-w", "start"], check=True, capture_output=True, cwd=folder)
    try:
        assert _wait_port(port, 30), log.read_text() if log.exists() else "no log"
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        pid = int((data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGQUIT)  # immediate shutdown of this server only
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
            time.sleep(0.1)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def ray_head(cpus: int = 2) -> Iterator[str]:
    """A Ray head on 127.0.0.1 (``ray start --head --block`` in its own session, so that
    the whole group it starts is stopped by its id); yields ``HOST:PORT``."""
    port = free_port()
    temp = Path(f"/tmp/ray-{os.getpid()}-{port}")  # short: Ray's socket paths are limited
    head = subprocess.Popen(
        ["ray", "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
         "--temp-dir", str(temp), "--num-cpus", str(cpus), "--include-dashboard=false",
         "--disable-usage-stats", "--block"],
        env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert _wait_port(port, 120, lambda: head.poll() is None), head.stderr.read() \
            if head.poll() is not None and head.stderr else "ray did not start"
        time.sleep(2)  # the raylet registers after the GCS port opens
        yield f"127.0.0.1:{port}"
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(head.pid, sig)
            except ProcessLookupError:
                break
            try:
                head.wait(20)
                break
            except subprocess.TimeoutExpired:
                continue
        shutil.rmtree(temp, ignore_errors=True)
