"""status and metrics against the real server with real PHP workers."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import free_port, request, worker_config


def scrape(url: str) -> dict[str, Any]:
    status, headers, body = request(url)
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {f.name: f for f in text_string_to_metric_families(body.decode())}


def values(family: Any) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples}


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_health_ready_metrics_and_shutdown(rr_server: Any) -> None:
    """/health and /ready follow the pool; /metrics is parseable with RoadRunner's names and the
    declared collectors; once shutdown starts /ready turns unavailable while /health stays 200."""
    status_port, metrics_port = free_port(), free_port()
    config = worker_config("fail.php", pool={"num_workers": 1}, middleware=["http_metrics"])
    config["status"] = {"address": f"127.0.0.1:{status_port}", "unavailable_status_code": 502}
    config["metrics"] = {
        "address": f"127.0.0.1:{metrics_port}",
        "collect": {
            "app_requests": {"type": "counter", "help": "Handled", "labels": ["type"]},
            "app_jobs": {"type": "counter", "help": "Jobs"},
            "latency": {"type": "histogram", "namespace": "app", "buckets": [0.1, 1]},
        },
    }
    server = rr_server(config)
    status_url = f"http://127.0.0.1:{status_port}"
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"

    code, headers, body = request(status_url + "/health")
    assert (code, headers["Content-Type"]) == (200, "application/json")
    assert json.loads(body) == [{"plugin_name": "http", "error_message": "", "status_code": 200}]
    code, _, body = request(status_url + "/ready?plugin=http&plugin=grpc")
    assert (code, json.loads(body)[0]["status_code"], len(json.loads(body))) == (200, 200, 1)
    assert request(status_url + "/ready?plugin=unknown")[:3:2] == (200, b"[]")

    assert server.get("/")[0] == 200
    found = scrape(metrics_url)
    pid = str(server.workers()[0].pid)
    assert values(found["rr_http_total_workers"]) == {(): 1}
    assert values(found["rr_http_workers_ready"]) == {(): 1}
    assert values(found["rr_http_worker_state"]) == {(("pid", pid), ("state", "ready")): 0}
    assert values(found["rr_http_worker_memory_bytes"])[(("pid", pid),)] > 1_000_000
    assert "process_resident_memory_bytes" in found
    assert values(found["app_jobs"]) == {(): 0}
    assert found["app_latency"].type == "histogram"
    assert "app_requests" not in found  # a vector appears with its first label values
    assert "rr_http_requests_queue" in found
    assert "rr_http_uptime_seconds" in found
    # the request above was counted and timed by the http_metrics hook
    assert values(found["rr_http_request"]) == {(("status", "200"),): 1}
    assert values(found["rr_http_request_duration_seconds"])[(("le", "+Inf"), ("status", "200"))] == 1

    # one slow request keeps the only worker busy: not ready, still healthy
    slow = threading.Thread(target=server.get, args=("/slow?ms=2500",), daemon=True)
    slow.start()
    wait_for(lambda: request(status_url + "/ready")[0] == 502)
    code, _, body = request(status_url + "/ready")
    assert json.loads(body)[0] == {
        "plugin_name": "http",
        "error_message": "internal server error, see logs",
        "status_code": 502,
    }
    assert request(status_url + "/health")[0] == 200
    busy = scrape(metrics_url)
    assert values(busy["rr_http_workers_working"]) == {(): 1}
    assert values(busy["rr_http_requests_queue"]) == {(): 1}

    # shutdown drains the slow request: ready is unavailable, health and metrics still answer
    server.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: request(status_url + "/ready")[2] == b"service is shutting down")
    assert request(status_url + "/ready")[0] == 502
    assert request(status_url + "/health")[:3:2] == (200, b"service is shutting down")
    assert "rr_http_total_workers" in scrape(metrics_url)
    slow.join(10)
    assert server.proc.wait(15) == 0


def test_bad_collector_is_a_config_error(rr_server: Any) -> None:
    """An invalid collector type stops the server at startup with RoadRunner's message."""
    config = worker_config("hello.php")
    config["metrics"] = {
        "address": f"127.0.0.1:{free_port()}",
        "collect": {"app": {"type": "meter"}},
    }
    server = rr_server(config, wait=False)
    assert server.proc.wait(30) != 0
    assert "invalid metric type `meter` for `app`" in server.logs()


def test_taken_address_names_the_key(rr_server: Any) -> None:
    """A metrics address already in use stops the server with an error naming the key."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = worker_config("hello.php")
        config["metrics"] = {"address": f"127.0.0.1:{port}"}
        server = rr_server(config, wait=False)
        assert server.proc.wait(30) != 0
    assert f"metrics.address 127.0.0.1:{port}" in server.logs()
