"""Round marks of acknowledgements made before 2026-12-07.

Those acknowledgements wrote a `QueuedRound` mark with each message they queued and sent
no message while the mark was fresh (5 minutes); the mark's round deleted it before
reading the delta. Acknowledgements no longer write marks (coalescing moved to the
consumer: shared.service.mailbox_rounds), but while an instance of the old code may still
answer Graph — a deployment rolls instances over — a marked message's round must still
delete its mark, or that instance would hold notifications back for up to 5 minutes.
Remove with the `marked` field of MailboxSync once no message older than the change
can be queued (the queue's message time-to-live, 7 days by default).
"""

from __future__ import annotations

from shared.adapters.inbound_records import QueuedRound
from shared.service.ports import Services


async def started(services: Services, org: str, kind: str, owner: str) -> None:
    """A marked round is about to read the delta: an old acknowledgement from now on queues another."""
    await services.store.delete_key(QueuedRound, org=org, owner_kind=kind, owner_id=owner, kind="queued")
