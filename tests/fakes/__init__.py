"""In-memory fakes of the ports (shared.service.ports), held to the same contract suites
as the real adapters (tests/contracts)."""
