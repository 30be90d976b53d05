"""Recurring appointments through the local host, Azurite and the emulator: one series master
per target, exceptions and cancellations on its instances, idempotent like single ones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.integration.conftest import OrgFixture, Stack
from tests.integration.test_push import OUTLOOK_APP, writes

D = "fabrikam.test"


def first_monday() -> date:
    soon = datetime.now(UTC).date() + timedelta(days=7)
    return soon + timedelta(days=(7 - soon.weekday()) % 7)


MONDAY = first_monday()


def weekly(count: int = 10, **overrides: Any) -> dict[str, Any]:
    body = {
        "title": "Team meeting",
        "start": f"{MONDAY}T09:00:00",
        "end": f"{MONDAY}T10:00:00",
        "timeZone": "Europe/Oslo",
        "organizer": "w-ada",
        "attendees": ["w-bob"],
        "resources": ["r-room0"],
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
            "range": {"type": "numbered", "numberOfOccurrences": count},
        },
    }
    body.update(overrides)
    return body


def graph(stack: Stack, org: OrgFixture) -> httpx.Client:
    client = stack.graph_as(org.tenant, OUTLOOK_APP)  # reads that do not use calsync's mailbox budget
    client.headers["Prefer"] = 'IdType="ImmutableId", outlook.timezone="UTC"'
    return client


def view(stack: Stack, org: OrgFixture, upn: str) -> list[dict[str, Any]]:
    """The mailbox's calendarView over the series' weeks: occurrences and exceptions."""
    start, end = MONDAY - timedelta(days=1), MONDAY + timedelta(weeks=12)
    with graph(stack, org) as g:
        r = g.get(
            f"/users/{org.users[f'{upn}@{D}']}/calendarView",
            params={"startDateTime": f"{start}T00:00:00Z", "endDateTime": f"{end}T00:00:00Z", "$top": 100},
        )
        assert r.status_code == 200, r.text
        return [e for e in r.json()["value"] if not e.get("isCancelled")]


def instance_on(g: httpx.Client, mailbox: str, master: str, day: date) -> dict[str, Any]:
    """The series' one instance on `day` (UTC)."""
    params = {"startDateTime": f"{day}T00:00:00Z", "endDateTime": f"{day}T23:59:00Z"}
    [one] = g.get(f"/users/{mailbox}/events/{master}/instances", params=params).json()["value"]
    return one


def masters(stack: Stack, org: OrgFixture, upn: str) -> list[dict[str, Any]]:
    with graph(stack, org) as g:
        found = g.get(f"/users/{org.users[f'{upn}@{D}']}/events", params={"$top": 100}).json()["value"]
    return [e for e in found if e["type"] == "seriesMaster"]


def test_a_weekly_series_with_a_moved_and_a_cancelled_occurrence(linked: OrgFixture, stack: Stack) -> None:
    r = stack.api.put(f"/orgs/{linked.id}/appointments/team", json=weekly())
    assert r.status_code == 200, r.text
    assert r.json()["recurrence"]["pattern"]["daysOfWeek"] == ["monday"]
    assert len(masters(stack, linked, "ada")) == 1
    for upn in ("ada", "bob", "room0"):  # Exchange copies the series to the attendee and the room
        assert len(view(stack, linked, upn)) == 10, upn

    second, third = MONDAY + timedelta(weeks=1), MONDAY + timedelta(weeks=2)
    r = stack.api.put(
        f"/orgs/{linked.id}/appointments/team/occurrences/{second}",
        json={"start": f"{second}T13:00:00", "title": "Team meeting (afternoon)"},
    )
    assert r.status_code == 200, r.text
    r = stack.api.delete(f"/orgs/{linked.id}/appointments/team/occurrences/{third}")
    assert r.status_code == 200, r.text
    listed = stack.api.get(f"/orgs/{linked.id}/appointments/team/occurrences").json()["occurrences"]
    assert [(o["date"], o.get("cancelled", False), o["state"]) for o in listed] == [
        (str(second), False, "synced"),
        (str(third), True, "synced"),
    ]
    instances = view(stack, linked, "ada")
    assert len(instances) == 9
    [moved] = [e for e in instances if e["type"] == "exception"]
    afternoon = datetime.combine(second, time(13), ZoneInfo("Europe/Oslo")).astimezone(UTC)
    assert moved["subject"] == "Team meeting (afternoon)"
    assert moved["start"]["dateTime"].startswith(afternoon.strftime("%Y-%m-%dT%H:%M"))
    assert len(view(stack, linked, "bob")) == 9  # the attendee's copy follows

    # The same again changes nothing in Outlook.
    stack.graph.delete("/_emulator/requests")
    assert stack.api.put(f"/orgs/{linked.id}/appointments/team", json=weekly()).status_code == 200
    r = stack.api.put(
        f"/orgs/{linked.id}/appointments/team/occurrences/{second}",
        json={"start": f"{second}T13:00:00", "title": "Team meeting (afternoon)"},
    )
    assert r.status_code == 200 and writes(stack, linked) == 0
    # A cancelled occurrence stays cancelled: Outlook has no way back.
    r = stack.api.put(f"/orgs/{linked.id}/appointments/team/occurrences/{third}", json={"title": "Back?"})
    assert r.status_code == 409 and r.json()["code"] == "occurrence_cancelled"


