"""txrr against nginx + php-fpm, in one run: `python bench/run.py` (`--smoke` for CI).

For each app (hello, framework-like, Slim) the script starts nginx + php-fpm (pm = static,
2 and 4 children, opcache on) and txrr (2 PHP workers, codec json and proto) on free
127.0.0.1 ports, then alternates them: every round runs every server once per load
(wrk -t1 -c32 and -c128, keep-alive; h2load for HTTP/2), so slow drift on a shared machine
hits both sides alike. It prints medians over the rounds, the per-round and median ratios
txrr / fpm, CPU per process role and the peak RSS of the rr process, and writes all raw
numbers to a JSON file. See docs/performance.md for how to read the table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import framework_gen, load
from bench.servers import REPO, FpmServer, Server, TxrrServer, find_fpm

APPS_DIR = Path(__file__).resolve().parent / "apps"
SLIM = Path("/usr/share/php/Slim/App.php")

# binary (or file) -> Debian package that provides it
NEEDED = {
    "php": "php-cli",
    "php-fpm": "php-fpm",
    "nginx": "nginx-light",
    "wrk": "wrk",
    "h2load": "nghttp2-client",
    str(SLIM): "php-slim",
}


def _have(thing: str) -> bool:
    if thing.startswith("/"):
        return Path(thing).exists()
    if thing == "php-fpm":
        try:
            find_fpm()
        except FileNotFoundError:
            return False
        return True
    return shutil.which(thing) is not None or Path("/usr/sbin", thing).exists()


def ensure_tools(*, install: bool) -> None:
    """Install the missing Debian packages (as root), or exit naming them."""
    missing = sorted({pkg for thing, pkg in NEEDED.items() if not _have(thing)})
    if not missing:
        return
    if install and os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"installing {' '.join(missing)} with apt-get", flush=True)
        subprocess.run(["apt-get", "update", "-q"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True)
        for name in ("nginx", "php8.2-fpm"):  # Debian starts the services: we run our own
            subprocess.run(["service", name, "stop"], check=False, capture_output=True)
        return
    sys.exit(
        f"missing tools: apt-get install {' '.join(missing)} (or run as root without --no-install)"
    )


def app_specs(tmp: Path) -> dict[str, dict[str, Any]]:
    """App name -> fpm script, txrr worker command and the benchmarked path."""
    fw = framework_gen.generate(tmp / "framework-app", REPO / "php" / "autoload.php")
    return {
        "hello": {
            "fpm": APPS_DIR / "hello_fpm.php",
            "worker": f"php {APPS_DIR / 'hello_worker.php'}",
        },
        "framework": {"fpm": fw / "public" / "index.php", "worker": f"php {fw / 'worker.php'}"},
        "slim": {"fpm": APPS_DIR / "slim_fpm.php", "worker": f"php {APPS_DIR / 'slim_worker.php'}"},
    }


def boot_micros(url: str, n: int) -> int | None:
    """Median X-Boot-Us over n requests (the framework app's own boot timer)."""
    values = []
    for _ in range(n):
        with urllib.request.urlopen(url, timeout=10) as resp:
            resp.read()
            if (v := resp.headers.get("X-Boot-Us")) is not None:
                values.append(int(v))
    return int(load.median([float(v) for v in values])) if values else None


def h2_available(server: Server) -> bool:
    """Does this server answer HTTP/2 with prior knowledge (h2c)?"""
    if server.h2_url is None:
        return False
    out = subprocess.run(
        ["h2load", "-n4", "-c1", server.h2_url + "/hello"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return "4 succeeded" in out.stdout


def start_servers(spec: dict[str, Any], tmp: Path, args: argparse.Namespace) -> list[Server]:
    servers: list[Server] = []
    try:
        for children in args.fpm_children:
            servers.append(FpmServer(tmp / f"fpm{children}", spec["fpm"], children))
        for codec in args.codecs:
            servers.append(TxrrServer(tmp / f"txrr-{codec}", spec["worker"], args.workers, codec))
        if args.reactors > 1:
            servers.append(
                TxrrServer(
                    tmp / "txrr-reuseport", spec["worker"], args.workers, args.codecs[0],
                    reactors=args.reactors, h2c=False,
                )
            )  # fmt: skip
    except BaseException:
        for s in servers:
            s.stop()
        raise
    return servers


def run_app(name: str, spec: dict[str, Any], tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    servers = start_servers(spec, tmp / name, args)
    out: dict[str, Any] = {"servers": [s.name for s in servers], "runs": {}, "boot_us": {}}
    try:
        for s in servers:
            out["boot_us"][s.name] = boot_micros(
                s.url + "/hello", 20 if s.name.startswith("fpm") else 2
            )
            if not args.smoke:  # warm caches (opcache, JIT-less PHP, Python) before round 1
                load.wrk(s.url + "/hello", 32, 1.0, load.CpuMeter(s.roles))
        h2_servers = [s for s in servers if h2_available(s)]
        out["h2"] = {s.name: s in h2_servers for s in servers}
        loads = [f"h1 c{c}" for c in args.connections] + (
            [f"h2 c{args.h2_connections}"] if args.h2 else []
        )
        for rnd in range(args.rounds):
            for load_name in loads:
                for s in servers:
                    key = f"{load_name}|{s.name}"
                    meter = load.CpuMeter(s.roles)
                    if load_name.startswith("h2"):
                        if s not in h2_servers:
                            out["runs"].setdefault(key, [])
                            continue
                        res = load.h2load(
                            s.h2_url + "/hello",
                            args.h2_connections,
                            args.h2_streams,
                            args.duration,
                            meter,
                        )  # type: ignore[operator]
                    else:
                        conns = int(load_name.split("c")[-1])
                        res = load.wrk(s.url + "/hello", conns, args.duration, meter)
                    out["runs"].setdefault(key, []).append(res.__dict__)
                    print(
                        f"  round {rnd + 1} {name:9} {load_name:7} {s.name:16} {res.rps:9.0f} req/s"
                        f"  p99 {res.p99:7.2f} ms  cpu {res.cpu}",
                        flush=True,
                    )
    finally:
        for s in servers:
            s.stop()
    return out


def _fmt_cpu(cpu: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.0f}" for k, v in sorted(cpu.items()))


def _us_per_req(cpu: dict[str, float], rps: float) -> str:
    """Server CPU (every role but the load generator) per request, in microseconds."""
    if not rps:
        return "-"
    busy = sum(v for k, v in cpu.items() if k != "client") / 100.0
    return f"{busy / rps * 1e6:.0f}"


def summarize(results: dict[str, Any], baseline: str) -> list[str]:
    """The table: medians per (app, load, server) and the ratios against ``baseline``."""
    header = (
        f"{'app':10} {'load':8} {'server':16} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'err':>4}"
        f"  {'rss MB':>6}  {'ratio/' + baseline + ' per round':28} {'median':>6}"
        f"  {'us/req':>6}  cpu % of a core"
    )
    lines = [header, "-" * len(header)]
    for app, data in results["apps"].items():
        keys = sorted(
            {k.split("|")[0] for k in data["runs"]}, key=lambda k: (k[:2], int(k.split("c")[-1]))
        )
        for load_name in keys:
            base = data["runs"].get(f"{load_name}|{baseline}", [])
            for server in data["servers"]:
                runs = data["runs"].get(f"{load_name}|{server}")
                if runs is None:
                    continue
                if not runs:
                    lines.append(
                        f"{app:10} {load_name:8} {server:16} {'n/a':>9}  (h2c unavailable)"
                    )
                    continue
                rps = load.median([r["rps"] for r in runs])
                p50 = load.median([r["p50"] for r in runs])
                p99 = load.median([r["p99"] for r in runs])
                err = sum(r["errors"] for r in runs)
                rss = max((r["rr_rss_mb"] or 0 for r in runs), default=0)
                cpu = {k: load.median([r["cpu"].get(k, 0.0) for r in runs]) for k in runs[0]["cpu"]}
                ratios = [r["rps"] / b["rps"] for r, b in zip(runs, base, strict=False) if b["rps"]]
                per_round = " ".join(f"{x:.2f}" for x in ratios) if base else "n/a"
                med = f"{load.median(ratios):.2f}" if ratios and base else "n/a"
                lines.append(
                    f"{app:10} {load_name:8} {server:16} {rps:9.0f} {p50:7.2f} {p99:7.2f} {err:4d}"
                    f"  {(f'{rss:.1f}' if rss else '-'):>6}  {per_round:28} {med:>6}"
                    f"  {_us_per_req(cpu, rps):>6}  {_fmt_cpu(cpu)}"
                )
        boots = {k: v for k, v in data["boot_us"].items() if v is not None}
        if boots:
            lines.append(
                f"{app:10} bootstrap (X-Boot-Us, median): "
                + ", ".join(f"{k} {v / 1000:.2f} ms" for k, v in boots.items())
            )
        lines.append("")
    return lines


def machine() -> dict[str, Any]:
    def version(argv: list[str]) -> str:
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        except OSError:
            return "missing"
        return (p.stdout or p.stderr).strip().splitlines()[0] if (p.stdout or p.stderr) else "?"

    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        "?",
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "php": version(["php", "-v"]),
        "nginx": version(["nginx", "-v"]),
        "wrk": version(["wrk", "-v"]),
        "h2load": version(["h2load", "--version"]),
        "loadavg": os.getloadavg(),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--smoke", action="store_true", help="2-second runs, 1 round (CI keeps the script working)"
    )
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    p.add_argument(
        "--apps", default="hello,framework,slim", help="comma list of hello,framework,slim"
    )
    p.add_argument("--connections", default="32,128", help="wrk -c values")
    p.add_argument("--fpm-children", default="2,4")
    p.add_argument("--codecs", default="json,proto")
    p.add_argument("--workers", type=int, default=2, help="txrr PHP workers")
    p.add_argument(
        "--reactors",
        type=int,
        default=1,
        help="also run txrr with N SO_REUSEPORT reactor processes",
    )
    p.add_argument("--no-h2", dest="h2", action="store_false", help="skip the h2load runs")
    p.add_argument("--h2-connections", type=int, default=32)
    p.add_argument("--h2-streams", type=int, default=1, help="h2load -m")
    p.add_argument(
        "--json", type=Path, default=Path("bench-results.json"), help="where to write raw results"
    )
    p.add_argument(
        "--no-install", dest="install", action="store_false", help="never apt-get install"
    )
    args = p.parse_args(argv)
    if args.smoke:
        args.rounds, args.duration = 1, 2.0
    args.apps = [a for a in args.apps.split(",") if a]
    args.connections = [int(c) for c in args.connections.split(",")]
    args.fpm_children = [int(c) for c in args.fpm_children.split(",")]
    args.codecs = [c for c in args.codecs.split(",") if c]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ensure_tools(install=args.install)
    baseline = f"fpm{max(args.fpm_children)}"
    results: dict[str, Any] = {
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "baseline": baseline,
        "apps": {},
    }
    print(
        f"txrr benchmark: {args.rounds} round(s) x {args.duration:g}s, baseline {baseline}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="txrr-bench-") as tmp_name:
        tmp = Path(tmp_name)
        specs = app_specs(tmp)
        for app in args.apps:
            results["apps"][app] = run_app(app, specs[app], tmp, args)
    table = summarize(results, baseline)
    results["table"] = table
    args.json.write_text(json.dumps(results, indent=2))
    print()
    print("\n".join(table))
    print(f"raw results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
