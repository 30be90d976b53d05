"""Request bodies through their models: a bad field is named by its full path and said in
plain words; strict types (no "1" for 1, no 1 for true); unknown fields refused."""

from __future__ import annotations

from typing import Any

import pytest

from shared.core.api_check import checked, field_path
from shared.core.api_requests import (
    AppointmentBody,
    BatchRow,
    OccurrenceBody,
    OrgBody,
    PushCalendarBody,
    SettingsBody,
    WorkerBody,
)
from shared.core.errors import InvalidInput

TENANT = "6E0F5A1C-3B7D-4C2A-9F11-C0A7050C0DE1"
APPT = {"title": "Fitting", "start": "2026-12-03T10:00", "end": "2026-12-03T11:00"}


def refused(model: Any, body: Any) -> tuple[str, str]:
    with pytest.raises(InvalidInput) as caught:
        checked(model, body)
    return caught.value.field, caught.value.message


def test_paths_name_list_items_and_nested_fields() -> None:
    assert field_path(("appointments", 2, "end")) == "appointments[2].end"
    assert field_path(("recurrence", "pattern", "daysOfWeek", 0)) == "recurrence.pattern.daysOfWeek[0]"
    assert field_path((), "rows[3].") == "rows[3]"
    assert field_path(()) == "body"


@pytest.mark.parametrize(
    ("model", "body", "field", "words"),
    [
        (OrgBody, {}, "m365TenantId", "is required"),
        (OrgBody, {"m365TenantId": "contoso"}, "m365TenantId", "GUID"),
        (OrgBody, {"m365TenantId": TENANT, "name": "x"}, "name", "unknown field"),
        (WorkerBody, {"m365Account": "not an address"}, "m365Account", "e-mail address"),
        (WorkerBody, {"m365Account": 7}, "m365Account", "must be a string"),
        (WorkerBody, {"restricted": "yes"}, "restricted", "true or false"),
        (WorkerBody, {"restricted": None}, "restricted", "true or false"),
        (SettingsBody, {"maxResources": "3"}, "maxResources", "whole number"),
        (SettingsBody, {"maxResources": True}, "maxResources", "whole number"),
        (SettingsBody, {"maxResources": -1}, "maxResources", "≥ 0"),
        (SettingsBody, {"syncMode": "both"}, "syncMode", "'twoWay', 'oneWay' or 'off'"),
        (SettingsBody, {"createPrefix": "x" * 65}, "createPrefix", "at most 64 characters"),
        (AppointmentBody, {**APPT, "title": "  "}, "title", "must not be blank"),
        (AppointmentBody, {**APPT, "isAllDay": 1}, "isAllDay", "true or false"),
        (AppointmentBody, {**APPT, "guests": ["ok@example.com", "nope"]}, "guests[1]", "e-mail address"),
        (AppointmentBody, {k: v for k, v in APPT.items() if k != "end"}, "end", "is required"),
        (
            AppointmentBody,
            {**APPT, "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["funday"]}}},
            "recurrence.pattern.daysOfWeek[0]",
            "'monday'",
        ),
        (
            AppointmentBody,
            {**APPT, "recurrence": {"pattern": {"type": "daily", "interval": 0}}},
            "recurrence.pattern.interval",
            "≥ 1",
        ),
        (PushCalendarBody, {"appointments": []}, "appointments", "at least 1"),
        (PushCalendarBody, {"appointments": [{"appointment": "a", **APPT}, 3]}, "appointments[1]", "an object"),
        (
            PushCalendarBody,
            {"appointments": [{"appointment": "a", **APPT}, {"appointment": "b", **APPT, "end": None}]},
            "appointments[1].end",
            "must be a string",
        ),
        # An id with "/" could never be addressed by a route (issue #25): refused where it enters.
        (PushCalendarBody, {"appointments": [{"appointment": "a/b", **APPT}]}, "appointments[0].appointment", "'/'"),
        (BatchRow, {"worker": "w/1"}, "worker", "'/'"),
        (OccurrenceBody, {"title": None}, "title", "must be a string"),
        (OccurrenceBody, {"colour": "red"}, "colour", "unknown field"),
    ],
)
def test_a_bad_field_is_named_with_its_path(model: Any, body: dict[str, Any], field: str, words: str) -> None:
    named, message = refused(model, body)
    assert named.startswith(field) and words in message, (named, message)
    assert message.startswith(named) or message.startswith("unknown field")


def test_a_body_that_is_not_an_object_is_refused_as_a_whole() -> None:
    assert refused(OrgBody, [TENANT]) == ("body", "the request body must be an object")


def test_good_bodies_keep_what_was_sent_and_only_that() -> None:
    org = checked(OrgBody, {"m365TenantId": f" {TENANT} "})
    assert org.m365_tenant_id == TENANT.lower() and org.display_name is None
    assert checked(WorkerBody, {"m365Account": "  "}).m365_account is None  # blank unlinks
    assert checked(SettingsBody, {"maxResources": None, "useOrganizer": False}).given() == {
        "maxResources": None,
        "useOrganizer": False,
    }
    appt = checked(
        AppointmentBody,
        {
            **APPT,
            "recurrence": {
                "pattern": {"type": "daily", "interval": 2},
                "range": {"type": "numbered", "numberOfOccurrences": 3},
            },
        },
    )
    assert appt.recurrence is not None
    assert appt.recurrence.given() == {
        "pattern": {"type": "daily", "interval": 2},
        "range": {"type": "numbered", "numberOfOccurrences": 3},
    }


def test_the_schema_says_what_the_checks_say() -> None:
    schema = OrgBody.model_json_schema(by_alias=True)
    assert schema["required"] == ["m365TenantId"] and schema["additionalProperties"] is False
    props = AppointmentBody.model_json_schema(by_alias=True)["properties"]
    assert props["title"]["maxLength"] == 255 and props["isAllDay"]["type"] == "boolean"


def test_an_id_with_a_slash_is_refused_wherever_it_enters() -> None:
    from shared.core.validation import identifier

    with pytest.raises(InvalidInput) as caught:
        identifier("rows[2].worker", "team/alice")
    assert caught.value.field == "rows[2].worker" and "'/'" in caught.value.message