def test_removing_the_recurrence_makes_it_one_appointment_again(linked: OrgFixture, stack: Stack) -> None:
    assert stack.api.put(f"/orgs/{linked.id}/appointments/solo", json=weekly(4)).status_code == 200
    single = {k: v for k, v in weekly().items() if k != "recurrence"}
    r = stack.api.put(f"/orgs/{linked.id}/appointments/solo", json=single)
    assert r.status_code == 200, r.text
    assert masters(stack, linked, "ada") == []
    assert [e["type"] for e in view(stack, linked, "ada")] == ["singleInstance"]


def test_a_new_pattern_updates_the_series(linked: OrgFixture, stack: Stack) -> None:
    assert stack.api.put(f"/orgs/{linked.id}/appointments/pattern", json=weekly(4)).status_code == 200
    [master] = masters(stack, linked, "ada")
    r = stack.api.put(f"/orgs/{linked.id}/appointments/pattern", json=weekly(6))
    assert r.status_code == 200, r.text
    [again] = masters(stack, linked, "ada")
    assert again["id"] == master["id"]  # the same series, patched
    assert len(view(stack, linked, "ada")) == 6


def test_a_bad_recurrence_is_400_naming_the_field_and_writes_nothing(linked: OrgFixture, stack: Stack) -> None:
    stack.graph.delete("/_emulator/requests")
    cases = [
        ({"pattern": {"type": "weekly", "interval": 1}, "range": {"type": "noEnd"}}, "recurrence.pattern.daysOfWeek"),
        (
            {"pattern": {"type": "daily", "interval": 1}, "range": {"type": "numbered", "numberOfOccurrences": 1000}},
            "recurrence.range.numberOfOccurrences",
        ),
        (
            {"pattern": {"type": "daily", "interval": 1}, "range": {"type": "endDate", "endDate": "2000-01-01"}},
            "recurrence.range.endDate",
        ),
        (
            {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]}, "range": {"type": "noEnd"}},
            "start",  # a Monday start does not fit "every Tuesday"
        ),
    ]
    for recurrence, field in cases:
        r = stack.api.put(f"/orgs/{linked.id}/appointments/bad", json=weekly(recurrence=recurrence))
        assert r.status_code == 400 and r.json()["field"] == field, (field, r.text)
    assert stack.api.get(f"/orgs/{linked.id}/appointments/bad").status_code == 404
    assert writes(stack, linked) == 0
    r = stack.api.put(f"/orgs/{linked.id}/appointments/bad/occurrences/{MONDAY}", json={"title": "x"})
    assert r.status_code == 404


