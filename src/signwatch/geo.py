"""IP address → country, ASN and network, from the offline database shipped inside the geoip2fast package.

Nothing is fetched at run time. An optional MaxMind City .mmdb adds the city. Lookups are cached.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from signwatch.events import Geo

log = logging.getLogger(__name__)
DATA_FILE = "geoip2fast-asn-ipv6.dat.gz"  # IPv4 + IPv6, country + ASN name and network, ships in the wheel


class GeoResolver:
    """Resolves IP addresses; loads its database on first use (about 0.3 s) and caches lookups."""

    def __init__(self, city_mmdb: Path | None = None, cache_size: int = 65536) -> None:
        self._city_path = city_mmdb
        self._db: Any = None
        self._city: Any = None
        self._lock = threading.Lock()
        self.lookup = lru_cache(maxsize=cache_size)(self._lookup)

    def _load(self) -> Any:
        with self._lock:
            if self._db is None:
                from geoip2fast import GeoIP2Fast

                self._db = GeoIP2Fast(geoip2fast_data_file=DATA_FILE, verbose=False)
                if self._city_path is not None:
                    import maxminddb

                    self._city = maxminddb.open_database(str(self._city_path))
        return self._db

    def warm(self) -> None:
        self._load()

    def _lookup(self, ip: str) -> Geo:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return Geo()
        if addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved:
            return Geo(network=_own_network(addr))
        db = self._db or self._load()
        result = db.lookup(str(addr))
        country = result.country_code if len(result.country_code or "") == 2 else None
        network = result.asn_cidr or result.cidr or _own_network(addr)
        city = None
        if self._city is not None:
            record = self._city.get(str(addr)) or {}
            city = (record.get("city") or {}).get("names", {}).get("en")
        return Geo(country=country, asn=result.asn_name or None, network=network or None, city=city)


def _own_network(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """The /24 (IPv4) or /48 (IPv6) around an address: the network when the database knows none."""
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))
