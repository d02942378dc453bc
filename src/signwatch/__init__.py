"""signwatch: self-hosted oversight for e-signature activity."""

__version__ = "0.1.0"
