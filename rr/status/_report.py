# -*- test-case-name: tests.status.test_report -*-
"""The answers of ``/health`` and ``/ready``, computed without any I/O.

A worker-pool plugin is healthy while one of its workers is ``ready`` or ``working`` and
ready while one is ``ready`` (idle). The reply is RoadRunner's (2024.3+) JSON array, one
entry per checked plugin, and the mapping of a plugin's code to the entry and to the status
of the whole response follows upstream (metrics-status-lock-service.md §B.3). Where upstream
is inconsistent (a check that raised), the response is always ``unavailable_status_code``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import orjson

from rr.worker.state import WorkerState

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from rr.pool.pool import WorkerPool

Kind = Literal["health", "ready"]
OK = 200
UNAVAILABLE = 503
_SERVER_ERROR = 500
_MAX_FINE = 400
_MIN_CODE = 100


@dataclass(frozen=True, slots=True)
class Checker:
    """What a plugin answers: a health code and a readiness code (each may raise)."""

    health: Callable[[], int | None]
    ready: Callable[[], int | None]


def pool_checker(pool: WorkerPool) -> Checker:
    """Health and readiness of a worker pool, read from its workers' states."""

    def health() -> int:
        alive = (WorkerState.READY, WorkerState.WORKING)
        return OK if any(w.state in alive for w in pool.workers) else UNAVAILABLE

    def ready() -> int:
        return OK if any(w.state is WorkerState.READY for w in pool.workers) else UNAVAILABLE

    return Checker(health=health, ready=ready)


def check(checker: Checker, kind: Kind) -> int | None:
    """Run one check."""
    return checker.health() if kind == "health" else checker.ready()


def report(
    checkers: Mapping[str, Checker],
    names: Sequence[str],
    kind: Kind,
    unavailable: int,
) -> tuple[int, bytes]:
    """The HTTP status and JSON body for ``/health`` or ``/ready``.

    :param names: the ``plugin`` query values; empty means every participating plugin.
        Names that do not participate are skipped silently, as upstream does.
    """
    selected: Iterable[str] = names or list(checkers)
    status = OK
    entries: list[dict[str, object]] = []
    for name in selected:
        checker = checkers.get(name)
        if checker is None:
            continue
        try:
            code = check(checker, kind)
        except Exception as error:  # noqa: BLE001 - the error text goes into the report
            entries.append(_entry(name, str(error) or type(error).__name__, unavailable))
            status = unavailable
            continue
        if code is None:
            message = (
                "plugin is not available" if names else "plugin is not available, returned nil"
            )
            entries.append(_entry(name, message, unavailable))
        elif code >= _SERVER_ERROR:
            entries.append(_entry(name, "internal server error, see logs", unavailable))
            status = unavailable
        elif _MIN_CODE <= code <= _MAX_FINE:
            entries.append(_entry(name, "", code))
        else:
            entries.append(_entry(name, "unexpected status code", code))
    return status, orjson.dumps(entries)


def _entry(name: str, message: str, code: int) -> dict[str, object]:
    return {"plugin_name": name, "error_message": message, "status_code": code}