def test_an_outlook_series_in_a_linked_room_is_one_appointment_both_ways(linked: OrgFixture, stack: Stack) -> None:
    from tests.integration.conftest import now
    from tests.integration.test_inbound import changes

    ada = linked.users[f"ada@{D}"]
    since = now()
    with graph(stack, linked) as g:
        r = g.post(
            f"/users/{ada}/events",
            json={
                "subject": "Board",
                "start": {"dateTime": f"{MONDAY}T08:00:00", "timeZone": "UTC"},
                "end": {"dateTime": f"{MONDAY}T09:00:00", "timeZone": "UTC"},
                "attendees": [{"emailAddress": {"address": f"room0@{D}"}, "type": "resource"}],
                "recurrence": {
                    "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
                    "range": {"type": "numbered", "startDate": str(MONDAY), "numberOfOccurrences": 8},
                },
            },
        )
        assert r.status_code == 201, r.text
        master = r.json()
        stack.notified_round(linked, "w-ada", since)
        stack.notified_round(linked, "r-room0", since, kind="resource")
        [created] = [c for c in changes(stack, linked) if c["type"] == "created"]
        assert created["data"]["recurrence"]["pattern"]["type"] == "weekly"
        assert created["data"]["recurrence"]["range"]["numberOfOccurrences"] == 8
        assert (created["data"]["workers"], created["data"]["resources"]) == (["w-ada"], ["r-room0"])

        # One occurrence moved in Outlook: one occurrence_updated, with its original date.
        third = MONDAY + timedelta(weeks=2)
        instances = g.get(
            f"/users/{ada}/events/{master['id']}/instances",
            params={"startDateTime": f"{third}T00:00:00Z", "endDateTime": f"{third}T23:59:00Z"},
        ).json()["value"]
        [occurrence] = instances
        edited = now()
        r = g.patch(f"/users/{ada}/events/{occurrence['id']}", json={"subject": "Board (budget)"})
        assert r.status_code == 200, r.text
        stack.notified_round(linked, "w-ada", edited)
        stack.notified_round(linked, "r-room0", edited, kind="resource")
        feed = changes(stack, linked)
        [updated] = [c for c in feed if c["type"] == "occurrence_updated"]
        assert updated["appointment"] == created["appointment"]
        assert (updated["data"]["occurrence"], updated["data"]["title"]) == (str(third), "Board (budget)")
        assert updated["data"]["changed"] == ["title"]  # not every field of a bare delta item
        assert not [c for c in feed if c["type"] in ("updated", "deleted")]

        # The series deleted: one deletion of the appointment, nothing held.
        deleted_at = now()
        assert g.delete(f"/users/{ada}/events/{master['id']}").status_code == 204
        stack.notified_round(linked, "w-ada", deleted_at)
        stack.notified_round(linked, "r-room0", deleted_at, kind="resource")
    feed = changes(stack, linked)
    assert [c["appointment"] for c in feed if c["type"] == "deleted"] == [created["appointment"]]
    assert len([c for c in feed if c["type"] == "created"]) == 1
    assert stack.link(linked, "w-ada")["attention"] is None


def test_a_room_declining_our_series_is_one_responded(linked: OrgFixture, stack: Stack) -> None:
    from tests.integration.conftest import now
    from tests.integration.test_inbound import changes

    # The room is already booked on the series' third Monday: it declines the whole series.
    third = MONDAY + timedelta(weeks=2)
    blocker = {"title": "Blocker", "start": f"{third}T09:00:00", "end": f"{third}T10:00:00", "timeZone": "Europe/Oslo"}
    r = stack.api.put(f"/orgs/{linked.id}/appointments/blocker", json={**blocker, "resources": ["r-room0"]})
    assert r.status_code == 200, r.text
    since = now()
    r = stack.api.put(f"/orgs/{linked.id}/appointments/declined", json=weekly(4))
    assert r.status_code == 200, r.text
    stack.notified_round(linked, "w-ada", since)
    feed = [c for c in changes(stack, linked) if c["type"] == "responded" and c["appointment"] == "declined"]
    assert [(c["resource"], c["data"]["response"], c["data"].get("occurrence")) for c in feed] == [
        ("r-room0", "declined", None)
    ]
    [target] = stack.api.get(f"/orgs/{linked.id}/appointments/declined").json()["targets"]
    assert target["responses"][f"room0@{D}"] == "declined"


