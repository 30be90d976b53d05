"""The use cases: what calsync does, written against the ports in `ports.py` (never against
a concrete adapter), so each runs with the real adapters or with in-memory fakes."""
