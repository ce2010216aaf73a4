# -*- test-case-name: tests.config.test_ssl -*-
"""``http.ssl`` (and ``http.ssl.acme``) become a typed :class:`SSLConfig`.

Only the shape of the section is checked here; whether the files exist, parse and match is
checked when the HTTPS listener is built (``rr.http.tls``), so ``rr`` commands that only
read the config (``rr workers``) do not need the key. An unknown ``client_auth_type`` is an
error, not RoadRunner's silent "no client certificates": a typo must not turn mTLS off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from twisted.logger import Logger

from rr.config._endpoints import to_endpoint
from rr.config._schema import ACMEConfig, ClientAuthType, SSLConfig
from rr.errors import ConfigError

if TYPE_CHECKING:
    from rr.config._values import Section

_log = Logger()

CLIENT_AUTH_TYPES: frozenset[str] = frozenset(
    {
        "no_client_certs",
        "request_client_cert",
        "require_any_client_cert",
        "verify_client_cert_if_given",
        "require_and_verify_client_cert",
    }
)
_ALIASES = {"no_client_cert": "no_client_certs", "": "no_client_certs"}


def _acme(section: Section | None) -> ACMEConfig | None:
    if section is None:
        return None
    email = section.string("email")
    if not email:
        section.problem("email", "an e-mail address is required for ACME")
    domains = section.strings("domains")
    if not domains:
        section.problem("domains", "at least one domain is required for ACME")
    challenge = section.string("challenge_type").lower()
    config = ACMEConfig(
        email=email,
        domains=domains,
        cache_dir=section.string("cache_dir") or "rr_cache_dir",
        challenge_type="tlsalpn-01" if challenge == "tlsalpn-01" else "http-01",
        alt_http_port=section.integer("alt_http_port") or 80,
        alt_tlsalpn_port=section.integer("alt_tlsalpn_port") or 443,
        use_production_endpoint=section.boolean("use_production_endpoint"),
    )
    section.log_unknown()
    return config


def _client_auth(section: Section, root_ca: str) -> ClientAuthType:
    raw = section.string("client_auth_type").strip().lower()
    value = _ALIASES.get(raw, raw)
    if value not in CLIENT_AUTH_TYPES:
        choices = ", ".join(sorted(CLIENT_AUTH_TYPES))
        section.problem("client_auth_type", f"unknown value {raw!r}; use one of {choices}")
        return "no_client_certs"
    if value != "no_client_certs" and not root_ca:
        _log.warn(
            "{path} is {value} but http.ssl.root_ca is not set: client certificates are not "
            "requested (set root_ca to enable mTLS)",
            path=section.key_path("client_auth_type"),
            value=value,
        )
        return "no_client_certs"
    return cast("ClientAuthType", value)


def build_ssl(section: Section | None) -> SSLConfig | None:
    """Build ``http.ssl``; None when absent or when it enables nothing (no cert, key or acme)."""
    if section is None:
        return None
    address = section.string("address") or SSLConfig().address
    try:
        to_endpoint(address, path=section.key_path("address"))
    except ConfigError as error:
        section.problems.extend(error.problems)
    cert, key = section.string("cert"), section.string("key")
    root_ca = section.string("root_ca")
    acme = _acme(section.section("acme"))
    if acme is not None and (cert or key):
        section.problem("acme", "acme and cert/key are mutually exclusive; remove one of them")
    elif acme is None and bool(cert) != bool(key):
        missing = "key" if cert else "cert"
        section.problem(missing, f"is required when http.ssl.{'cert' if key else 'key'} is set")
    config = SSLConfig(
        address=address,
        redirect=section.boolean("redirect"),
        cert=cert,
        key=key,
        root_ca=root_ca,
        client_auth_type=_client_auth(section, root_ca),
        acme=acme,
    )
    section.log_unknown()
    if acme is None and not (cert and key):
        if not (cert or key):
            _log.warn("http.ssl has no cert, key or acme: HTTPS is disabled")
        return None
    return config