def test_one_way_puts_an_edited_occurrence_back_and_makes_a_series_with_a_cancelled_one_again(
    linked: OrgFixture, stack: Stack
) -> None:
    """#23 item 4: in oneWay an occurrence of our series edited or cancelled in Outlook was
    neither reported nor undone."""
    from tests.integration.conftest import eventually, now
    from tests.integration.test_inbound import changes
    from tests.integration.test_maintenance import reconcile

    stack.api.put(f"/orgs/{linked.id}/settings", json={"syncMode": "oneWay"})
    since = now()
    series = weekly(count=4, attendees=[], resources=[], timeZone="UTC")
    pushed = stack.api.put(f"/orgs/{linked.id}/appointments/weekly", json=series).json()
    ada, master = linked.users[f"ada@{D}"], pushed["targets"][0]["eventId"]
    stack.notified_round(linked, "w-ada", since)
    second, third = MONDAY + timedelta(weeks=1), MONDAY + timedelta(weeks=2)

    def shown(day: date) -> list[tuple[str, str]]:
        found = view(stack, linked, "ada")
        return [(e["subject"], e["start"]["dateTime"][:16]) for e in found if e["start"]["dateTime"][:10] == str(day)]

    with graph(stack, linked) as g:

        def instance(day: date) -> dict[str, Any]:
            found = g.get(
                f"/users/{ada}/events/{master}/instances",
                params={"startDateTime": f"{day}T00:00:00Z", "endDateTime": f"{day}T23:59:00Z"},
            ).json()["value"]
            return found[0]

        edited = now()
        moved = {
            "subject": "Moved in Outlook",
            "start": {"dateTime": f"{second}T14:00:00", "timeZone": "UTC"},
            "end": {"dateTime": f"{second}T15:00:00", "timeZone": "UTC"},
        }
        r = g.patch(f"/users/{ada}/events/{instance(second)['id']}", json=moved)
        assert r.status_code == 200, r.text
        stack.notified_round(linked, "w-ada", edited)
        # The occurrence is put back as the series has it, once.
        eventually(lambda: shown(second) == [("Team meeting", f"{second}T09:00")], what="occurrence restored")

        cancelled = now()
        assert g.delete(f"/users/{ada}/events/{instance(third)['id']}").status_code == 204
        stack.notified_round(linked, "w-ada", cancelled)
        # Graph cannot bring one occurrence back: the series is made again, whole.
        eventually(lambda: shown(third) == [("Team meeting", f"{third}T09:00")], what="series made again")
    assert len(masters(stack, linked, "ada")) == 1
    assert len(view(stack, linked, "ada")) == 4
    settled = now()
    reconcile(stack, linked)  # one more round of the calendar: what was put back is no news
    stack.wait_for_round(linked, "w-ada", settled)
    assert [(c["type"], c["data"]) for c in changes(stack, linked)] == [
        ("restored", {"deleted": False, "changed": ["title", "start", "end"], "occurrence": str(second)}),
        ("restored", {"deleted": True, "changed": [], "occurrence": str(third)}),
    ]


def test_an_outlook_edit_of_our_series_whose_occurrences_are_all_exceptions_is_reported(
    linked: OrgFixture, stack: Stack
) -> None:
    """The soak's unreported series edits: once every occurrence is an exception, an edit of
    the master alone changes no occurrence, so delta lists nothing (here it lists no master
    either: deltaSeriesMasters off); rounds ask /events which masters changed."""
    from tests.integration.conftest import now
    from tests.integration.test_inbound import changes

    stack.graph.post("/_emulator/faults", json={"deltaSeriesMasters": False})
    try:
        since = now()
        series = weekly(count=2, attendees=[], resources=[], timeZone="UTC")
        pushed = stack.api.put(f"/orgs/{linked.id}/appointments/pair", json=series).json()
        ada, master = linked.users[f"ada@{D}"], pushed["targets"][0]["eventId"]
        stack.notified_round(linked, "w-ada", since)
        with graph(stack, linked) as g:
            for day in (MONDAY, MONDAY + timedelta(weeks=1)):
                one = instance_on(g, ada, master, day)
                edited = now()
                assert g.patch(f"/users/{ada}/events/{one['id']}", json={"subject": f"On {day}"}).status_code == 200
                stack.notified_round(linked, "w-ada", edited)
            renamed = now()
            r = g.patch(f"/users/{ada}/events/{master}", json={"location": {"displayName": "Room 7"}})
            assert r.status_code == 200, r.text
            stack.notified_round(linked, "w-ada", renamed)
    finally:
        stack.graph.post("/_emulator/faults", json={"deltaSeriesMasters": True})
    feed = changes(stack, linked)
    assert [c["type"] for c in feed] == ["occurrence_updated", "occurrence_updated", "updated"]
    assert feed[-1]["data"]["changed"] == ["location"] and feed[-1]["data"]["location"] == "Room 7"


def test_an_occurrence_of_our_series_cancelled_before_any_round_saw_it_is_reported(
    linked: OrgFixture, stack: Stack
) -> None:
    """The soak's a761: an occurrence deleted in Outlook 70 ms after calsync made the series.
    delta names no occurrence it never listed, so the first round did not know it was gone."""
    from tests.integration.conftest import now
    from tests.integration.test_inbound import wait_for
    from tests.integration.test_maintenance import reconcile

    stack.graph.post("/_emulator/faults", json={"deliverNotifications": False})  # no round yet
    series = weekly(count=3, attendees=[], resources=[], timeZone="UTC")
    pushed = stack.api.put(f"/orgs/{linked.id}/appointments/early", json=series).json()
    ada, master = linked.users[f"ada@{D}"], pushed["targets"][0]["eventId"]
    second = MONDAY + timedelta(weeks=1)
    with graph(stack, linked) as g:
        one = instance_on(g, ada, master, second)
        assert g.delete(f"/users/{ada}/events/{one['id']}").status_code == 204
    stack.graph.post("/_emulator/faults", json={"deliverNotifications": True})
    since = now()
    reconcile(stack, linked)  # the series' first round
    stack.wait_for_round(linked, "w-ada", since)
    # A round already running when reconcile asked goes once more; the feed says when it has.
    found = wait_for(stack, linked, lambda feed: len(feed) > 0)
    assert [(c["type"], c["data"]) for c in found] == [("occurrence_deleted", {"occurrence": str(second)})]


