"""Users, their mailbox settings, and finding a mailbox by address (docs/graph-emulator.md §3.7)."""
