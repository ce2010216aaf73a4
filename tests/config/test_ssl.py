"""``http.ssl``: shape checks, RoadRunner's defaults, and errors that name the dotted key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from twisted.logger import LogLevel

from rr.config import load_dict
from rr.config._schema import ACMEConfig, SSLConfig
from rr.errors import ConfigError

if TYPE_CHECKING:
    from .conftest import CapturedLog


def ssl_of(ssl: dict[str, Any]) -> SSLConfig | None:
    config = load_dict({"version": "3", "http": {"address": ":0", "ssl": ssl}}, (), environ={})
    assert config.http is not None
    return config.http.ssl


def problems_of(ssl: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        ssl_of(ssl)
    return info.value.problems


def test_absent_section_means_no_https() -> None:
    """Without ``http.ssl`` there is no HTTPS listener."""
    config = load_dict({"version": "3", "http": {"address": ":0"}}, (), environ={})
    assert config.http is not None
    assert config.http.ssl is None


def test_defaults() -> None:
    """cert + key enable TLS on RoadRunner's default address with no client certificates."""
    assert ssl_of({"cert": "c.pem", "key": "k.pem"}) == SSLConfig(cert="c.pem", key="k.pem")
    assert SSLConfig().address == "127.0.0.1:443"


def test_all_keys() -> None:
    """Every key is typed; the ``no_client_cert`` alias is accepted."""
    ssl = ssl_of(
        {
            "address": "0.0.0.0:8443",
            "redirect": "true",
            "cert": "c.pem",
            "key": "k.pem",
            "root_ca": "ca.pem",
            "client_auth_type": "require_and_verify_client_cert",
        }
    )
    assert ssl == SSLConfig(
        address="0.0.0.0:8443",
        redirect=True,
        cert="c.pem",
        key="k.pem",
        root_ca="ca.pem",
        client_auth_type="require_and_verify_client_cert",
    )
    alias = ssl_of({"cert": "c", "key": "k", "root_ca": "ca", "client_auth_type": "no_client_cert"})
    assert alias is not None
    assert alias.client_auth_type == "no_client_certs"


def test_unknown_client_auth_type_is_an_error() -> None:
    """A typo in ``client_auth_type`` is reported instead of silently disabling mTLS."""
    problems = problems_of(
        {"cert": "c", "key": "k", "root_ca": "ca", "client_auth_type": "require_verify"}
    )
    assert [path for path, _ in problems] == ["http.ssl.client_auth_type"]
    assert "require_and_verify_client_cert" in problems[0][1]


def test_client_auth_without_root_ca_is_ignored(captured_log: CapturedLog) -> None:
    """As upstream, client auth needs ``root_ca``; txrr says so in a warning."""
    ssl = ssl_of({"cert": "c", "key": "k", "client_auth_type": "require_any_client_cert"})
    assert ssl is not None
    assert ssl.client_auth_type == "no_client_certs"
    assert any("root_ca is not set" in m for m in captured_log.messages(LogLevel.warn))


def test_cert_without_key() -> None:
    """One of cert/key alone names the missing key."""
    assert [p for p, _ in problems_of({"cert": "c.pem"})] == ["http.ssl.key"]
    assert [p for p, _ in problems_of({"key": "k.pem"})] == ["http.ssl.cert"]


def test_empty_section_disables_https(captured_log: CapturedLog) -> None:
    """An ``ssl`` section with no cert, key or acme enables nothing, with a warning."""
    assert ssl_of({"address": ":8443"}) is None
    assert any("HTTPS is disabled" in m for m in captured_log.messages(LogLevel.warn))


def test_bad_address() -> None:
    """The address is checked like every other listen address."""
    problems = problems_of({"address": "nope", "cert": "c", "key": "k"})
    assert [p for p, _ in problems] == ["http.ssl.address"]


def test_acme_is_parsed() -> None:
    """ACME keys are typed (the listener refuses them at startup), with upstream defaults."""
    ssl = ssl_of({"acme": {"email": "a@example.com", "domains": ["example.com"]}})
    assert ssl is not None
    assert ssl.acme == ACMEConfig(email="a@example.com", domains=("example.com",))
    other = ssl_of(
        {
            "acme": {
                "email": "a@b",
                "domains": "x.org",
                "challenge_type": "weird",
                "use_production_endpoint": True,
                "alt_http_port": 8080,
            }
        }
    )
    assert other is not None
    assert other.acme == ACMEConfig(
        email="a@b",
        domains=("x.org",),
        challenge_type="http-01",
        use_production_endpoint=True,
        alt_http_port=8080,
    )


def test_acme_problems_all_at_once() -> None:
    """Missing e-mail and domains, and cert next to acme, are reported together."""
    problems = problems_of({"cert": "c", "acme": {"cache_dir": "x"}})
    assert sorted(p for p, _ in problems) == [
        "http.ssl.acme",
        "http.ssl.acme.domains",
        "http.ssl.acme.email",
    ]