def test_our_series_deleted_in_outlook_before_any_round_saw_it_is_reported(linked: OrgFixture, stack: Stack) -> None:
    """The soak's a6812: the series was deleted in Outlook before a round read it. delta names
    no occurrence it never listed (and never a master), so no round learnt it was gone."""
    from tests.integration.conftest import now
    from tests.integration.test_inbound import wait_for
    from tests.integration.test_maintenance import reconcile

    stack.graph.post("/_emulator/faults", json={"deliverNotifications": False})  # no round yet
    series = weekly(count=3, attendees=[], resources=[], timeZone="UTC")
    pushed = stack.api.put(f"/orgs/{linked.id}/appointments/gone", json=series).json()
    ada, master = linked.users[f"ada@{D}"], pushed["targets"][0]["eventId"]
    with graph(stack, linked) as g:
        assert g.delete(f"/users/{ada}/events/{master}").status_code == 204
    stack.graph.post("/_emulator/faults", json={"deliverNotifications": True})
    since = now()
    reconcile(stack, linked)
    stack.wait_for_round(linked, "w-ada", since)
    found = wait_for(stack, linked, lambda feed: len(feed) > 0)
    assert [(c["type"], c["appointment"]) for c in found] == [("deleted", "gone")]
    [target] = stack.api.get(f"/orgs/{linked.id}/appointments/gone").json()["targets"]
    assert (target["state"], target["eventId"]) == ("deleted_in_outlook", None)


def test_an_occurrence_cancelled_while_the_delta_token_expired_is_reported(linked: OrgFixture, stack: Stack) -> None:
    """The soak's a4367: a person deleted one occurrence of our series, and the mailbox's next
    round found its delta token expired. The fresh round lists what is there; the occurrence
    it no longer lists was deleted (a GET says so), not silently forgotten."""
    from tests.integration.conftest import now
    from tests.integration.test_inbound import changes

    series = weekly(count=3, attendees=[], resources=[], timeZone="UTC")
    since = now()
    pushed = stack.api.put(f"/orgs/{linked.id}/appointments/gap", json=series).json()
    ada, master = linked.users[f"ada@{D}"], pushed["targets"][0]["eventId"]
    stack.notified_round(linked, "w-ada", since)
    stack.graph.post("/_emulator/faults", json={"deliverNotifications": False})
    second = MONDAY + timedelta(weeks=1)
    with graph(stack, linked) as g:
        one = instance_on(g, ada, master, second)
        assert g.delete(f"/users/{ada}/events/{one['id']}").status_code == 204
    assert stack.graph.post("/_emulator/delta/expire", json={"mailbox": ada}).status_code == 200
    stack.graph.post("/_emulator/faults", json={"deliverNotifications": True})
    since = now()
    with graph(stack, linked) as g:  # any change in the mailbox brings a round
        assert g.post(f"/users/{ada}/events", json={"subject": "Lunch", **_slot(MONDAY, 12)}).status_code == 201
    stack.wait_for_round(linked, "w-ada", since)
    assert [(c["type"], c["data"]) for c in changes(stack, linked) if c["appointment"] == "gap"] == [
        ("occurrence_deleted", {"occurrence": str(second)})
    ]


def _slot(day: date, hour: int) -> dict[str, Any]:
    return {
        "start": {"dateTime": f"{day}T{hour:02}:00:00", "timeZone": "UTC"},
        "end": {"dateTime": f"{day}T{hour:02}:30:00", "timeZone": "UTC"},
    }


