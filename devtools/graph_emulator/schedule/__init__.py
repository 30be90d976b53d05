"""Free/busy: getSchedule (docs/graph-emulator.md §3.9)."""
