"""Every HTTP answer of the API as pydantic models, for the OpenAPI document.

`RESPONSES` maps each HTTP function (by its Python name in functions/*.py) to its answers:
status → model, None for an empty body. `ERRORS` lists the (status, problem code) pairs each
can answer as a `Problem`; the host's 401 `unauthorized` is not listed (the document adds it
to every function that needs a key). `MEDIA_TYPES` names the answers that are not
application/json. The models of organisations, links, appointments and jobs are in
shared.core.api_views; here are the change feed, health, deletions and problems."""

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field, JsonValue, RootModel

from shared.core.api_availability import AvailabilityView
from shared.core.api_suggestions import SuggestionsView
from shared.core.api_tasks import TaskView
from shared.core.api_views import (
    AppointmentView,
    BatchLinkResult,
    ConsentUrlView,
    ImportJobView,
    JobStatusView,
    JobView,
    LinkError,
    OccurrencePage,
    OrgPage,
    OrgStatus,
    OrgView,
    ResourcePage,
    ResourceView,
    ResponseModel,
    RoomPresenceView,
    SettingsView,
    WorkerPage,
    WorkerView,
    absent,
)
from shared.core.settings import AuthMode

ChangeType = Literal[
    "updated",
    "deleted",
    "responded",
    "created",
    "attendee_removed",
    "restored",
    "task_updated",
    "task_completed",
    "task_deleted",
    "occurrence_updated",
    "occurrence_deleted",
    "room_released",
]


# -- the change feed ---------------------------------------------------------------------------------
class ChangeData(ResponseModel):
    """What a change says beyond its keys; which fields are present depends on its type (docs/api.md)."""

    title: str = absent()
    start: str = absent("UTC, `…Z`; a date for an all-day event")
    end: str = absent("UTC, `…Z`; a date for an all-day event")
    is_all_day: bool = absent()
    location: str = absent()
    body: str = absent()
    is_private: bool = absent()
    join_url: str = absent("An online (Teams) meeting's join URL, as Graph gave it")
    due_date: str | None = absent("task_*: the task's due date, YYYY-MM-DD")
    reminder_at: str | None = absent("task_*: its reminder, UTC")
    importance: str = absent("task_*: low, normal or high")
    status: str = absent("task_*: notStarted, inProgress, completed, waitingOnOthers or deferred")
    completed_on: str | None = absent("task_completed: the day it was completed in To Do, YYYY-MM-DD")
    changed: list[str] = absent("updated, occurrence_updated, restored: the fields that changed")
    response: str = absent("responded: accepted, tentativelyAccepted or declined")
    address: str = absent("responded: who answered")
    occurrence: str | None = absent("The occurrence's original date (YYYY-MM-DD, the series' time zone)")
    reason: Literal["deleted_in_outlook", "edited_in_outlook", "left_the_meeting"] = absent("attendee_removed")
    detached_from: str = absent("created: the appointment a restricted worker's personal copy was detached from")
    deleted: bool = absent("restored: whether the event had been deleted in Outlook")
    organizer: str = absent("created: the organizer's address")
    workers: list[str] = absent("created: the org's linked workers in the meeting")
    resources: list[str] = absent("created: the org's linked resources in the meeting")
    recurrence: dict[str, JsonValue] | None = absent("A series: Graph's patternedRecurrence")
    exceptions: list[dict[str, JsonValue]] = absent("created series: the occurrences already changed")


class ChangeView(ResponseModel):
    """One change heard from Outlook, in feed order (the webhook sends the same items)."""

    cursor: str = Field(description="This change's position: opaque, to de-duplicate by")
    type: ChangeType
    appointment: str | None
    worker: str | None = Field(description="Whose calendar reported it (or who answered); null for a resource's")
    resource: str | None
    mailbox: str | None = Field(description="The reporting mailbox's user id")
    event_id: str | None = Field(description="The Outlook event's id; a task change's: the To Do task's id")
    task: str | None = Field(description="task_* changes: the task's id; null otherwise")
    at: dt.datetime
    data: ChangeData


class ChangePage(ResponseModel):
    """A page of the org's change feed."""

    changes: list[ChangeView]
    next: str = Field(description="The cursor to pass as `after`; your `after` again when nothing is new")


class ConfirmDeletionsResult(ResponseModel):
    """Held deletions confirmed: they entered the feed, and the link's attention cleared."""

    released: int = Field(description="How many held deletions entered the feed")


