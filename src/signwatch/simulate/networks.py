"""Simulator (design §2 simulate/): real public IPv4 networks per country, for users' stable addresses.

Each prefix is a /24 inside a large, well-known access network (national telcos and cable operators) that
the offline geo database shipped with signwatch (geoip2fast) places in that country; a test checks every
address of every prefix against it. ``HOME_PREFIXES`` is where tenants' people live; ``UNUSUAL_PREFIXES``
are only ever used by the ``new_network`` incident, so an address from them is never "seen before".
"""

from __future__ import annotations

import ipaddress
import random

HOME_PREFIXES: dict[str, tuple[str, ...]] = {
    "US": ("73.15.20.0/24", "98.210.14.0/24", "24.5.60.0/24", "71.190.12.0/24"),  # Comcast, Verizon
    "GB": ("81.2.69.0/24", "86.150.30.0/24", "2.25.100.0/24", "51.6.20.0/24"),  # A&A, BT, EE
    "DE": ("79.200.10.0/24", "91.40.20.0/24", "84.150.30.0/24", "217.230.10.0/24"),  # Deutsche Telekom
    "FR": ("90.10.20.0/24", "82.64.10.0/24", "78.120.5.0/24", "176.180.20.0/24"),  # Orange, Free, SFR
    "NL": ("145.97.10.0/24", "77.160.20.0/24", "84.80.30.0/24", "94.208.5.0/24"),  # SURF, KPN, Vodafone
    "IN": ("49.36.10.0/24", "117.200.20.0/24", "106.200.30.0/24", "122.160.5.0/24"),  # Jio, BSNL, Airtel
    "BR": ("177.100.20.0/24", "189.30.10.0/24", "179.100.5.0/24", "187.10.20.0/24"),  # Claro, Vivo
    "JP": ("126.100.20.0/24", "153.200.10.0/24", "60.100.30.0/24", "118.240.10.0/24"),  # SoftBank, NTT
    "AU": ("101.160.10.0/24", "1.120.20.0/24", "120.150.30.0/24", "203.206.10.0/24"),  # Telstra, TPG
    "CA": ("24.114.10.0/24", "70.50.20.0/24", "142.112.30.0/24", "99.224.5.0/24"),  # Rogers, Bell
    "SG": ("116.14.10.0/24", "118.200.20.0/24", "175.156.30.0/24", "183.90.10.0/24"),  # Singtel, M1
}

UNUSUAL_PREFIXES: dict[str, tuple[str, ...]] = {
    "RU": ("95.24.10.0/24", "178.176.20.0/24"),  # Beeline, MegaFon
    "NG": ("105.112.10.0/24", "197.210.20.0/24"),  # Airtel Nigeria, MTN
    "VN": ("113.160.10.0/24", "171.224.30.0/24"),  # VNPT, Viettel
    "RO": ("86.120.10.0/24", "188.24.30.0/24"),  # Digi
    "KR": ("175.223.20.0/24", "121.130.30.0/24"),  # Korea Telecom
}

# The country people of a tenant mostly live in, by the tenant's time zone (a prefix match on the IANA name),
# and the countries its remote staff and counterparties come from.
_ZONE_COUNTRIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("America/Toronto", "CA", ("US", "GB")),
    ("America/Vancouver", "CA", ("US", "GB")),
    ("America/Sao_Paulo", "BR", ("US", "GB")),
    ("America/", "US", ("CA", "GB", "BR")),
    ("US/", "US", ("CA", "GB", "BR")),
    ("Europe/London", "GB", ("US", "DE", "NL", "FR")),
    ("Europe/Dublin", "GB", ("US", "DE", "NL")),
    ("Europe/Berlin", "DE", ("NL", "FR", "GB")),
    ("Europe/Paris", "FR", ("DE", "GB", "NL")),
    ("Europe/Amsterdam", "NL", ("DE", "GB", "FR")),
    ("Europe/", "DE", ("FR", "NL", "GB")),
    ("Asia/Kolkata", "IN", ("SG", "GB", "US")),
    ("Asia/Calcutta", "IN", ("SG", "GB", "US")),
    ("Asia/Tokyo", "JP", ("SG", "US", "AU")),
    ("Asia/Singapore", "SG", ("IN", "AU", "JP")),
    ("Asia/", "SG", ("IN", "JP", "AU")),
    ("Australia/", "AU", ("SG", "GB", "US")),
    ("Pacific/Auckland", "AU", ("SG", "US")),
)


def countries_for_zone(timezone: str) -> tuple[str, tuple[str, ...]]:
    """The (home country, other countries) of a tenant in ``timezone``; US-centred when unknown."""
    for prefix, home, others in _ZONE_COUNTRIES:
        if timezone.startswith(prefix):
            return home, others
    return "US", ("CA", "GB", "DE")


def address_in(prefix: str, rng: random.Random) -> str:
    """A host address (never the network or broadcast address) inside ``prefix``."""
    network = ipaddress.IPv4Network(prefix)
    offset = rng.randrange(1, network.num_addresses - 1)
    return str(network.network_address + offset)


def home_address(country: str, rng: random.Random) -> str:
    """A residential or office address in ``country`` (one of ``HOME_PREFIXES``)."""
    return address_in(rng.choice(HOME_PREFIXES[country]), rng)


def unusual_address(rng: random.Random) -> tuple[str, str]:
    """(country, address) from a network no simulated tenant ever uses in normal traffic."""
    country = rng.choice(sorted(UNUSUAL_PREFIXES))
    return country, address_in(rng.choice(UNUSUAL_PREFIXES[country]), rng)
