"""What the API answers, as pydantic models: organisations, settings, links, batches, imports,
appointments, occurrences and jobs (the change feed, health, deletions and problems are in
shared.core.api_responses, which maps every HTTP function to its answers).

Each model is the dict a view builder in shared/service makes (org_view, link_view,
target_view, the job and import views…), field for field under its JSON name. Every model
allows extra fields: the API may add some without the OpenAPI document forbidding them.
A field with a default is a key the answer sometimes leaves out; every other key is always
there, null included where the type says so. Times are `date-time` (json_default writes them
in RFC 3339, UTC, with a `Z`)."""

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, RootModel
from pydantic.alias_generators import to_camel

from shared.core.org_settings import RestrictedPolicy, SyncMode

LinkStatus = Literal["linked", "error", "unlinked"]
LinkHealth = Literal["healthy", "pending", "stale", "attention", "error"]
OrgStatus = Literal["connected", "error", "pending"]
# The codes of shared.core.errors' GraphError family (what an org's or import's error says).
GraphErrorCode = Literal[
    "graph_error",
    "graph_not_found",
    "no_mailbox",
    "consent_required",
    "graph_rejected",
    "delta_token_expired",
    "graph_unavailable",
]
# What a link's `error.code` says: linking, subscribing, renewing, lifecycle and delta rounds.
LinkErrorCode = Literal[
    "account_not_found",
    "mailbox_not_found",
    "no_mailbox",
    "not_a_user_mailbox",
    "not_a_resource_mailbox",
    "consent_required",
    "consent_revoked",
    "graph_error",
    "graph_unavailable",
    "mailbox_not_accessible",
    "subscription_failed",
    "subscription_renewal_failed",
]
LinkConflictCode = Literal["account_in_use", "mailbox_in_use", "link_in_progress", "account_ambiguous"]
Day = Literal["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def absent(description: str | None = None) -> Any:
    """A key the answer leaves out at times (not null then: missing); no default in the schema."""
    return Field(default=None, description=description, json_schema_extra=_no_default)


class ResponseModel(BaseModel):
    """An answer of the API (or part of one)."""

    model_config = ConfigDict(
        extra="allow",
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        field_title_generator=lambda name, _: name.replace("_", " ").capitalize(),  # "Mailbox id", not "Mailboxid"
    )


class ErrorInfo(ResponseModel):
    """What went wrong: a stable machine-readable `code` and a message for people."""

    code: str
    message: str


class GraphErrorInfo(ErrorInfo):
    """Microsoft Graph's refusal or failure, as calsync classifies it, with Graph's message."""

    code: GraphErrorCode


class LinkError(ErrorInfo):
    """Why a link is in error, stored on it until a PUT or a retry succeeds."""

    code: LinkErrorCode


# -- organisations ---------------------------------------------------------------------------
class OrgView(ResponseModel):
    """An organisation of the booking product and the Microsoft 365 tenant it is tied to."""

    org: str = Field(description="The booking product's organisation id")
    m365_tenant_id: str = Field(description="The Microsoft 365 tenant id (a lower-case GUID)")
    display_name: str
    status: OrgStatus = Field(
        description="connected: the tenant check passed; error: it failed (see error); pending: never checked"
    )
    error: GraphErrorInfo | None = Field(description="Why the tenant check failed; null unless status is error")
    admin_consent_url: str = Field(description="The admin-consent URL of calsync's app registration for the tenant")
    created_at: dt.datetime
    updated_at: dt.datetime


class OrgPage(ResponseModel):
    """A page of organisations, in id order."""

    orgs: list[OrgView]
    next: str | None = Field(description="The last org id of this page, to pass as `after`; null on the last page")


class ConsentUrlView(ResponseModel):
    """The admin-consent URL of calsync's multi-tenant app registration for the org's tenant."""

    org: str
    m365_tenant_id: str
    admin_consent_url: str


class SettingsView(ResponseModel):
    """An organisation's settings: every one of them, defaults included; never the webhook secret."""

    sync_mode: SyncMode
    push_appointments_by_default: bool
    use_organizer: bool
    create_from_outlook: bool
    create_prefix: str = Field(description="Only Outlook events whose subject starts with this become appointments")
    restricted_edit: RestrictedPolicy
    restricted_delete: RestrictedPolicy
    max_resources: int | None = Field(description="At most this many linked resources; null: no limit")
    allow_user_mailboxes_as_resources: bool
    webhook_url: str | None
    webhook_secret: None = Field(description="Always null: the secret is never answered (see webhookSecretSet)")
    webhook_secret_set: bool = Field(description="Whether a webhook secret is set")
    sync_tasks: bool = Field(description="Tasks go to Microsoft To Do and their changes come back")
    task_list_name: str = Field(description="The To Do list tasks go to (made on first use)")
    room_check_in: bool = Field(description="Room bookings nobody checked in to are released")
    release_after_minutes: int = Field(description="How long after its start a room booking waits for a check-in")


# -- worker and resource links -----------------------------------------------------------------
class SubscriptionView(ResponseModel):
    """The Graph subscription the link watches its mailbox by (shared by every link of the mailbox)."""

    id: str
    expires_at: dt.datetime


class AttentionView(ResponseModel):
    """Why an admin must look at the link: deletions the mass-deletion guard holds."""

    reason: str
    held_deletions: int = Field(description="Deletions held until POST …/confirm-deletions")


class LinkView(ResponseModel):
    """What worker and resource views share: the mailbox, its subscription and how the link is doing."""

    m365_user_id: str | None = Field(description="The mailbox's user (object) id in the tenant")
    display_name: str
    status: LinkStatus
    error: LinkError | None = Field(description="Why the link is in error; null unless status is error")
    mode: Literal["push", "polling"] | None = Field(description="How changes are noticed; null unless linked")
    subscription: SubscriptionView | None
    attention: AttentionView | None
    health: LinkHealth | None = Field(description="pending: just linked, its first round to come; null: unlinked")
    last_sync_at: dt.datetime | None = Field(description="The last successful delta round")
    last_notification_at: dt.datetime | None
    updated_at: dt.datetime


class WorkerView(LinkView):
    """A worker and the Microsoft 365 account it is linked to."""

    worker: str
    m365_account: str | None = Field(description="The address the booking product gave; null when unlinked")
    restricted: bool


class ResourceView(LinkView):
    """A resource (room or equipment) and the mailbox it is linked to."""

    resource: str
    mailbox: str | None = Field(description="The address the booking product (or the import) gave")
    kind: Literal["room", "equipment"]
    group: str | None = Field(description="The room list the resource was imported from")
    place: dict[str, Any] = Field(
        description="The room's places data as the last import read it (capacity, building, floorNumber, "
        "floorLabel, tags, bookingType, isWheelChairAccessible, where Microsoft 365 has them); empty for a "
        "resource linked by hand. Finding a room (POST …/suggestions) filters on it."
    )
    place_read_at: dt.datetime | None = Field(description="When an import last read the places data")


class WorkerPage(ResponseModel):
    """A page of workers, in id order."""

    workers: list[WorkerView]
    next: str | None = Field(description="The last worker id of this page, to pass as `after`; null on the last page")


class ResourcePage(ResponseModel):
    """A page of resources, in id order."""

    resources: list[ResourceView]
    next: str | None = Field(description="The last resource id of this page, to pass as `after`; null on the last page")


# -- batch link and resource import ------------------------------------------------------------
class BatchLinkError(ErrorInfo):
    """Why a row of a batch link did not link: invalid, a conflict, or the link's stored error."""

    code: Literal[LinkErrorCode, LinkConflictCode, "invalid_input"]
    field: str = absent("Invalid rows only: the field that is wrong, e.g. rows[3].m365Account")


class BatchLinkRow(ResponseModel):
    """What one row of a batch link did."""

    row: int = Field(description="The row's number in the batch, from 1")
    worker: JsonValue = Field(description="The row's worker id; an invalid row's `worker` as it was sent (or null)")
    status: Literal["linked", "error", "unlinked", "invalid"]
    changed: bool = Field(description="Whether the row changed the stored link")
    m365_user_id: str | None = absent("Rows that were linked, unlinked or stored in error (not invalid or conflicting)")
    error: BatchLinkError | None


class BatchLinkTotals(ResponseModel):
    """How many rows ended how."""

    rows: int
    linked: int
    unlinked: int
    error: int
    invalid: int
    changed: int
    unchanged: int


class BatchLinkResult(ResponseModel):
    """The outcome of a batch link: every row, in order, and the totals."""

    results: list[BatchLinkRow]
    totals: BatchLinkTotals


class ImportRowError(ErrorInfo):
    """Why an imported resource is in error or was skipped."""

    code: Literal[LinkErrorCode, LinkConflictCode, "resource_quota_exceeded"]


class ImportRow(ResponseModel):
    """One room or equipment mailbox of the tenant and what the import did with it."""

    resource: str = Field(description="The resource id: the one already linked to the mailbox, else its address")
    mailbox: str
    kind: Literal["room", "equipment"]
    group: str | None = Field(description="The room list the room is in")
    outcome: Literal["created", "updated", "unchanged", "skipped"]
    status: Literal["linked", "error"]
    error: ImportRowError | None


class ImportTotals(ResponseModel):
    """How many resources the import created, updated, left unchanged or skipped."""

    created: int
    updated: int
    unchanged: int
    skipped: int


class ImportJobView(ResponseModel):
    """A resource import job: discovery, then its rows as they are linked."""

    job: str
    kind: Literal["import"]
    state: Literal["queued", "running", "done", "failed"]
    total: int = Field(description="Resources found (0 until discovery finished)")
    processed: int
    totals: ImportTotals
    results: list[ImportRow]
    error: GraphErrorInfo | None = Field(description="Why discovery failed; null unless state is failed")
    created_at: dt.datetime


# -- appointments ----------------------------------------------------------------------------------
class PatternView(ResponseModel):
    """Graph's recurrencePattern, every field present (unused numbers 0)."""

    type: Literal["daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly"]
    interval: int
    month: int
    day_of_month: int
    first_day_of_week: Day
    index: Literal["first", "second", "third", "fourth", "last"]
    days_of_week: list[Day] = absent("Weekly and relative patterns only")


class RangeView(ResponseModel):
    """Graph's recurrenceRange, every field present."""

    type: Literal["endDate", "noEnd", "numbered"]
    start_date: dt.date = Field(description="The date of the first occurrence")
    end_date: dt.date = Field(description="The last date of an endDate range; 0001-01-01 for the other types")
    recurrence_time_zone: str = Field(description="A Windows time zone name")
    number_of_occurrences: int = Field(description="Of a numbered range; 0 for the other types")


class RecurrenceView(ResponseModel):
    """The series' pattern, as Graph's patternedRecurrence."""

    pattern: PatternView
    range: RangeView


class OccurrenceView(ResponseModel):
    """An exception of a series: one occurrence changed or cancelled, by its original date."""

    date: dt.date = Field(description="The occurrence's original date, in the appointment's time zone")
    state: Literal["synced", "pending"] = Field(description="synced once every target's series has it")
    cancelled: Literal[True] = absent("Present (true) when the occurrence is cancelled")
    title: str = absent()
    location: str = absent()
    body: str = absent()
    start: str = absent("The moved start: local wall-clock time in the appointment's time zone, no offset")
    end: str = absent("The moved end: local wall-clock time in the appointment's time zone, no offset")


class TargetView(ResponseModel):
    """The appointment in one calendar: the event calsync keeps there, or why there is none."""

    mailbox: str | None = Field(description="The calendar's address; null for a skipped entry")
    mailbox_id: str | None = Field(description="The mailbox's user id; null for a skipped entry")
    role: Literal["organizer", "copy", "resource", "attendee"] = Field(
        description="organizer (the meeting), copy, resource; a skipped worker's role in the appointment"
    )
    worker: str = absent("The worker whose calendar it is (one of worker and resource is present)")
    resource: str = absent("The resource whose calendar it is (one of worker and resource is present)")
    event_id: str | None
    state: Literal["synced", "pending", "failed", "skipped", "deleted_in_outlook"]
    responses: dict[str, str] | None = Field(
        description="Organizer meetings: each attendee's and room's answer by address (accepted, declined…)"
    )
    error: ErrorInfo | None = Field(description="Graph's failure (pending, failed) or why it is skipped (not_linked)")
    join_url: str = absent("Online (Teams) meetings: the join URL Graph gave the organizer's meeting")


class RoomPresenceView(ResponseModel):
    """A room booking's check-in (never released then), or its release."""

    resource: str
    occurrence: str = absent("for an occurrence of a series: its original date")
    state: Literal["checked_in", "releasing", "released"]
    at: dt.datetime = Field(description="When the booking took this state")


class AppointmentView(ResponseModel):
    """An appointment and how each of its calendars is doing."""

    appointment: str
    deleted: bool
    recurrence: RecurrenceView = absent("Series only")
    occurrences: list[OccurrenceView] = absent("Series only: its exceptions, by original date")
    targets: list[TargetView]
    sync_off: Literal[True] = absent("Present (true) when the org's syncMode is off: nothing was written")
    online_meeting: bool = Field(description="Whether it is asked for as an online (Teams) meeting")
    join_url: str | None = Field(description="The Teams join URL of the organizer's meeting; null until Graph gave one")
    rooms: list[RoomPresenceView] = absent("Its rooms' check-ins and releases (room check-in on)")


class OccurrencePage(ResponseModel):
    """A series' exceptions: its changed and cancelled occurrences, by original date."""

    appointment: str
    occurrences: list[OccurrenceView]


# -- bulk push jobs ---------------------------------------------------------------------------------
class JobErrorView(ResponseModel):
    """An appointment of the job that failed, or is still pending."""

    appointment: str
    code: str = absent("Why (missing when the target gave none)")
    message: str = absent("Missing for appointment_missing, and when the target gave none")


class StalledChunk(ResponseModel):
    """A chunk of 20 appointments that has not moved for 2 minutes: never started, or interrupted."""

    chunk: str = Field(description="The chunk's number, five digits")
    processed: int
    attempts: int
    last_progress_at: dt.datetime


class JobView(ResponseModel):
    """A bulk push job ("push my calendar") and its progress."""

    job: str
    kind: Literal["push"]
    worker: str
    state: Literal["queued", "running", "done"]
    total: int
    succeeded: int
    failed: int
    skipped: int
    pending: int
    processed: int = Field(description="Appointments that reached an outcome: succeeded + failed + skipped")
    errors: list[JobErrorView] = Field(description="Up to 100 appointments failed or still pending")
    stalled: list[StalledChunk]
    created_at: dt.datetime


class JobStatusView(RootModel[Annotated[JobView | ImportJobView, Field(discriminator="kind")]]):
    """A job: a bulk push (kind push) or a resource import (kind import)."""