class WorkerDeletionsConfirmed(ConfirmDeletionsResult):
    """A worker's held deletions confirmed: they entered the feed, and its attention cleared."""

    worker: str


class ResourceDeletionsConfirmed(ConfirmDeletionsResult):
    """A resource's held deletions confirmed: they entered the feed, and its attention cleared."""

    resource: str


class OrgDeleted(ResponseModel):
    """The organisation and everything stored for it are gone (events in calendars stay)."""

    org: str
    deleted: Literal[True]
    subscriptions_deleted: int = Field(description="Links that held a Graph subscription")


# -- keys ---------------------------------------------------------------------------------------------
class OrgKeyView(ResponseModel):
    """An org key as listed: never its secret."""

    id: str
    prefix: str = Field(description="csk_<id>: how the key starts, to recognise it (e.g. in a scanner's report)")
    created_at: dt.datetime


class NewOrgKeyView(OrgKeyView):
    """A key just issued: `key` is the secret, shown this once (calsync keeps only a hash)."""

    key: str = Field(description="Send as `Authorization: Bearer <key>`")


class OrgKeyList(ResponseModel):
    """The org's keys, oldest first."""

    keys: list[OrgKeyView]


class CredentialView(ResponseModel):
    """What the key a request carries is."""

    kind: Literal["platform", "org"]
    org: str | None = Field(default=None, description="The org an org key reaches")
    prefix: str | None = None


# -- health -------------------------------------------------------------------------------------------
class LinkHealthCounts(ResponseModel):
    """How many of the org's links are in each health state (unlinked ones are not counted)."""

    healthy: int
    pending: int
    stale: int
    attention: int
    error: int


class UnhealthyLink(ResponseModel):
    """A link that is in error, needs attention or is stale."""

    worker: str = absent("One of worker and resource is present")
    resource: str = absent("One of worker and resource is present")
    account: str | None = Field(description="The worker's account or the resource's mailbox")
    health: Literal["error", "attention", "stale"]
    error: LinkError | None = Field(description="null unless health is error")
    attention: str | None = Field(description="Why an admin must look (the attention's reason)")
    last_sync_at: dt.datetime | None
    subscription_expires_at: dt.datetime | None
    since: dt.datetime = Field(description="When the link last changed")


class OrgHealthView(ResponseModel):
    """How an organisation's links are doing, the worst first."""

    org: str
    status: OrgStatus
    links: LinkHealthCounts
    worst: list[UnhealthyLink] = Field(description="Up to 20: errors, then attention, then stale")


class CheckView(ResponseModel):
    """Whether calsync reaches one of its stores."""

    status: Literal["ok", "unreachable"]
    reason: str = absent("Unreachable only: the error")


class HealthChecks(ResponseModel):
    """The storage checks."""

    tables: CheckView
    queues: CheckView


class StorageView(ResponseModel):
    """Where Table and Queue storage are (never the account key)."""

    mode: Literal["connectionString", "identity"]
    account: str | None = absent("connectionString mode only")
    table_endpoint: str | None
    queue_endpoint: str | None


class DeltaWindowDays(ResponseModel):
    """The calendar window delta rounds read, in days before and after today."""

    back: int
    ahead: int


class DeploymentSettings(ResponseModel):
    """The app settings in effect (never a secret)."""

    storage: StorageView
    graph_base_url: str
    graph_auth_mode: AuthMode
    graph_client_id: str | None
    public_base_url: str
    table_prefix: str
    function_key_configured: bool
    delta_window_days: DeltaWindowDays
    renew_horizon_hours: int


class ServiceHealthView(ResponseModel):
    """The deployment's health: whether storage is reachable (200 healthy, 503 unhealthy)."""

    status: Literal["healthy", "unhealthy"]
    checks: HealthChecks
    settings: DeploymentSettings


class OpenApiDocument(ResponseModel):
    """This API's OpenAPI 3.1 document."""

    openapi: str
    info: dict[str, JsonValue]
    servers: list[dict[str, JsonValue]]
    security: list[dict[str, JsonValue]]
    paths: dict[str, JsonValue]
    components: dict[str, JsonValue]


class ValidationToken(RootModel[str]):
    """Graph's validation token, echoed as text/plain."""


# -- problems -------------------------------------------------------------------------------------------
class HeldBy(ResponseModel):
    """The worker or resource that holds the mailbox."""

    kind: Literal["worker", "resource"]
    id: str


