"""Rooms and room lists (docs/graph-emulator.md §4)."""
