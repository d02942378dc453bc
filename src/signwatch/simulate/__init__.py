"""Simulator (design §2 simulate/): realistic Atlas traffic with labelled incidents, and a FAKE Atlas API.

The pieces, each a small library call for the ``simulate`` and ``demo`` commands:
``generate(SimConfig)`` → ``SimRun`` (history + labels), ``send_events`` (signed webhooks over HTTP),
``write_labels`` (JSON Lines), ``create_atlas_api`` / ``serve_atlas_api`` (the fake list API for the
poller) and ``LiveFeed`` + ``run_live`` (traffic continuing in real time).
"""

from signwatch.simulate.atlas_api import AtlasState, create_atlas_api, serve_atlas_api
from signwatch.simulate.incidents import INCIDENT_KINDS
from signwatch.simulate.labels import read_labels, write_labels
from signwatch.simulate.lifecycle import EnvelopeState, SimEvent
from signwatch.simulate.live import run_live
from signwatch.simulate.model import LiveFeed, SimConfig, SimRun, demo_tenants, generate
from signwatch.simulate.sender import SendReport, build_request, send_events, sign
from signwatch.simulate.world import SimTenant

__all__ = [
    "INCIDENT_KINDS",
    "AtlasState",
    "EnvelopeState",
    "LiveFeed",
    "SendReport",
    "SimConfig",
    "SimEvent",
    "SimRun",
    "SimTenant",
    "build_request",
    "create_atlas_api",
    "demo_tenants",
    "generate",
    "read_labels",
    "run_live",
    "send_events",
    "serve_atlas_api",
    "sign",
    "write_labels",
]
