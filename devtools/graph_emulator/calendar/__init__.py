"""Events, recurring series, online meetings, calendarView and its delta (docs/graph-emulator.md
§2, §3, §3.8, §9)."""
