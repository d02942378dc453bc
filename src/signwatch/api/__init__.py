"""The HTTP API: `create_app(settings, store)` and one router per area."""

from signwatch.api.app import create_app

__all__ = ["create_app"]
