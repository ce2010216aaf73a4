# -*- test-case-name: tests.http.test_mw_sendfile -*-
# os.path on the request path: no Path object per request.
# ruff: noqa: PTH116, PTH118, PTH206
"""``sendfile``: a worker answers ``X-Sendfile: <path>`` and the server sends the file.

PHP hands a large download to the server and is free for the next request while the file
goes out in chunks. Decision (upstream does not confine the path at all): the path,
absolute or relative to the server's working directory, must resolve (symlinks included)
inside that working directory or inside ``http.static.dir`` when ``static`` is configured;
anything else is refused with 403, so a worker bug cannot leak ``/etc/shadow``.

Unlike upstream, a streamed response is not buffered: the decision is taken on the
response head, and the body the worker still streams after an ``X-Sendfile`` head is
dropped by the front end.
"""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING

from twisted.logger import Logger

from rr.http.middleware._base import FileBody

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rr.http.codec import RequestHead
    from rr.http.middleware._base import Response

_HEADER = b"X-Sendfile"


class SendfileMiddleware:
    """Replaces a worker response carrying ``X-Sendfile`` with the named file."""

    name = "sendfile"
    _log = Logger()

    def __init__(self, cwd: str, roots: Sequence[str]) -> None:
        self.cwd = cwd
        self.roots = tuple(os.path.realpath(root) for root in roots)

    def before(self, head: RequestHead) -> RequestHead:
        """Requests pass unchanged."""
        return head

    def after(self, head: RequestHead, response: Response) -> None:
        """Swap the body for the file when the worker asked for one."""
        target = response.get(_HEADER)
        if target is None:
            return
        response.remove(_HEADER, b"Content-Length", b"Content-Type", b"Content-Encoding")
        response.body = b""
        response.encoder = None
        path = os.path.normpath(target.decode("utf-8", "surrogateescape"))
        if ".." in path.split(os.sep):
            self._refuse(response, 403, "", head, path)
            return
        full = os.path.realpath(os.path.join(self.cwd, path))
        if not any(full == root or full.startswith(root + os.sep) for root in self.roots):
            self._refuse(response, 403, "", head, path)
            return
        try:
            info = os.stat(full)
        except FileNotFoundError:
            self._refuse(response, 404, "not found", head, path)
            return
        except OSError as exc:
            self._refuse(response, 500, str(exc), head, path)
            return
        if not stat.S_ISREG(info.st_mode):
            self._refuse(response, 404, "not found", head, path)
            return
        response.status = 200
        response.headers.append((b"Content-Type", b"application/octet-stream"))
        response.headers.append((b"Content-Length", b"%d" % info.st_size))
        response.file = FileBody(full, 0, info.st_size) if info.st_size else None

    def _refuse(
        self, response: Response, status: int, text: str, head: RequestHead, path: str
    ) -> None:
        self._log.warn(
            "X-Sendfile {path} for {method} {target} refused with {status}",
            path=path, method=head.method, target=head.target, status=status,
            rr_channel="http",
        )
        response.status = status
        response.file = None
        response.body = text.encode("utf-8")
        if text:
            response.headers.append((b"Content-Type", b"text/plain; charset=utf-8"))
