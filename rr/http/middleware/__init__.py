# -*- test-case-name: tests.http.test_middleware -*-
"""HTTP middleware (``http.middleware``): one protocol-agnostic seam for every front end.

The seam
--------
A front end (HTTP/1.1 here; HTTP/2 and FastCGI use the same calls) holds one
:class:`Pipeline`, built once by :func:`build_pipeline`, and calls it twice per request:

1. ``head, answer = pipeline.before(head)`` once the request head is parsed, *before* the
   body is read and before a worker is asked. ``head`` (a
   :class:`~rr.http.codec.RequestHead`) may come back rewritten: headers appended
   (``headers``), ``remote_addr`` replaced (``proxy_ip_parser``). When ``answer`` is a
   :class:`Response`, the chain answered the request itself (a static file, a CORS
   preflight, a 403): the front end discards the request body and writes ``answer``; no
   worker is involved, and the request is not access-logged (spec http.md §8).
2. ``response = pipeline.after(head, Response(status, headers, body))`` when the worker's
   final status arrives. ``body`` is ``None`` for a streamed response. The front end
   then writes ``response.status`` and ``response.headers`` and either ``response.body``,
   or the file ``response.file`` (:class:`FileBody`: path, offset, length; read in chunks
   by a producer), or, for a stream, each later piece passed through
   ``response.encoder`` (:class:`BodyEncoder`, e.g. gzip) with ``encoder.finish()`` at
   the end.

Order is RoadRunner's documented one (spec http.md §12.1): with
``middleware: [static, headers, gzip]`` a request passes gzip, headers, static, then PHP,
and the response passes static, headers, gzip. Unknown names are skipped with a warning.

Each middleware lives in its own module: :mod:`.headers`, :mod:`.gzip`, :mod:`.static`,
:mod:`.sendfile`, :mod:`.proxy_ip`.
"""

from __future__ import annotations

from rr.http.middleware._base import BodyEncoder, FileBody, Middleware, Pipeline, Response
from rr.http.middleware._registry import build_pipeline

__all__ = ["BodyEncoder", "FileBody", "Middleware", "Pipeline", "Response", "build_pipeline"]