def test_series_masters_listed_by_delta_are_each_series_once(linked: OrgFixture, stack: Stack) -> None:
    """calendarView delta may list a changed series master itself, with its first
    occurrence's start and end (docs-contrib issue #3196), and its deletion as @removed: each
    series is still one appointment, each change reported once."""
    from tests.integration.conftest import now
    from tests.integration.test_inbound import changes

    # The emulator's default (deltaSeriesMasters).
    since = now()
    series = weekly(count=3, attendees=[], resources=[], timeZone="UTC")
    pushed = stack.api.put(f"/orgs/{linked.id}/appointments/listed", json=series).json()
    ada, master = linked.users[f"ada@{D}"], pushed["targets"][0]["eventId"]
    stack.notified_round(linked, "w-ada", since)
    with graph(stack, linked) as g:
        for step in ("retitle", "own", "delete"):
            since = now()
            if step == "retitle":
                r = g.patch(f"/users/{ada}/events/{master}", json={"subject": "Team meeting (renamed)"})
            elif step == "own":
                own = {
                    "subject": "Ada's own",
                    **_slot(MONDAY + timedelta(days=1), 8),
                    "recurrence": {
                        "pattern": {"type": "daily", "interval": 1},
                        "range": {
                            "type": "numbered",
                            "startDate": str(MONDAY + timedelta(days=1)),
                            "numberOfOccurrences": 2,
                        },
                    },
                }
                r = g.post(f"/users/{ada}/events", json=own)
            else:
                r = g.delete(f"/users/{ada}/events/{master}")
            assert r.status_code in (200, 201, 204), r.text
            stack.notified_round(linked, "w-ada", since)
    feed = [(c["type"], c["appointment"] == "listed", c["data"].get("title")) for c in changes(stack, linked)]
    assert feed == [
        ("updated", True, "Team meeting (renamed)"),
        ("created", False, "Ada's own"),
        ("deleted", True, None),
    ]


def test_an_outlook_move_of_our_moved_occurrence_back_to_where_a_round_last_saw_it_is_reported(
    linked: OrgFixture, stack: Stack
) -> None:
    """The soak's a589: a round saw the occurrence at 09:00, the booking product moved it to
    13:00, and a person moved it back to 09:00 before the next round. The round's snapshot
    says 09:00 too; what tells is that Graph changed it after our write, away from it."""
    from tests.integration.conftest import now
    from tests.integration.test_inbound import wait_for
    from tests.integration.test_maintenance import reconcile

    series = weekly(count=3, attendees=[], resources=[], timeZone="UTC")
    since = now()
    pushed = stack.api.put(f"/orgs/{linked.id}/appointments/back", json=series).json()
    ada, master = linked.users[f"ada@{D}"], pushed["targets"][0]["eventId"]
    stack.notified_round(linked, "w-ada", since)
    stack.graph.post("/_emulator/faults", json={"deliverNotifications": False})
    second = MONDAY + timedelta(weeks=1)
    r = stack.api.put(
        f"/orgs/{linked.id}/appointments/back/occurrences/{second}",
        json={"start": f"{second}T13:00:00", "end": f"{second}T14:00:00"},
    )
    assert r.status_code == 200, r.text
    with graph(stack, linked) as g:
        one = instance_on(g, ada, master, second)
        back = {"start": {"dateTime": f"{second}T09:00:00", "timeZone": "UTC"}}
        back["end"] = {"dateTime": f"{second}T10:00:00", "timeZone": "UTC"}
        assert g.patch(f"/users/{ada}/events/{one['id']}", json=back).status_code == 200
    stack.graph.post("/_emulator/faults", json={"deliverNotifications": True})
    reconcile(stack, linked)
    [change] = wait_for(stack, linked, lambda feed: len(feed) > 0)
    assert (change["type"], change["data"]["occurrence"], change["data"]["start"]) == (
        "occurrence_updated",
        str(second),
        f"{second}T09:00:00Z",
    )


def test_an_attendee_answering_our_series_after_we_changed_two_occurrences_is_reported(
    linked: OrgFixture, stack: Stack
) -> None:
    """The soak's a5572 (and a3978, a100): the booking product cancelled one occurrence and
    moved another into the next day; then an attendee answered the whole series."""
    from tests.integration.conftest import now
    from tests.integration.test_inbound import wait_for

    series = weekly(count=4, attendees=["w-bob"], resources=[], timeZone="UTC")
    since = now()
    pushed = stack.api.put(f"/orgs/{linked.id}/appointments/answered", json=series).json()
    stack.notified_round(linked, "w-ada", since)
    second, third = MONDAY + timedelta(weeks=1), MONDAY + timedelta(weeks=2)
    assert stack.api.delete(f"/orgs/{linked.id}/appointments/answered/occurrences/{second}").status_code == 200
    late = {"start": f"{third + timedelta(days=1)}T00:30:00", "end": f"{third + timedelta(days=1)}T01:30:00"}
    assert stack.api.put(f"/orgs/{linked.id}/appointments/answered/occurrences/{third}", json=late).status_code == 200
    bob = linked.users[f"bob@{D}"]
    with graph(stack, linked) as g:
        [copy] = [e for e in g.get(f"/users/{bob}/events").json()["value"] if e["type"] == "seriesMaster"]
        r = g.post(f"/users/{bob}/events/{copy['id']}/tentativelyAccept", json={"sendResponse": True})
        assert r.status_code == 202, r.text
    found = wait_for(stack, linked, lambda feed: any(c["type"] == "responded" for c in feed))
    answers = [
        (c["worker"], c["data"]["response"], c["data"].get("occurrence")) for c in found if c["type"] == "responded"
    ]
    assert answers == [("w-bob", "tentativelyAccepted", None)]
    assert pushed["targets"][0]["state"] == "synced"