class Problem(ResponseModel):
    """An RFC 9457 problem (application/problem+json) with a stable machine-readable `code`."""

    type: str = Field(pattern=r"^urn:calsync:problem:[a-z0-9_]+$", description="urn:calsync:problem:<code>")
    title: str = Field(description="The code in words")
    status: int
    detail: str = Field(description="What was wrong, naming the field")
    code: str
    field: str = absent("invalid_input: the field (or query parameter, or `body`) that is wrong, by its path")
    held_by: HeldBy = absent("account_in_use, mailbox_in_use: who holds the mailbox")
    limit: int = absent("resource_quota_exceeded: the org's maxResources")
    setting: str = absent("invalid_setting (a deployment without a valid app setting): the setting")


# -- every HTTP function's answers ---------------------------------------------------------------------
RESPONSES: dict[str, dict[int, type[BaseModel] | None]] = {
    "list_orgs": {200: OrgPage},
    "put_org": {200: OrgView},
    "get_org": {200: OrgView},
    "delete_org": {200: OrgDeleted},
    "get_consent_url": {200: ConsentUrlView},
    "get_org_settings": {200: SettingsView},
    "put_org_settings": {200: SettingsView},
    "batch_link_workers": {200: BatchLinkResult},
    "put_worker": {200: WorkerView},
    "get_worker": {200: WorkerView},
    "delete_worker": {204: None},
    "list_workers": {200: WorkerPage},
    "import_resources": {200: ImportJobView, 202: ImportJobView},
    "put_resource": {200: ResourceView},
    "get_resource": {200: ResourceView},
    "delete_resource": {204: None},
    "list_resources": {200: ResourcePage},
    "put_appointment": {200: AppointmentView, 202: AppointmentView},
    "delete_appointment": {200: AppointmentView, 202: AppointmentView},
    "get_appointment": {200: AppointmentView},
    "check_in_room": {200: RoomPresenceView},
    "put_occurrence": {200: AppointmentView, 202: AppointmentView},
    "cancel_occurrence": {200: AppointmentView, 202: AppointmentView},
    "list_occurrences": {200: OccurrencePage},
    "put_task": {200: TaskView, 202: TaskView},
    "delete_task": {200: TaskView, 202: TaskView},
    "get_task": {200: TaskView},
    "push_calendar": {202: JobView},
    "get_availability": {200: AvailabilityView},
    "find_meeting_times": {200: SuggestionsView},
    "get_job": {200: JobStatusView},
    "get_changes": {200: ChangePage},
    "confirm_worker_deletions": {200: WorkerDeletionsConfirmed},
    "confirm_resource_deletions": {200: ResourceDeletionsConfirmed},
    "get_org_health": {200: OrgHealthView},
    "health_check": {200: ServiceHealthView, 503: ServiceHealthView},
    "graph_notifications": {200: ValidationToken, 202: None},
    "graph_lifecycle": {200: ValidationToken, 202: None},
    "openapi_document": {200: OpenApiDocument},
    "create_org_key": {201: NewOrgKeyView},
    "list_org_keys": {200: OrgKeyList},
    "revoke_org_key": {204: None},
    "get_credential": {200: CredentialView},
}

# Answers that are not application/json (problems are application/problem+json).
MEDIA_TYPES: dict[str, dict[int, str]] = {
    "graph_notifications": {200: "text/plain"},
    "graph_lifecycle": {200: "text/plain"},
}

Error = tuple[int, str]
# Anything unexpected (logged); storage unreachable after the SDK's retries (with Retry-After).
_500: list[Error] = [(500, "internal_error"), (503, "storage_unavailable")]
_BAD: list[Error] = [(400, "invalid_input")]
# An {org} (or other id) over Table Storage's 1 KiB key is refused before it is looked up.
_ORG: list[Error] = [(400, "key_too_long"), (404, "org_not_found")]
_RACE: list[Error] = [(409, "concurrent_update")]  # a conditional write lost to a concurrent one
_LINK: list[Error] = [(409, "link_in_progress"), (409, "account_ambiguous"), *_RACE]
_REFS: list[Error] = [(400, "unknown_worker"), (400, "unknown_resource")]
_ROOMS: list[Error] = [(409, "check_in_off"), (409, "room_released")]
_SUGGEST: list[Error] = [(409, "worker_not_linked"), (409, "calendar_unavailable"), (503, "graph_unavailable")]
_TASKS: list[Error] = [(409, "tasks_off"), (409, "sync_off")]
_SERIES: list[Error] = [
    (404, "appointment_not_found"),
    (404, "occurrence_not_found"),
    (409, "not_a_series"),
    (409, "occurrence_cancelled"),
]


