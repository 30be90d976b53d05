"""Every request body the API takes, as pydantic models: one source for the checks, the
field paths in error messages (shared.core.api_check) and the OpenAPI document.

Strict: a string is not a number, `1` is not `true`, and unknown fields are refused. What
needs more than one field or the org's state (end after start, a series' first date, the
webhook URL's scheme) is checked by the use case that reads the model."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from shared.core.api_check import fail
from shared.core.recurrence import DAYS, INDEXES, PATTERN_TYPES, RANGE_TYPES
from shared.core.validation import EMAIL, GUID, ID_BAD, MAX_ID, NO_SLASH

MAX_TITLE = 255
MAX_ATTENDEES = 500  # Graph/Exchange: at most 500 attendees per event
MAX_BATCH_ROWS = 1000
MAX_APPOINTMENTS = 5000


def _no_null_defaults(schema: dict[str, Any]) -> None:
    # UNSET fields default to None without admitting null: the schema shows no default.
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None and not _admits_null(prop):
            del prop["default"]


def _admits_null(prop: dict[str, Any]) -> bool:
    return prop.get("type") == "null" or any(p.get("type") == "null" for p in prop.get("anyOf", []))


class Body(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=False,
        json_schema_extra=_no_null_defaults,
    )

    def given(self) -> dict[str, Any]:
        """The fields the caller sent (by API name), for updates that change only those."""
        return self.model_dump(by_alias=True, exclude_unset=True)


# -- field types ----------------------------------------------------------------------------
def _tenant(value: str) -> str:
    if not GUID.match(value.strip()):
        raise fail("must be the Microsoft 365 tenant id (a GUID)")
    return value.strip().lower()


def _email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not EMAIL.match(value):
        raise fail(f"must be an e-mail address, got {value!r}")
    return value


def _account(value: str) -> str | None:
    return _email(value) if value.strip() else None  # blank unlinks


def _guest(value: str) -> str:
    return _email(value) if value.strip() else ""  # blank entries are dropped


def _non_blank(value: str) -> str:
    if not value.strip():
        raise fail("must not be blank")
    return value.strip()


def _ident(value: str) -> str:
    if not value.strip() or ID_BAD.search(value):
        raise fail(f"must be 1-{MAX_ID} printable characters")
    if "/" in value:
        raise fail(NO_SLASH)
    return value.strip()


def text(max_len: int, description: str | None = None) -> Any:
    return Field(default=None, max_length=max_len, description=description)


# A field that may be left out but not sent as null: typed without None, defaulting to None
# (pydantic does not check defaults), so an explicit null is refused like any wrong type.
UNSET: Any = None


Tenant = Annotated[str, AfterValidator(_tenant), Field(json_schema_extra={"format": "uuid"})]
EmailText = Annotated[str, StringConstraints(max_length=254), Field(json_schema_extra={"pattern": EMAIL.pattern})]
Account = Annotated[
    str,
    StringConstraints(max_length=254),
    AfterValidator(_account),
    Field(description="An e-mail address (the UPN or primary SMTP address); blank unlinks."),
]
Ident = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID), AfterValidator(_ident)]
Ref = Annotated[str, StringConstraints(max_length=MAX_ID), Field(description="an id; blank entries are dropped")]
Title = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TITLE), AfterValidator(_non_blank)]
DateTimeText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=40),
    Field(description="ISO 8601; without an offset it is wall-clock time in timeZone. All-day: a date."),
]
Day = Literal["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
assert set(Day.__args__) == set(DAYS)  # the two lists must agree


# -- organisations ----------------------------------------------------------------------------
class OrgBody(Body):
    """PUT /api/orgs/{org}: connect (or re-check) the org's Microsoft 365 tenant."""

    m365_tenant_id: Tenant = Field(alias="m365TenantId")
    display_name: str | None = text(256)


class SettingsBody(Body):
    """PUT /api/orgs/{org}/settings: only the settings named change."""

    sync_mode: Literal["twoWay", "oneWay", "off"] = UNSET
    push_appointments_by_default: bool = UNSET
    use_organizer: bool = UNSET
    create_from_outlook: bool = UNSET
    create_prefix: str | None = text(64)
    restricted_edit: Literal["detach", "ignore"] = UNSET
    restricted_delete: Literal["detach", "ignore"] = UNSET
    max_resources: int | None = Field(default=None, ge=0, description="null: no limit")
    allow_user_mailboxes_as_resources: bool = UNSET
    webhook_url: str | None = text(2048, "https (plain http only to localhost, in development); blank removes it")
    webhook_secret: str | None = text(256, "Standard Webhooks secret: whsec_ and base64 of 24-64 random bytes")
    sync_tasks: bool = Field(default=UNSET, description="Push tasks to Microsoft To Do and hear of their changes")
    task_list_name: Title = Field(default=UNSET, description="The To Do list tasks go to, made on first use")
    room_check_in: bool = Field(
        default=UNSET, description="Release a room booking nobody checked in to (POST …/check-in) in time"
    )
    release_after_minutes: int = Field(
        default=UNSET, ge=1, le=120, description="Minutes after a room booking starts without a check-in"
    )


