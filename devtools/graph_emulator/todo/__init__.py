"""Microsoft To Do: lists, tasks, linked resources, delta (docs/graph-emulator.md §8)."""
