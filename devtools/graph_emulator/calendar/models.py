"""A calendar item and what a delta token remembers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devtools.graph_emulator.core.ids import new_change_key, now
from shared.core.recurrence import Recurrence


@dataclass
class Attendee:
    address: str
    name: str
    type: str = "required"  # required | optional | resource
    response: str = "none"
    response_time: datetime | None = None


@dataclass
class Event:
    """One item in one mailbox's calendar (organizer's event or an attendee's copy)."""

    rest_id: str
    immutable_id: str
    mailbox_id: str
    ical_uid: str
    subject: str
    start: datetime  # aware UTC
    end: datetime
    start_tz: str
    end_tz: str
    is_all_day: bool = False
    body_type: str = "text"
    body: str = ""
    location: str = ""
    location_email: str | None = None
    sensitivity: str = "normal"
    show_as: str = "busy"
    importance: str = "normal"
    categories: list[str] = field(default_factory=list)
    organizer_address: str = ""
    organizer_name: str = ""
    is_organizer: bool = True
    is_cancelled: bool = False
    response: str = "organizer"
    response_time: datetime | None = None
    attendees: list[Attendee] = field(default_factory=list)
    transaction_id: str | None = None
    extended: dict[str, str] = field(default_factory=dict)  # normalised id → value
    extended_ids: dict[str, str] = field(default_factory=dict)  # normalised id → id as created
    created: datetime = field(default_factory=now)
    modified: datetime = field(default_factory=now)
    change_key: str = field(default_factory=new_change_key)
    seq: int = 0  # the mailbox change sequence number of the last change
    # Recurrence (resources/event.md: type, seriesMasterId, originalStart, recurrence).
    kind: str = "singleInstance"  # singleInstance | seriesMaster | occurrence | exception
    recurrence: Recurrence | None = None  # a seriesMaster's
    master_id: str | None = None  # an occurrence's or exception's series master (rest id)
    original_start: datetime | None = None  # an occurrence's or exception's, aware UTC
    cancelled: set[datetime] = field(default_factory=set)  # a master's deleted occurrences
    exceptions: dict[datetime, str] = field(default_factory=dict)  # a master's: original start → rest id
    # An exception's own values (series.INHERITED keys): the others follow its master.
    overrides: set[str] = field(default_factory=set)
    series_key: str = field(default_factory=new_change_key)  # a master's version, for its occurrences
    # Online meeting (online.py): the provider and the join information, once initialised.
    online_provider: str = "unknown"
    online_meeting: dict[str, Any] | None = None


@dataclass
class DeltaState:
    """What a delta token remembers: the window and what the client has seen."""

    mailbox_id: str
    tenant_id: str
    start: datetime
    end: datetime
    seen: dict[str, str]  # event rest id → changeKey the client has
    seq: int  # mailbox sequence number the client is up to date with
    initial_url: str
    pending: list[dict[str, Any]] = field(default_factory=list)  # items still to page out
    next_seen: dict[str, str] = field(default_factory=dict)
    next_seq: int = 0
    first_page_empty: bool = False
    issued: int = 0  # World.expiry_seq when the round's initial request was made
