"""Change notifications: subscriptions, the validation handshake, deliveries and lifecycle
events (docs/graph-emulator.md §1)."""