def test_an_attendee_declining_our_series_whose_occurrences_are_all_exceptions_is_reported(
    linked: OrgFixture, stack: Stack
) -> None:
    """The soak's a287 (and a5572, a3978, a100): every occurrence of our series was an
    exception, so the attendee's answer changed the master alone and delta listed nothing (nor
    the master: deltaSeriesMasters off); the round that read the changed master had no linked
    people to attribute the answer to."""
    from tests.integration.conftest import now
    from tests.integration.test_inbound import wait_for

    stack.graph.post("/_emulator/faults", json={"deltaSeriesMasters": False})
    try:
        series = weekly(count=2, attendees=["w-bob"], resources=[], timeZone="UTC")
        since = now()
        stack.api.put(f"/orgs/{linked.id}/appointments/blinded", json=series)
        stack.notified_round(linked, "w-ada", since)
        for n, day in enumerate((MONDAY, MONDAY + timedelta(weeks=1))):
            since = now()
            r = stack.api.put(f"/orgs/{linked.id}/appointments/blinded/occurrences/{day}", json={"title": f"Part {n}"})
            assert r.status_code == 200, r.text
            stack.notified_round(linked, "w-ada", since)
        bob = linked.users[f"bob@{D}"]
        with graph(stack, linked) as g:
            [copy] = [e for e in g.get(f"/users/{bob}/events").json()["value"] if e["type"] == "seriesMaster"]
            assert g.post(f"/users/{bob}/events/{copy['id']}/decline", json={"sendResponse": True}).status_code == 202
        found = wait_for(stack, linked, lambda feed: any(c["type"] == "responded" for c in feed), timeout=20)
    finally:
        stack.graph.post("/_emulator/faults", json={"deltaSeriesMasters": True})
    assert [(c["worker"], c["data"]["response"]) for c in found if c["type"] == "responded"] == [("w-bob", "declined")]


@pytest.mark.parametrize("masters_in_delta", [True, False], ids=["masters-in-delta", "no-masters-in-delta"])
def test_an_occurrence_deleted_in_outlook_with_no_sign_in_delta_is_reported_once(
    linked: OrgFixture, stack: Stack, masters_in_delta: bool
) -> None:
    """Graph may give no sign in calendarView delta that one occurrence was deleted
    (microsoft-graph-docs PR #4501); the master's cancelledOccurrences lists it (resources/
    event.md). Our series and a person's own series each report it once — also where delta
    lists no master (its changed master is found through /events) — and a later fresh round,
    which no longer lists the occurrence, does not report it again."""
    from tests.integration.conftest import now
    from tests.integration.test_inbound import changes

    stack.graph.post(
        "/_emulator/faults", json={"deltaOccurrenceRemovals": False, "deltaSeriesMasters": masters_in_delta}
    )
    try:
        since = now()
        series = weekly(count=3, attendees=[], resources=[], timeZone="UTC")
        pushed = stack.api.put(f"/orgs/{linked.id}/appointments/quiet", json=series).json()
        ada, ours = linked.users[f"ada@{D}"], pushed["targets"][0]["eventId"]
        own = {
            "subject": "Ada's own",
            **_slot(MONDAY + timedelta(days=1), 8),
            "recurrence": {
                "pattern": {"type": "daily", "interval": 1},
                "range": {"type": "numbered", "startDate": str(MONDAY + timedelta(days=1)), "numberOfOccurrences": 3},
            },
        }
        with graph(stack, linked) as g:
            theirs = g.post(f"/users/{ada}/events", json=own).json()["id"]
        stack.notified_round(linked, "w-ada", since)
        second, wednesday = MONDAY + timedelta(weeks=1), MONDAY + timedelta(days=2)
        for master, day in ((ours, second), (theirs, wednesday)):
            since = now()
            with graph(stack, linked) as g:
                one = instance_on(g, ada, master, day)
                assert g.delete(f"/users/{ada}/events/{one['id']}").status_code == 204
            stack.notified_round(linked, "w-ada", since)
        found = [
            (c["type"], c["data"].get("occurrence"))
            for c in changes(stack, linked)
            if c["type"] == "occurrence_deleted"
        ]
        assert found == [("occurrence_deleted", str(second)), ("occurrence_deleted", str(wednesday))]
        # A fresh round (the token expired) lists neither: no news, each was reported.
        assert stack.graph.post("/_emulator/delta/expire", json={"mailbox": ada}).status_code == 200
        since = now()
        with graph(stack, linked) as g:
            assert g.post(f"/users/{ada}/events", json={"subject": "Lunch", **_slot(MONDAY, 12)}).status_code == 201
        stack.wait_for_round(linked, "w-ada", since)
        again = [c["type"] for c in changes(stack, linked)]
        assert again.count("occurrence_deleted") == 2 and again[-1] == "created"
    finally:
        stack.graph.post("/_emulator/faults", json={"deltaOccurrenceRemovals": False, "deltaSeriesMasters": True})


