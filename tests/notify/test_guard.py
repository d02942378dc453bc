"""The SSRF guard: schemes, non-public addresses, the allow list (hostnames and CIDRs). Literal IPs, no DNS."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from signwatch.notify.guard import AllowList, Checked, Refused, check_url, non_public


def check(url: str, *allow: str) -> Checked:
    return asyncio.run(check_url(url, AllowList.parse(allow)))


def refused(url: str, *allow: str) -> str:
    with pytest.raises(Refused) as info:
        check(url, *allow)
    return str(info.value)


def test_loopback_is_refused_without_allow_private() -> None:
    assert refused("http://127.0.0.1:8080/hook") == "127.0.0.1 is a loopback address"
    assert refused("http://[::1]/hook") == "::1 is a loopback address"


def test_localhost_name_is_refused_with_its_address() -> None:
    assert refused("http://localhost:8080/").startswith("localhost resolves to ")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.1.2.3/", "a private address"),
        ("https://192.168.0.10/", "a private address"),
        ("http://172.16.5.4/", "a private address"),
        ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("http://[fe80::1]/", "a link-local address"),
        ("http://224.0.0.1/", "a multicast address"),
        ("http://0.0.0.0/", "an unspecified address"),
        ("http://240.0.0.1/", "a reserved address"),
        ("http://100.64.0.1/", "not a globally routable address"),
        ("http://[fd00::1]/", "a private address"),
        ("http://[::ffff:127.0.0.1]/", "a loopback address (embedded 127.0.0.1)"),
        ("http://[::ffff:10.0.0.1]/", "a private address (embedded 10.0.0.1)"),
        ("http://2130706433/", "a loopback address"),  # 127.0.0.1 written as an integer
    ],
)
def test_non_public_addresses_are_refused(url: str, reason: str) -> None:
    assert refused(url).endswith(reason)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://127.0.0.1:25/"])
def test_other_schemes_are_refused(url: str) -> None:
    assert "is not http or https" in refused(url)


def test_invalid_host_names_are_refused() -> None:
    assert refused("http://exa..mple.com/") == "invalid host name 'exa..mple.com'"


def test_allow_private_by_cidr() -> None:
    assert check("http://127.0.0.1:9/hook", "127.0.0.1/32").addresses == (ipaddress.ip_address("127.0.0.1"),)
    check("http://10.1.2.3/", "10.0.0.0/8")
    check("http://[::1]/", "::1")
    assert refused("http://10.1.2.3/", "10.9.0.0/16") == "10.1.2.3 is a private address"


def test_allow_private_by_hostname() -> None:
    checked = check("http://LOCALHOST:9/hook", "localhost")
    assert checked.host == "localhost"
    assert all(a.is_loopback for a in checked.addresses)
    assert refused("http://127.0.0.1:9/", "localhost") == "127.0.0.1 is a loopback address"


def test_public_addresses_pass_and_are_pinned() -> None:
    checked = check("https://user:pw@93.184.215.14:8443/hook?x=1")
    assert checked.addresses == (ipaddress.ip_address("93.184.215.14"),)
    assert str(checked.pinned(checked.addresses[0])) == "https://user:pw@93.184.215.14:8443/hook?x=1"
    v6 = check("http://[2606:4700::1111]/")
    assert str(v6.pinned(v6.addresses[0])) == "http://[2606:4700::1111]/"


def test_allow_list_parsing() -> None:
    allow = AllowList.parse([" Receiver.Intranet. ", "10.0.0.0/8", "fd00::/8", ""])
    assert allow.hosts == frozenset({"receiver.intranet"})
    assert len(allow.networks) == 2
    for bad in ("10.0.0.0/33", "300.1.2.3", "fd00::zz"):
        with pytest.raises(ValueError, match="not a valid IP address or CIDR"):
            AllowList.parse([bad])


def test_non_public_accepts_public() -> None:
    assert non_public(ipaddress.ip_address("8.8.8.8")) is None
    assert non_public(ipaddress.ip_address("2001:4860:4860::8888")) is None
