"""Start and stop the servers under test: nginx + php-fpm, and txrr (`rr serve`).

Every server binds 127.0.0.1 on a free port, keeps its config, logs and sockets in a
temporary directory, runs in its own session and is always stopped (TERM, then KILL), so a
benchmark run leaves nothing behind. The `Server` objects also know which processes belong to
which side (rr itself, its PHP workers, nginx, php-fpm) for the CPU and RSS figures.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    """Wait until ``url`` answers (any status) or fail with the server's log."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"{proc.args!r} exited with {proc.returncode}:\n{log.read_text(errors='replace')}"
            raise RuntimeError(msg)
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                resp.read()
                return
        except urllib.error.HTTPError:
            return
        except OSError as e:
            last = e
        time.sleep(0.05)
    msg = f"{url} did not answer in {timeout}s ({last}):\n{log.read_text(errors='replace')}"
    raise RuntimeError(msg)


class Server:
    """A started process tree; subclasses name the roles of its processes."""

    name = "server"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[subprocess.Popen[bytes]] = []
        self.url = ""
        self.h2_url: str | None = None

    def _spawn(self, argv: list[str], log: Path, **kw: Any) -> subprocess.Popen[bytes]:
        out = log.open("ab")
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kw
        )
        out.close()
        self.procs.append(proc)
        return proc

    def roles(self) -> dict[str, list[psutil.Process]]:
        """Role name -> live processes (for CPU accounting)."""
        raise NotImplementedError

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc in reversed(self.procs):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()


def _tree(proc: subprocess.Popen[bytes]) -> tuple[psutil.Process, list[psutil.Process]]:
    parent = psutil.Process(proc.pid)
    return parent, parent.children(recursive=True)


class FpmServer(Server):
    """nginx (HTTP/1.1 port and an h2c port) in front of one php-fpm pool (pm = static)."""

    def __init__(self, workdir: Path, script: Path, children: int) -> None:
        super().__init__(workdir)
        self.name = f"fpm{children}"
        workdir.mkdir(parents=True, exist_ok=True)
        sock = workdir / "fpm.sock"
        fpm_conf = workdir / "php-fpm.conf"
        fpm_conf.write_text(
            f"""[global]
pid = {workdir}/fpm.pid
error_log = {workdir}/fpm.log
daemonize = no

[bench]
user = {_user()}
listen = {sock}
listen.mode = 0666
listen.backlog = 1024
pm = static
pm.max_children = {children}
catch_workers_output = yes
php_admin_value[opcache.enable] = 1
php_admin_value[opcache.validate_timestamps] = 0
php_admin_value[opcache.memory_consumption] = 128
php_admin_value[error_log] = {workdir}/php.log
"""
        )
        self.port = free_port()
        self.h2_port = free_port()
        nginx_conf = workdir / "nginx.conf"
        root = script.parent
        temp = workdir / "nginx-tmp"
        temp.mkdir(exist_ok=True)
        server_body = f"""
        root {root};
        location / {{
            fastcgi_pass unix:{sock};
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME {script};
            fastcgi_param SCRIPT_NAME /{script.name};
        }}"""
        nginx_conf.write_text(
            f"""daemon off;
worker_processes auto;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx.log warn;
{"user " + _user() + ";" if os.geteuid() == 0 else ""}
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    server {{
        listen 127.0.0.1:{self.port} backlog=1024;{server_body}
    }}
    server {{
        listen 127.0.0.1:{self.h2_port} http2 backlog=1024;{server_body}
    }}
}}
"""
        )
        fpm_argv = [find_fpm(), "-F", "-y", str(fpm_conf)]
        if os.geteuid() == 0:
            fpm_argv.append("-R")
        self.fpm = self._spawn(fpm_argv, workdir / "fpm.out")
        deadline = time.monotonic() + 20
        while not sock.exists():
            if self.fpm.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "php-fpm did not start:\n" + _read(workdir / "fpm.out", workdir / "fpm.log")
                )
            time.sleep(0.05)
        self.nginx = self._spawn(
            [find_tool("nginx"), "-c", str(nginx_conf), "-p", str(workdir)], workdir / "nginx.out"
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.h2_url = f"http://127.0.0.1:{self.h2_port}"
        wait_http(self.url + "/", self.nginx, workdir / "nginx.out")

    def roles(self) -> dict[str, list[psutil.Process]]:
        nginx, nginx_workers = _tree(self.nginx)
        fpm, fpm_children = _tree(self.fpm)
        return {"nginx": [nginx, *nginx_workers], "php": [fpm, *fpm_children]}


class TxrrServer(Server):
    """`rr serve` with ``workers`` PHP workers; h2c is tried and reported when unsupported."""

    def __init__(
        self,
        workdir: Path,
        command: str,
        workers: int,
        codec: str,
        *,
        h2c: bool = True,
        reactors: int = 1,
        python: str = sys.executable,
    ) -> None:
        super().__init__(workdir)
        self.name = f"txrr-{codec}" + (f"-r{reactors}" if reactors > 1 else "")
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        http: dict[str, Any] = {
            "address": f"127.0.0.1:{self.port}",
            "codec": codec,
            "pool": {"num_workers": workers},
        }
        if h2c:
            http["http2"] = {"h2c": True}
        config: dict[str, Any] = {
            "version": "3",
            "server": {"command": command},
            "http": http,
            "logs": {"mode": "production", "level": "error"},
        }
        self.config_path = workdir / ".rr.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO)
        argv = [python, "-m", "rr.cli.main", "serve", "-c", str(self.config_path)]
        if reactors > 1:  # the SO_REUSEPORT prototype: N reactors, N pools
            argv = [python, "-m", "rr.reuseport", "-n", str(reactors), "-c", str(self.config_path)]
        self.rr = self._spawn(argv, workdir / "rr.out", cwd=workdir, env=env)
        self.url = f"http://127.0.0.1:{self.port}"
        self.h2_url = self.url if h2c else None
        wait_http(self.url + "/", self.rr, workdir / "rr.out")

    def roles(self) -> dict[str, list[psutil.Process]]:
        rr, children = _tree(self.rr)
        workers = [c for c in children if _name(c).startswith("php")]
        return {"rr": [rr, *(c for c in children if c not in workers)], "php": workers}


def _name(proc: psutil.Process) -> str:
    try:
        return proc.name()
    except psutil.Error:
        return ""


def _user() -> str:
    # As root, both run as root so they can read the 0700 temp dirs the benchmark makes.
    return "root" if os.geteuid() == 0 else os.environ.get("USER", "nobody")


def _read(*paths: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in paths if p.exists())


def find_tool(name: str) -> str:
    for candidate in (shutil.which(name), f"/usr/sbin/{name}"):
        if candidate and Path(candidate).exists():
            return candidate
    msg = f"{name} not found"
    raise FileNotFoundError(msg)


def find_fpm() -> str:
    for name in ("php-fpm", "php-fpm8.2", "php-fpm8.3", "php-fpm8.1"):
        try:
            return find_tool(name)
        except FileNotFoundError:
            continue
    msg = "php-fpm not found"
    raise FileNotFoundError(msg)
