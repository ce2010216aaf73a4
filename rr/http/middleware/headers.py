# -*- test-case-name: tests.http.test_mw_headers -*-
"""``headers``: fixed request/response headers and CORS (spec http.md §12.2).

Preflights (``OPTIONS`` with ``Access-Control-Request-Method``) are answered here and never
reach PHP, so a browser's CORS check costs no worker. The semantics follow the rs/cors
library RoadRunner uses, with RoadRunner's 200 for answered preflights.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from twisted.logger import Logger

from rr.http._headers import canonical_name
from rr.http.middleware._base import Response, header_value

if TYPE_CHECKING:
    from rr.config._values import Section
    from rr.http.codec import RequestHead
    from rr.http.middleware._base import Headers

_PREFLIGHT_VARY = (
    b"Vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
)
_VARY_ORIGIN = (b"Vary", b"Origin")
_DEFAULT_METHODS = ("GET", "POST", "HEAD")
_DEFAULT_HEADERS = ("accept", "content-type", "x-requested-with")


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@dataclass(frozen=True, slots=True, kw_only=True)
class CORSConfig:
    """``http.headers.cors``."""

    any_origin: bool = True
    origins: frozenset[str] = frozenset()
    wildcards: tuple[tuple[str, str], ...] = ()
    origin_regex: re.Pattern[str] | None = None
    methods: frozenset[str] = frozenset(_DEFAULT_METHODS)
    any_header: bool = False
    allowed_headers: frozenset[str] = frozenset(_DEFAULT_HEADERS)
    exposed_headers: bytes = b""
    allow_credentials: bool = False
    max_age: int = 0
    options_success_status: int = 200
    debug: bool = False

    @classmethod
    def from_section(cls, section: Section) -> CORSConfig:
        """Read the ``cors`` map; a bad regex or status is a config problem."""
        origins = [o.lower() for o in _split(section.string("allowed_origin"))]
        regex_text = section.string("allowed_origin_regex")
        regex = None
        if regex_text:
            try:
                regex = re.compile(regex_text)
            except re.error as exc:
                section.problem("allowed_origin_regex", f"invalid regular expression: {exc}")
        headers = [h.lower() for h in _split(section.string("allowed_headers"))]
        status = section.integer("options_success_status") or 200
        if not 200 <= status <= 299:  # noqa: PLR2004
            section.problem("options_success_status", f"must be a 2xx status, got {status}")
            status = 200
        config = cls(
            any_origin=regex is None and (not origins or "*" in origins),
            origins=frozenset(o for o in origins if "*" not in o),
            wildcards=tuple(
                (o.split("*", 1)[0], o.split("*", 1)[1]) for o in origins if o.count("*") == 1
                and o != "*"
            ),
            origin_regex=regex,
            methods=frozenset(_split(section.string("allowed_methods")) or _DEFAULT_METHODS),
            any_header="*" in headers,
            allowed_headers=frozenset(headers or _DEFAULT_HEADERS),
            exposed_headers=", ".join(
                canonical_name(h) for h in _split(section.string("exposed_headers"))
            ).encode("latin-1"),
            allow_credentials=section.boolean("allow_credentials"),
            max_age=section.integer("max_age"),
            options_success_status=status,
            debug=section.boolean("debug"),
        )
        section.log_unknown()
        return config

    def origin_allowed(self, origin: str) -> bool:
        """Whether requests from ``origin`` may read the response."""
        if self.origin_regex is not None:
            return self.origin_regex.search(origin) is not None
        if self.any_origin:
            return True
        origin = origin.lower()
        if origin in self.origins:
            return True
        return any(
            len(origin) >= len(pre) + len(post) and origin.startswith(pre)
            and origin.endswith(post)
            for pre, post in self.wildcards
        )

    def method_allowed(self, method: str) -> bool:
        """OPTIONS is always allowed; other methods must be listed (case-sensitive)."""
        return method == "OPTIONS" or method in self.methods

    def headers_allowed(self, requested: list[str]) -> bool:
        """Whether every header a preflight asks for is allowed."""
        if self.any_header:
            return True
        return all(h.lower() in self.allowed_headers for h in requested)


class HeadersMiddleware:
    """Adds configured headers and implements CORS."""

    name = "headers"
    _log = Logger()

    def __init__(
        self,
        request: Headers,
        response: Headers,
        cors: CORSConfig | None,
    ) -> None:
        self.request = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request]
        self.response = response
        self.cors = cors

    @classmethod
    def from_section(cls, section: Section) -> HeadersMiddleware:
        """Build from ``http.headers``."""
        cors_section = section.section("cors")
        config = cls(
            _header_map(section, "request"),
            _header_map(section, "response"),
            CORSConfig.from_section(cors_section) if cors_section is not None else None,
        )
        section.log_unknown()
        return config

    def before(self, head: RequestHead) -> RequestHead | Response:
        """Append request headers; answer a CORS preflight."""
        if self.request:
            head = replace(head, headers=[*head.headers, *self.request])
        cors = self.cors
        if cors is not None and head.method == "OPTIONS":
            requested = header_value(head, "access-control-request-method")
            if requested is not None:
                return self._preflight(head, cors, requested)
        return head

    def _preflight(self, head: RequestHead, cors: CORSConfig, method: str) -> Response:
        headers: Headers = [*self.response, _PREFLIGHT_VARY]
        origin = header_value(head, "origin")
        wanted = header_value(head, "access-control-request-headers") or ""
        names = _split(wanted)
        if origin is None:
            reason = "no Origin header"
        elif not cors.origin_allowed(origin):
            reason = "origin not allowed"
        elif not cors.method_allowed(method):
            reason = "method not allowed"
        elif not cors.headers_allowed(names):
            reason = "headers not allowed"
        else:
            reason = ""
            _allow_origin(headers, cors, origin)
            headers.append((b"Access-Control-Allow-Methods", method.upper().encode("latin-1")))
            if names:
                headers.append((b"Access-Control-Allow-Headers", wanted.encode("latin-1")))
            if cors.allow_credentials:
                headers.append((b"Access-Control-Allow-Credentials", b"true"))
            if cors.max_age > 0:
                headers.append((b"Access-Control-Max-Age", b"%d" % cors.max_age))
        if reason and cors.debug:
            self._log.debug("CORS preflight refused: {reason}", reason=reason, origin=origin,
                            method=method, rr_channel="http")
        return Response(cors.options_success_status, headers, b"")

    def after(self, head: RequestHead, response: Response) -> None:
        """Set the configured response headers; add CORS headers to actual requests."""
        if self.response:
            response.headers[:0] = self.response
        cors = self.cors
        if cors is None or (
            head.method == "OPTIONS"
            and header_value(head, "access-control-request-method") is not None
        ):
            return
        added: Headers = [_VARY_ORIGIN]
        origin = header_value(head, "origin")
        if origin is not None and cors.origin_allowed(origin) and cors.method_allowed(head.method):
            _allow_origin(added, cors, origin)
            if cors.exposed_headers:
                added.append((b"Access-Control-Expose-Headers", cors.exposed_headers))
            if cors.allow_credentials:
                added.append((b"Access-Control-Allow-Credentials", b"true"))
        response.headers[len(self.response):len(self.response)] = added


def _allow_origin(headers: Headers, cors: CORSConfig, origin: str) -> None:
    value = b"*" if cors.any_origin else origin.encode("latin-1")
    headers.append((b"Access-Control-Allow-Origin", value))


def _header_map(section: Section, key: str) -> Headers:
    """A name -> value map as canonical header pairs; CR/LF in values is a problem."""
    out: Headers = []
    for name, value in section.string_map(key).items():
        if "\r" in value or "\n" in value:
            section.problem(f"{key}.{name}", "header values must not contain CR or LF")
            continue
        out.append((canonical_name(name).encode("latin-1"), value.encode("latin-1")))
    return out