def test_an_outlook_move_of_an_exception_after_the_series_was_renamed_reports_the_move_only(
    linked: OrgFixture, stack: Stack
) -> None:
    """The soak's a98 (seed 947332): the booking product moved an occurrence, then renamed the
    series; a person moved that occurrence again in Outlook. An exception keeps only what it
    changed ([MS-OXOCAL] ExceptionInfo's override flags), so the rename reached it: the move is
    the news, not the title."""
    from tests.integration.conftest import now
    from tests.integration.test_inbound import changes

    series = weekly(count=3, attendees=[], resources=[], timeZone="UTC")
    since = now()
    pushed = stack.api.put(f"/orgs/{linked.id}/appointments/renamed", json=series).json()
    ada, master = linked.users[f"ada@{D}"], pushed["targets"][0]["eventId"]
    stack.notified_round(linked, "w-ada", since)
    second = MONDAY + timedelta(weeks=1)
    since = now()
    moved = {"start": f"{second}T11:00:00", "end": f"{second}T12:00:00"}
    assert stack.api.put(f"/orgs/{linked.id}/appointments/renamed/occurrences/{second}", json=moved).status_code == 200
    stack.notified_round(linked, "w-ada", since)
    since = now()
    renamed = {**series, "title": "Team meeting (renamed)"}
    assert stack.api.put(f"/orgs/{linked.id}/appointments/renamed", json=renamed).status_code == 200
    stack.notified_round(linked, "w-ada", since)
    with graph(stack, linked) as g:
        one = instance_on(g, ada, master, second)
        assert one["subject"] == "Team meeting (renamed)"  # the rename reached the exception
        since = now()
        later = {
            "start": {"dateTime": f"{second}T14:00:00", "timeZone": "UTC"},
            "end": {"dateTime": f"{second}T15:00:00", "timeZone": "UTC"},
        }
        assert g.patch(f"/users/{ada}/events/{one['id']}", json=later).status_code == 200
    stack.notified_round(linked, "w-ada", since)
    found = [(c["type"], c["data"].get("changed")) for c in changes(stack, linked) if c["type"] == "occurrence_updated"]
    assert found == [("occurrence_updated", ["start", "end"])]


def test_an_occurrence_of_an_online_series_given_its_own_body_keeps_its_join_link(
    linked: OrgFixture, stack: Stack
) -> None:
    """A PATCH of a body replaces the Teams join block Exchange wrote into it, for an occurrence
    as for an event: the exception's body calsync writes carries the join link again, so that
    date's meeting can still be joined (found reading the outbound planner's survivors)."""
    r = stack.api.put(f"/orgs/{linked.id}/appointments/online-team", json=weekly(onlineMeeting=True))
    assert r.status_code == 200, r.text
    join = r.json()["joinUrl"]
    assert join
    second = MONDAY + timedelta(weeks=1)
    r = stack.api.put(
        f"/orgs/{linked.id}/appointments/online-team/occurrences/{second}", json={"body": "Bring the slides"}
    )
    assert r.status_code == 200, r.text
    [changed] = [e for e in view(stack, linked, "ada") if e["type"] == "exception"]
    body = changed["body"]["content"].replace("&amp;", "&")
    assert "Bring the slides" in body and join in body
