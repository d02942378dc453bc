"""Prometheus metrics of one app instance: deliveries by verdict, ingest latency, group-commit batch sizes,
rules-engine cycles, alerts fired and notification outcomes."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Metrics:
    """The instruments, on a registry of their own (several apps may live in one test process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "signwatch_deliveries",
            "Webhook deliveries received, by source and verdict.",
            ["source", "verdict"],
            registry=self.registry,
        )
        self.ingest_latency = Histogram(
            "signwatch_ingest_latency_seconds",
            "Time from a delivery's arrival to its answer (including the commit that keeps it).",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "signwatch_commit_batch_size",
            "Deliveries written per group commit.",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048),
            registry=self.registry,
        )
        self.commit_seconds = Histogram(
            "signwatch_commit_seconds",
            "Duration of one group-commit transaction.",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
        self.commit_failures = Counter(
            "signwatch_commit_failures", "Group commits that failed (answered 503).", registry=self.registry
        )
        self.rules_cycle_seconds = Histogram(
            "signwatch_rules_cycle_seconds",
            "Duration of one rules-engine cycle (fold the log into rollups, evaluate, record alerts).",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.rules_folded = Counter(
            "signwatch_rules_folded_events", "Events folded into the rules engine's rollups.", registry=self.registry
        )
        self.alerts_fired = Counter(
            "signwatch_alerts_fired",
            "Alerts fired, by severity and mode.",
            ["severity", "mode"],
            registry=self.registry,
        )
        self.notifications = Counter(
            "signwatch_notifications",
            "Notification attempts, by outcome (sent, retry, dead).",
            ["outcome"],
            registry=self.registry,
        )
        self.polled = Counter(
            "signwatch_polled_events",
            "Events produced by the Atlas poller.",
            ["tenant"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
