"""Shared simulated worlds for the simulator tests: one default-sized run spanning the 2026 DST changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from signwatch.simulate import SimConfig, SimRun, demo_tenants, generate

# 14 days across the end of summer time in Europe (25 Oct 2026) and the US (1 Nov 2026).
START = datetime(2026, 10, 22, tzinfo=UTC)
END = datetime(2026, 11, 5, tzinfo=UTC)


@pytest.fixture(scope="session")
def config() -> SimConfig:
    return SimConfig(tenants=demo_tenants(3), start=START, end=END)


@pytest.fixture(scope="session")
def run(config: SimConfig) -> SimRun:
    return generate(config)