def _errors(*parts: list[Error] | Error) -> list[Error]:
    found: set[Error] = set()
    for part in parts:
        found.update(part if isinstance(part, list) else [part])
    return sorted(found)


ERRORS: dict[str, list[Error]] = {
    "list_orgs": _errors(_BAD, (400, "key_too_long"), _500),  # an `after` of 400 characters, escaped
    "put_org": _errors(_BAD, _500),
    "get_org": _errors(_ORG, _500),
    "delete_org": _errors(_ORG, _RACE, _500),
    "get_consent_url": _errors(_BAD, _ORG, _500),
    "get_org_settings": _errors(_ORG, _500),
    "put_org_settings": _errors(_BAD, _ORG, _RACE, _500),
    "batch_link_workers": _errors(_BAD, _ORG, (413, "batch_too_large"), _RACE, _500),
    "put_worker": _errors(_BAD, _ORG, (409, "account_in_use"), _LINK, _500),
    "get_worker": _errors(_ORG, (404, "worker_not_found"), _500),
    "delete_worker": _errors(_ORG, _RACE, _500),
    "list_workers": _errors(_BAD, _ORG, _500),
    "import_resources": _errors(_ORG, _500),
    "put_resource": _errors(_BAD, _ORG, (409, "mailbox_in_use"), (409, "resource_quota_exceeded"), _LINK, _500),
    "get_resource": _errors(_ORG, (404, "resource_not_found"), _500),
    "delete_resource": _errors(_ORG, _RACE, _500),
    "list_resources": _errors(_BAD, _ORG, _500),
    "put_appointment": _errors(_BAD, _REFS, _ORG, _500),
    "delete_appointment": _errors(_BAD, _ORG, _500),
    "get_appointment": _errors(_ORG, (404, "appointment_not_found"), _500),
    "check_in_room": _errors(_BAD, _ORG, (404, "appointment_not_found"), _ROOMS, _RACE, _500),
    "put_occurrence": _errors(_BAD, _REFS, _ORG, _SERIES, _500),
    "cancel_occurrence": _errors(_BAD, _REFS, _ORG, _SERIES, _500),
    "list_occurrences": _errors(_BAD, _ORG, (404, "appointment_not_found"), _500),
    "put_task": _errors(_BAD, _ORG, (400, "unknown_worker"), _TASKS, (409, "worker_not_linked"), _RACE, _500),
    "delete_task": _errors(_BAD, _ORG, _TASKS, (404, "task_not_found"), _RACE, _500),
    "get_task": _errors(_BAD, _ORG, (404, "task_not_found"), _500),
    "push_calendar": _errors(
        _BAD, _REFS, _ORG, (404, "worker_not_found"), (413, "batch_too_large"), (500, "store_error"), _500
    ),
    # Unknown, unlinked and failing mailboxes are named in the 200 answer's `unavailable`.
    "get_availability": _errors(_BAD, _ORG, _500),
    # Optional workers and rooms that cannot be read are named in `unavailable`; a required
    # worker who cannot be is the request's failure.
    "find_meeting_times": _errors(_BAD, _ORG, _REFS, _SUGGEST, _500),
    # No org check: an unknown org's job is job_not_found.
    "get_job": _errors((400, "key_too_long"), (404, "job_not_found"), _500),
    "get_changes": _errors(_BAD, _ORG, _500),
    "confirm_worker_deletions": _errors(_ORG, (404, "worker_not_found"), _RACE, (500, "store_error"), _500),
    "confirm_resource_deletions": _errors(_ORG, (404, "resource_not_found"), _RACE, (500, "store_error"), _500),
    "get_org_health": _errors(_ORG, _500),
    "health_check": _errors(_500),
    # A queue (or table) failure is a 500: Graph delivers the notifications again.
    "graph_notifications": _errors(_BAD, (400, "key_too_long"), _500),
    "graph_lifecycle": _errors(_BAD, (400, "key_too_long"), _500),
    # Not an `operation`: a failure is the host's own 500, not a problem.
    "openapi_document": [],
    "create_org_key": _errors(_ORG, _500),
    "list_org_keys": _errors(_ORG, _500),
    "revoke_org_key": _errors(_BAD, _ORG, (404, "key_not_found"), _500),
    "get_credential": _errors(_500),
}
