"""Contract suites: each runs against the real adapter (Azurite, the Graph emulator) and
against its in-memory fake, so the fakes cannot drift from what the adapters do."""
