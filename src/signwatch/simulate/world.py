"""Simulator (design §2 simulate/): the simulated world of a tenant — its people, counterparties, addresses.

A tenant's world is a pure function of (run seed, tenant): the same users with the same stable addresses,
business units and activity levels come back on every run, so live traffic continues the history.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import accumulate
from zoneinfo import ZoneInfo

from signwatch.simulate.networks import countries_for_zone, home_address
from signwatch.simulate.streams import derive_id, stream

BUSINESS_UNITS: dict[str, float] = {"sales": 1.7, "procurement": 1.0, "hr": 0.8, "legal": 0.7, "finance": 0.6}
"""Business units and how actively their people send envelopes, relative to each other."""

_FIRST_NAMES = (
    "alice", "bob", "carol", "dan", "erin", "frank", "grace", "heidi", "ivan", "judy", "ken", "laura",
    "mallory", "nina", "oscar", "peggy", "quinn", "rupert", "sybil", "trent", "ursula", "victor", "wendy",
    "xavier", "yara", "zoe", "amir", "bea", "chen", "diego", "emma", "farah", "giulia", "hiro", "ines",
    "jonas", "kavya", "lucas", "maya", "noah", "olga", "priya", "raj", "sofia", "tomas", "yuki",
)  # fmt: skip
_LAST_NAMES = (
    "smith", "jones", "garcia", "muller", "martin", "rossi", "tanaka", "singh", "silva", "brown", "wilson",
    "dubois", "jansen", "kumar", "sato", "nguyen", "kowalski", "andersen", "costa", "murphy", "novak",
    "walker", "schmidt", "lee", "patel", "moreau", "visser", "okafor", "haddad", "lindqvist",
)  # fmt: skip
_COMPANIES = (
    "globex", "initech", "umbrella", "hooli", "vandelay", "soylent", "stark", "wayne", "tyrell", "cyberdyne",
    "wonka", "oscorp", "acme-supply", "dunder", "pied-piper", "massive-dynamic", "gringotts", "monarch",
)  # fmt: skip

DESKTOP_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
)
MOBILE_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
)


@dataclass(frozen=True)
class SimTenant:
    """An Atlas account to simulate: its slug, webhook/API key, IANA time zone and head count."""

    slug: str
    api_key: str
    timezone: str
    users: int = 40


@dataclass(frozen=True)
class Person:
    """Someone who acts on envelopes: a tenant's user (with ``user_id``) or an outside signer (without)."""

    email: str
    name: str
    country: str
    addresses: tuple[str, ...]
    user_agent: str
    user_id: str | None = None
    business_unit: str | None = None

    def address(self, rng: random.Random) -> str:
        """The address used for one action: mostly the first (office), sometimes the second (home)."""
        if len(self.addresses) > 1 and rng.random() < 0.25:
            return self.addresses[1]
        return self.addresses[0]


@dataclass(frozen=True)
class TenantWorld:
    """Everything needed to generate a tenant's traffic; ``activity`` holds cumulative sender weights."""

    tenant: SimTenant
    zone: ZoneInfo
    home_country: str
    users: tuple[Person, ...]
    activity: tuple[float, ...]
    counterparties: tuple[Person, ...]

    @property
    def domain(self) -> str:
        return f"{self.tenant.slug}.example"

    def pick_sender(self, rng: random.Random) -> Person:
        """A sender, the busiest users picked most often."""
        return rng.choices(self.users, cum_weights=self.activity)[0]

    def busiest(self, count: int) -> tuple[Person, ...]:
        """The ``count`` users who send the most."""
        weights = [high - low for low, high in zip((0.0, *self.activity), self.activity, strict=False)]
        order = sorted(range(len(self.users)), key=lambda index: -weights[index])
        return tuple(self.users[index] for index in order[:count])

    def pick_signer(self, rng: random.Random, sender: Person) -> Person:
        """Mostly an outside counterparty; sometimes a colleague (HR and legal countersigning)."""
        if rng.random() < 0.15 and len(self.users) > 1:
            colleague = rng.choice(self.users)
            if colleague != sender:
                return colleague
        return rng.choice(self.counterparties)


def build_world(tenant: SimTenant, seed: int) -> TenantWorld:
    """The deterministic world of ``tenant`` for ``seed``."""
    rng = stream(seed, tenant.slug, "world")
    home, others = countries_for_zone(tenant.timezone)
    units = list(BUSINESS_UNITS)
    users: list[Person] = []
    weights: list[float] = []
    taken: set[str] = set()
    for index in range(tenant.users):
        unit = units[index % len(units)] if index < len(units) else rng.choice(units)
        country = home if rng.random() < 0.75 else rng.choice(others)
        first, last, mailbox = _unique_name(rng, taken)
        addresses = tuple(dict.fromkeys(home_address(country, rng) for _ in range(1 if rng.random() < 0.4 else 2)))
        users.append(
            Person(
                email=f"{mailbox}@{tenant.slug}.example",
                name=f"{first.title()} {last.title()}",
                country=country,
                addresses=addresses,
                user_agent=rng.choice(DESKTOP_AGENTS),
                user_id=derive_id("usr", seed, tenant.slug, "user", index, length=16),
                business_unit=unit,
            )
        )
        weights.append(BUSINESS_UNITS[unit] * rng.lognormvariate(0.0, 0.6))
    outside: set[str] = set()
    counterparties = tuple(_counterparty(rng, home, others, outside) for _ in range(max(20, tenant.users * 4)))
    return TenantWorld(
        tenant=tenant,
        zone=ZoneInfo(tenant.timezone),
        home_country=home,
        users=tuple(users),
        activity=tuple(accumulate(weights)),
        counterparties=counterparties,
    )


def _unique_name(rng: random.Random, taken: set[str]) -> tuple[str, str, str]:
    """(first, last, mailbox) with a mailbox not in ``taken``; a number is added once names run out."""
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    for _ in range(20):
        if f"{first}.{last}" not in taken:
            break
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    mailbox, number = f"{first}.{last}", 1
    while mailbox in taken:
        number += 1
        mailbox = f"{first}.{last}{number}"
    taken.add(mailbox)
    return first, last, mailbox


def _counterparty(rng: random.Random, home: str, others: tuple[str, ...], taken: set[str]) -> Person:
    """An outside signer with an address of their own, unique by email within the tenant."""
    company = rng.choice(_COMPANIES)
    first, last, mailbox = _unique_name(rng, taken)
    country = home if rng.random() < 0.6 else rng.choice(others)
    mobile = rng.random() < 0.35
    return Person(
        email=f"{mailbox}@{company}.example",
        name=f"{first.title()} {last.title()}",
        country=country,
        addresses=(home_address(country, rng),),
        user_agent=rng.choice(MOBILE_AGENTS if mobile else DESKTOP_AGENTS),
    )
