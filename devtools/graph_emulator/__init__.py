"""A local Microsoft Graph v1.0 for calendars, rooms and subscriptions (see docs/graph-emulator.md)."""