# -- links ------------------------------------------------------------------------------------
class WorkerBody(Body):
    """PUT /api/orgs/{org}/workers/{worker}: link to an account; blank or null unlinks."""

    m365_account: Account | None = Field(default=None, alias="m365Account")
    display_name: str | None = text(256)
    restricted: bool = UNSET


class BatchRow(WorkerBody):
    """One row of POST …/workers/batch-link."""

    worker: Ident


class ResourceBody(Body):
    """PUT /api/orgs/{org}/resources/{resource}: link to a room or equipment mailbox."""

    mailbox: Account | None = None
    display_name: str | None = text(256)
    kind: Literal["room", "equipment"] | None = None


# -- appointments -----------------------------------------------------------------------------
class _GraphShape(Body):
    # Graph's own shape, with the `@odata.type` it may carry.
    odata_type: str | None = Field(default=None, alias="@odata.type")


class PatternBody(_GraphShape):
    """Graph's recurrencePattern."""

    type: Literal[PATTERN_TYPES]  # type: ignore[valid-type]
    interval: int = Field(ge=1, le=999)
    days_of_week: list[Day] | None = Field(default=None, max_length=7)
    day_of_month: int | None = Field(default=None, ge=0, le=31)
    month: int | None = Field(default=None, ge=0, le=12)
    index: Literal[INDEXES] | None = None  # type: ignore[valid-type]
    first_day_of_week: Day | None = None


class RangeBody(_GraphShape):
    """Graph's recurrenceRange; startDate is the appointment's start date (may be left out)."""

    type: Literal[RANGE_TYPES]  # type: ignore[valid-type]
    start_date: str | None = Field(default=None, json_schema_extra={"format": "date"})
    end_date: str | None = Field(default=None, json_schema_extra={"format": "date"})
    number_of_occurrences: int | None = Field(default=None, ge=0, le=999)
    recurrence_time_zone: str | None = Field(default=None, max_length=100)


class RecurrenceBody(_GraphShape):
    """Graph's patternedRecurrence: the series' rule."""

    pattern: PatternBody
    range: RangeBody


class AppointmentBody(Body):
    """PUT /api/orgs/{org}/appointments/{appointment}: create or update; the same body makes no change."""

    title: Title
    start: DateTimeText
    end: DateTimeText
    time_zone: str | None = Field(default=None, max_length=100, description="IANA or Windows name; default UTC")
    is_all_day: bool = False
    location: str | None = text(255)
    body: str | None = text(30_000)
    is_private: bool = False
    organizer: Ident | None = Field(default=None, description="A worker id: the meeting's organizer")
    attendees: list[Ref] | None = Field(default=None, max_length=MAX_ATTENDEES, description="Worker ids")
    guests: list[Annotated[str, AfterValidator(_guest)]] | None = Field(
        default=None, max_length=MAX_ATTENDEES, description="E-mail addresses of people outside the org"
    )
    resources: list[Ref] | None = Field(default=None, max_length=MAX_ATTENDEES, description="Resource ids")
    push: bool = Field(default=UNSET, description="Write it to Outlook; default: the org's setting")
    recurrence: RecurrenceBody | None = None
    online_meeting: bool = Field(
        default=False, description="A Teams meeting: the organizer's meeting gets a join URL (targets' joinUrl)"
    )


class BulkAppointment(AppointmentBody):
    """One appointment of a push-calendar request; the organizer defaults to the worker."""

    appointment: Ident


class PushCalendarBody(Body):
    """POST /api/orgs/{org}/workers/{worker}/push-calendar."""

    appointments: list[BulkAppointment] = Field(min_length=1, max_length=MAX_APPOINTMENTS)


class OccurrenceBody(Body):
    """PUT …/occurrences/{date}: what differs on this one date; at least one field."""

    model_config = ConfigDict(
        json_schema_extra=lambda schema: _no_null_defaults(schema) or schema.update(minProperties=1)
    )

    title: Title = UNSET
    start: DateTimeText = UNSET
    end: DateTimeText = UNSET
    location: str | None = text(255)
    body: str | None = text(30_000)


REQUESTS: dict[str, type[Body]] = {
    "put_org": OrgBody,
    "put_org_settings": SettingsBody,
    "put_worker": WorkerBody,
    "put_resource": ResourceBody,
    "put_appointment": AppointmentBody,
    "put_occurrence": OccurrenceBody,
    "push_calendar": PushCalendarBody,
}
