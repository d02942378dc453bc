"""The IP prefix table is checked address by address against the offline geo database signwatch ships."""

from __future__ import annotations

import ipaddress
import random

import pytest
from geoip2fast import GeoIP2Fast

from signwatch.simulate import demo_tenants
from signwatch.simulate.networks import HOME_PREFIXES, UNUSUAL_PREFIXES, address_in, countries_for_zone
from signwatch.simulate.world import build_world


@pytest.fixture(scope="module")
def geo() -> GeoIP2Fast:
    return GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn-ipv6.dat.gz")


@pytest.mark.parametrize(
    ("country", "prefix"),
    [(country, prefix) for table in (HOME_PREFIXES, UNUSUAL_PREFIXES) for country, prefixes in table.items()
     for prefix in prefixes],
)  # fmt: skip
def test_every_address_of_every_prefix_is_in_its_country(geo: GeoIP2Fast, country: str, prefix: str) -> None:
    network = ipaddress.IPv4Network(prefix)
    assert network.is_global
    wrong = [str(host) for host in network.hosts() if geo.lookup(str(host)).country_code != country]
    assert wrong == []


def test_home_and_unusual_countries_do_not_overlap() -> None:
    assert not set(HOME_PREFIXES) & set(UNUSUAL_PREFIXES)
    assert {"US", "GB", "DE", "FR", "NL", "IN", "BR", "JP", "AU", "CA", "SG"} <= set(HOME_PREFIXES)


def test_addresses_are_hosts_of_the_prefix() -> None:
    rng = random.Random(1)
    for _ in range(500):
        address = ipaddress.IPv4Address(address_in("81.2.69.0/24", rng))
        assert address in ipaddress.IPv4Network("81.2.69.0/24")
        assert str(address).split(".")[-1] not in {"0", "255"}


def test_users_addresses_match_their_country(geo: GeoIP2Fast) -> None:
    for tenant in demo_tenants(5):
        world = build_world(tenant, seed=11)
        home, _ = countries_for_zone(tenant.timezone)
        assert world.home_country == home
        for person in (*world.users, *world.counterparties):
            assert len(person.addresses) in (1, 2)
            assert {geo.lookup(address).country_code for address in person.addresses} == {person.country}


def test_zones_map_to_home_countries() -> None:
    assert countries_for_zone("America/New_York")[0] == "US"
    assert countries_for_zone("America/Toronto")[0] == "CA"
    assert countries_for_zone("Europe/London")[0] == "GB"
    assert countries_for_zone("Asia/Kolkata")[0] == "IN"
    assert countries_for_zone("Australia/Sydney")[0] == "AU"
    assert countries_for_zone("Antarctica/Troll")[0] == "US"
