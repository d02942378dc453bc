"""Notify (design §1 notify/): guard — refuse outbound HTTP to private, loopback and other internal addresses.

Alert recipients are written by rule authors, so a webhook URL is untrusted input: without this check a rule
could make the server POST to its own admin ports or a cloud metadata endpoint (SSRF). `check_url` resolves
the host once and returns the vetted addresses; the channel then connects to exactly those addresses (with
the original Host header and TLS server name), so a DNS answer that changes between check and connect
(rebinding) cannot slip an internal address through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SCHEMES = ("http", "https")


class Refused(Exception):
    """The URL may not be called; the message is the one-line reason (without the `refused:` prefix)."""


@dataclass(frozen=True, slots=True)
class AllowList:
    """`allow_private` parsed: hostnames (exact, case-insensitive) and IP networks that may be non-public."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Each entry is an IP, a CIDR (`10.0.0.0/8`) or a hostname; a malformed IP or CIDR raises ValueError."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                if "/" in entry or _looks_numeric(entry):
                    raise ValueError(f"allow_private entry {raw!r} is not a valid IP address or CIDR") from None
                hosts.add(entry.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, host: str, address: IPAddress) -> bool:
        return host.lower().rstrip(".") in self.hosts or any(address in net for net in self.networks)


@dataclass(frozen=True, slots=True)
class Checked:
    """A URL that passed the guard: its parsed form and the addresses it may be connected to, in resolver order."""

    url: httpx.URL
    addresses: tuple[IPAddress, ...]

    @property
    def host(self) -> str:
        """The ASCII (IDNA) host name, as sent in the Host header and as the TLS server name."""
        return self.url.raw_host.decode("ascii")

    def pinned(self, address: IPAddress) -> httpx.URL:
        """The URL with its host replaced by `address`, so the connection goes exactly there."""
        return self.url.copy_with(host=str(address))


async def check_url(url: str, allow: AllowList) -> Checked:
    """Resolve `url`'s host and return it with its addresses, or raise `Refused` when the scheme is not
    http(s) or any address is not public and not allowed. DNS failures raise OSError (`socket.gaierror`)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise Refused(f"invalid URL: {exc}") from None
    if parsed.scheme not in SCHEMES:
        raise Refused(f"scheme {parsed.scheme!r} is not http or https")
    if not parsed.raw_host:
        raise Refused("URL has no host")
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except UnicodeError:  # the idna codec refuses an empty or over-long label
        raise Refused(f"invalid host name {host!r}") from None
    addresses: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])  # drop an IPv6 zone id
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Refused(f"{host} resolved to no address")
    for address in addresses:
        reason = non_public(address)
        if reason and not allow.allows(host, address):
            raise Refused(
                f"{address} is {reason}" if str(address) == host else f"{host} resolves to {address}, {reason}"
            )
    return Checked(parsed, tuple(addresses))


def non_public(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address ("a loopback address", …), or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            inner = non_public(embedded)
            if inner:
                return f"{inner} (embedded {embedded})"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a globally routable address"
    return None


def _looks_numeric(entry: str) -> bool:
    """An entry made only of digits, dots and colons is a (malformed) address, not a hostname."""
    return all(ch.isdigit() or ch in ".:" for ch in entry) or ":" in entry
