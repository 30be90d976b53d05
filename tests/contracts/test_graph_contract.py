"""Contract of the Graph port (shared.service.ports.Graph): the real GraphGateway against the
Graph emulator, and tests/fakes/graph.py FakeGraph, pass the same tests.

Each test names the Microsoft Graph documentation it reflects (paths in
microsoftgraph/microsoft-graph-docs-contrib); where the docs are silent and the emulator's
behaviour is what is pinned, the comment says so.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.core.errors import (
    AccountAmbiguous,
    ConsentRequired,
    DeltaTokenExpired,
    GraphNotFound,
    GraphRejected,
    GraphUnavailable,
    MailboxNotEnabled,
)
from shared.core.mapping import PROPERTY_ID
from shared.core.timezones import zone
from tests.contracts.conftest_graph import Backend, graph_backend, webhook_receiver  # noqa: F401 (fixtures)
from tests.fakes.graph import FakeGraph, Faults

DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
WINDOW = (DAY - timedelta(days=1), DAY + timedelta(days=7))


def body(subject: str, *, hours: float = 0, tz: str = "UTC", tag: str | None = None, **extra: Any) -> dict[str, Any]:
    """An event as calsync writes it (wall-clock times in a named zone)."""
    start = DAY + timedelta(hours=hours)
    local = start.astimezone(zone(tz)).replace(tzinfo=None)
    out: dict[str, Any] = {
        "subject": subject,
        "body": {"contentType": "text", "content": f"about {subject}"},
        "start": {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": tz},
        "end": {"dateTime": (local + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": tz},
        **extra,
    }
    if tag is not None:
        out["singleValueExtendedProperties"] = [{"id": PROPERTY_ID, "value": tag}]
    return out


async def delta(graph: Backend, mailbox: str, link: str | None) -> tuple[list[dict], str]:
    return await graph.graph.delta(graph.tenant_id, mailbox, link, *WINDOW)


# -- events ------------------------------------------------------------------------------
async def test_create_answers_the_event_in_utc_and_find_by_property(graph: Backend) -> None:
    # api-reference/v1.0/api/user-post-events.md (201 with the event; Prefer: outlook.timezone
    # sets the zone of start/end in the answer); singlevaluelegacyextendedproperty-get.md
    # ($filter on singleValueExtendedProperties/Any, $expand with $filter).
    g, t, ada = graph.graph, graph.tenant_id, graph.uid("ada")
    made = await g.create_event(t, ada, body("Planning", tz="Europe/Berlin", tag="appt-1"))
    assert made["id"] and made["changeKey"] and made["iCalUId"]
    assert made["subject"] == "Planning" and made["isOrganizer"] is True
    assert made["start"] == {"dateTime": DAY.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}
    assert made["originalStartTimeZone"] == "Europe/Berlin"
    assert "singleValueExtendedProperties" not in made  # a create does not echo them (emulator; docs silent)
    await g.create_event(t, ada, body("Other", hours=2, tag="appt-2"))

    found = await g.find_events(t, ada, PROPERTY_ID, "appt-1")
    assert [(e["id"], e["changeKey"], e["iCalUId"]) for e in found] == [
        (made["id"], made["changeKey"], made["iCalUId"])
    ]
    assert await g.find_events(t, ada, PROPERTY_ID, "appt-none") == []
    assert await g.find_events(t, graph.uid("bob"), PROPERTY_ID, "appt-1") == []  # per mailbox
    assert await g.event_tag(t, ada, made["id"], PROPERTY_ID) == "appt-1"
    assert await g.find_by_ical(t, ada, made["iCalUId"], PROPERTY_ID) == "appt-1"
    assert await g.find_by_ical(t, ada, "040000008200E00074C5B7101A82E008000000000000", PROPERTY_ID) is None


async def test_a_repeated_transaction_id_gives_one_event(graph: Backend) -> None:
    # api-reference/v1.0/resources/event.md, transactionId: "a custom identifier specified by a
    # client app for the server to avoid redundant POST operations in case of client retries".
    # The docs do not say what the repeat answers; the emulator answers the existing event (201).
    g, t, ada = graph.graph, graph.tenant_id, graph.uid("ada")
    first = await g.create_event(t, ada, body("Once", tag="txn", transactionId="txn-1"))
    again = await g.create_event(t, ada, body("Once", tag="txn", transactionId="txn-1"))
    assert again["id"] == first["id"] and again["iCalUId"] == first["iCalUId"]
    assert [e["id"] for e in await g.find_events(t, ada, PROPERTY_ID, "txn")] == [first["id"]]
    # The id is per mailbox (emulator; docs silent): the same transactionId elsewhere is a new event.
    other = await g.create_event(t, graph.uid("bob"), body("Once", tag="txn", transactionId="txn-1"))
    assert other["id"] != first["id"]


async def test_update_gives_a_new_change_key(graph: Backend) -> None:
    # api-reference/v1.0/api/event-update.md (PATCH answers 200 with the event);
    # resources/event.md, changeKey: "Every time the event is changed, ChangeKey changes as well."
    g, t, ada = graph.graph, graph.tenant_id, graph.uid("ada")
    made = await g.create_event(t, ada, body("Draft", tag="upd"))
    updated = await g.update_event(t, ada, made["id"], {"subject": "Final", "location": {"displayName": "Desk 4"}})
    assert updated["id"] == made["id"] and updated["iCalUId"] == made["iCalUId"]
    assert updated["changeKey"] != made["changeKey"]
    assert updated["subject"] == "Final" and updated["location"]["displayName"] == "Desk 4"
    found = await g.find_events(t, ada, PROPERTY_ID, "upd")
    assert [(e["id"], e["changeKey"]) for e in found] == [(made["id"], updated["changeKey"])]


async def test_a_series_has_instances_that_become_exceptions_or_go(graph: Backend) -> None:
    # event-list-instances.md (occurrences and exceptions in [startDateTime, endDateTime),
    # with seriesMasterId and originalStart); event-update.md on an occurrence makes it an
    # exception; event-delete.md on an occurrence cancels it, and the master's
    # cancelledOccurrences (resources/event.md, on $select) names it by its date; the master
    # changed, so /events filtered on lastModifiedDateTime lists it. Delta may list the master
    # itself (docs-contrib issue #3196), as a seriesMaster.
    g, t, ada = graph.graph, graph.tenant_id, graph.uid("ada")
    daily = {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": DAY.strftime("%Y-%m-%d"), "numberOfOccurrences": 4},
    }
    master = await g.create_event(t, ada, body("Standup", tag="series", recurrence=daily))
    assert master["type"] == "seriesMaster"
    span = (DAY - timedelta(hours=1), DAY + timedelta(days=5))
    found = await g.instances(t, ada, master["id"], *span)
    assert [e["type"] for e in found] == ["occurrence"] * 4
    assert all(e["seriesMasterId"] == master["id"] for e in found)
    assert [e["originalStart"][:16] for e in found] == [
        (DAY + timedelta(days=n)).strftime("%Y-%m-%dT%H:%M") for n in range(4)
    ]
    second, third = found[1], found[2]
    moved = await g.update_event(t, ada, second["id"], {"subject": "Standup (late)"})
    assert moved["type"] == "exception" and moved["subject"] == "Standup (late)"
    assert await g.delete_event(t, ada, third["id"]) is True
    after = await g.instances(t, ada, master["id"], *span)
    assert [(e["type"], e["originalStart"][:16]) for e in after] == [
        ("occurrence", found[0]["originalStart"][:16]),
        ("exception", second["originalStart"][:16]),
        ("occurrence", found[3]["originalStart"][:16]),
    ]
    read = await g.get_series_master(t, ada, master["id"])
    assert read is not None and read["subject"] == "Standup"
    assert read["cancelledOccurrences"] == [f"OID.{master['id']}.{(DAY + timedelta(days=2)).date()}"]
    changed = await g.changed_since(t, ada, DAY - timedelta(days=30))
    assert {(e["id"], e["type"], e["changeKey"]) for e in changed} == {
        (master["id"], "seriesMaster", read["changeKey"])
    }
    assert await g.changed_since(t, ada, datetime.now(UTC) + timedelta(hours=1)) == []
    items, _ = await delta(graph, ada, None)
    assert all(i["type"] == "seriesMaster" for i in items if i["id"] == master["id"])
    assert len([i for i in items if i.get("seriesMasterId")]) == 3
    assert [e["id"] for e in await g.find_events(t, ada, PROPERTY_ID, "series")] == [master["id"]]
    await g.delete_event(t, ada, master["id"])
    assert await g.instances(t, ada, master["id"], *span) == []
    assert await g.get_series_master(t, ada, master["id"]) is None


async def test_update_or_delete_of_a_missing_event(graph: Backend) -> None:
    # api-reference/v1.0/api/event-delete.md (204); event-update.md. Neither names the answer
    # for an item that is gone; the emulator answers 404 ErrorItemNotFound, which the port
    # turns into GraphNotFound (update), False (delete) and None (event_tag).
    g, t, ada = graph.graph, graph.tenant_id, graph.uid("ada")
    made = await g.create_event(t, ada, body("Gone soon", tag="del"))
    assert await g.delete_event(t, ada, made["id"]) is True
    assert await g.delete_event(t, ada, made["id"]) is False
    with pytest.raises(GraphNotFound):
        await g.update_event(t, ada, made["id"], {"subject": "Too late"})
    assert await g.event_tag(t, ada, made["id"], PROPERTY_ID) is None
    assert await g.find_events(t, ada, PROPERTY_ID, "del") == []


async def test_a_rejected_patch_changes_nothing_visible(graph: Backend) -> None:
    # api-reference/v1.0/api/event-update.md; resources/event.md (end after start). An end
    # before the start is a 400 (the emulator's ErrorInvalidRequest; docs name no code).
    g, t, ada = graph.graph, graph.tenant_id, graph.uid("ada")
    made = await g.create_event(t, ada, body("Fixed", tag="bad"))
    with pytest.raises(GraphRejected) as caught:
        await g.update_event(t, ada, made["id"], {"end": {"dateTime": "2000-01-01T00:00:00", "timeZone": "UTC"}})
    assert caught.value.graph_status == 400
    nowhere = body("Nowhere")
    nowhere["start"]["timeZone"] = nowhere["end"]["timeZone"] = "Mars/Olympus_Mons"
    with pytest.raises(GraphRejected):  # TimeZoneNotSupportedException (emulator; docs silent on the code)
        await g.create_event(t, ada, nowhere)
    [found] = await g.find_events(t, ada, PROPERTY_ID, "bad")
    assert found["changeKey"] == made["changeKey"]


# -- delta -------------------------------------------------------------------------------
async def test_delta_rounds_show_creates_changes_and_removals(graph: Backend) -> None:
    # api-reference/v1.0/api/event-delta.md and concepts/delta-query-events.md: the first call
    # with startDateTime/endDateTime is a full round, the deltaLink then gives what changed;
    # deleted items come as {"id", "@removed": {"reason": "deleted"}}.
    g, t, ada = graph.graph, graph.tenant_id, graph.uid("ada")
    before = await g.create_event(t, ada, body("Before"))
    await g.create_event(t, ada, body("Far away", hours=24 * 60))  # outside the window
    items, link = await delta(graph, ada, None)
    assert [i["id"] for i in items] == [before["id"]] and link
    assert items[0]["changeKey"] == before["changeKey"] and items[0]["subject"] == "Before"
    assert items[0]["body"]["content"] == "about Before"  # text bodies, as the gateway Prefers

    items, link = await delta(graph, ada, link)
    assert items == []  # idle

    made = await g.create_event(t, ada, body("New", hours=3))
    items, link = await delta(graph, ada, link)
    assert [(i["id"], i["changeKey"]) for i in items] == [(made["id"], made["changeKey"])]

    changed = await g.update_event(t, ada, made["id"], {"subject": "Renamed"})
    items, link = await delta(graph, ada, link)
    assert [(i["id"], i["changeKey"], i["subject"]) for i in items] == [(made["id"], changed["changeKey"], "Renamed")]

    assert await g.delete_event(t, ada, made["id"])
    items, link = await delta(graph, ada, link)
    assert items == [{"@odata.type": "#microsoft.graph.event", "id": made["id"], "@removed": {"reason": "deleted"}}]
    assert (await delta(graph, ada, link))[0] == []


async def test_an_expired_delta_link_asks_for_a_fresh_round(graph: Backend) -> None:
    # concepts/delta-query-overview.md, "Synchronization reset": when the service cannot give
    # the changes for a token it answers 410 Gone (syncStateNotFound…) → DeltaTokenExpired.
    g, t, ada = graph.graph, graph.tenant_id, graph.uid("ada")
    made = await g.create_event(t, ada, body("Kept"))
    _, link = await delta(graph, ada, None)
    await graph.expire_delta(ada)
    with pytest.raises(DeltaTokenExpired):
        await delta(graph, ada, link)
    items, fresh = await delta(graph, ada, None)
    assert [i["id"] for i in items] == [made["id"]] and fresh


async def test_a_garbled_delta_link_is_rejected_not_expired(graph: Backend) -> None:
    # The docs are silent on a delta token Graph never issued. The emulator answers 400
    # BadRequest "The delta token is not valid." → GraphRejected, NOT DeltaTokenExpired, so
    # mailbox_rounds (which restarts only on DeltaTokenExpired) would not recover by itself.
    g, t, ada = graph.graph, graph.tenant_id, graph.uid("ada")
    _, link = await delta(graph, ada, None)
    garbled = link.split("$deltatoken=")[0] + "$deltatoken=bm90LWEtdG9rZW4"
    with pytest.raises(GraphRejected) as caught:
        await g.delta(t, ada, garbled, *WINDOW)
    assert not isinstance(caught.value, DeltaTokenExpired) and caught.value.graph_status == 400


# -- directory -------------------------------------------------------------------------
async def test_get_user_by_upn_and_by_id(graph: Backend) -> None:
    # api-reference/v1.0/api/user-get.md: GET /users/{id | userPrincipalName}; an unknown
    # user is 404 Request_ResourceNotFound → GraphNotFound.
    g, t = graph.graph, graph.tenant_id
    by_upn = await g.get_user(t, graph.upn("ada"))
    assert (by_upn.id, by_upn.user_principal_name, by_upn.mail, by_upn.display_name) == (
        graph.uid("ada"),
        graph.upn("ada"),
        graph.upn("ada"),
        "Ada Test",
    )
    assert await g.get_user(t, graph.uid("ada")) == by_upn
    assert await g.get_user(t, graph.upn("ada").upper()) == by_upn  # UPNs are case-insensitive
    # Without a mailbox the user is still in the directory, with no mail (emulator; docs silent).
    nomail = await g.get_user(t, graph.upn("nomail"))
    assert nomail.id == graph.uid("nomail") and nomail.mail is None
    with pytest.raises(GraphNotFound):
        await g.get_user(t, f"nobody@{graph.upn('ada').split('@')[1]}")
    with pytest.raises(GraphNotFound):
        await g.get_user(t, str(uuid.uuid4()))


async def test_get_user_finds_an_address_that_is_not_the_upn_by_mail_then_proxy_address(graph: Backend) -> None:
    # user-get.md: GET /users/{key} is 404 for a mail that is not the UPN; the gateway then
    # asks $filter=mail eq … and proxyAddresses/any(p:p eq 'smtp:…') (user resource: both
    # support eq by default, aad-advanced-queries.md).
    g, t = graph.graph, graph.tenant_id
    domain = graph.upn("ada").split("@")[1]
    by_mail = await g.get_user(t, f"Megan.Bowen@{domain}")
    assert (by_mail.id, by_mail.user_principal_name) == (graph.uid("mbowen"), graph.upn("mbowen"))
    assert await g.get_user(t, "megan@alias.test") == by_mail
    with pytest.raises(AccountAmbiguous):
        await g.get_user(t, "frontdesk@alias.test")  # two users have it
    with pytest.raises(GraphNotFound):
        await g.get_user(t, "nobody@alias.test")


async def test_get_event_reads_one_event_or_none(graph: Backend) -> None:
    # event-get.md: GET /users/{id}/events/{id}; 404 ErrorItemNotFound when it is gone.
    g, t, ada = graph.graph, graph.tenant_id, graph.uid("ada")
    made = await g.create_event(
        t,
        ada,
        {
            "subject": "Read me",
            "start": {"dateTime": "2027-02-01T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2027-02-01T11:00:00", "timeZone": "UTC"},
        },
    )
    got = await g.get_event(t, ada, made["id"])
    assert got is not None and got["id"] == made["id"] and got["subject"] == "Read me"
    assert got["start"]["dateTime"].startswith("2027-02-01T10:00:00")
    assert await g.delete_event(t, ada, made["id"])
    assert await g.get_event(t, ada, made["id"]) is None


async def test_list_users_and_purposes(graph: Backend) -> None:
    # api-reference/v1.0/api/user-list.md; user-get-mailboxsettings.md and
    # resources/mailboxsettings.md (userPurpose); concepts/json-batching.md (each item has its
    # own status: a 404 item is a user without a mailbox or unknown → None).
    g, t = graph.graph, graph.tenant_id
    users = [u async for u in g.list_users(t)]
    assert {u["userPrincipalName"]: u["id"] for u in users} == graph.users
    assert all(set(u) >= {"id", "userPrincipalName", "mail", "displayName"} for u in users)
    assert await g.user_purpose(t, graph.uid("room0")) == "room"
    assert await g.user_purpose(t, graph.uid("ada")) == "user"
    # mailboxSettings.timeZone (resources/mailboxsettings.md): where To Do keeps due dates.
    assert (await g.mailbox_time_zone(t, graph.uid("ada")), await g.mailbox_time_zone(t, graph.uid("bob"))) == (
        "UTC",
        "W. Europe Standard Time",
    )
    unknown = str(uuid.uuid4())
    names = ["ada", "room0", "beamer", "reception", "nomail"]
    got = await g.purposes(t, [graph.uid(n) for n in names] + [unknown])
    assert got == {
        graph.uid("ada"): "user",
        graph.uid("room0"): "room",
        graph.uid("beamer"): "equipment",
        graph.uid("reception"): "shared",
        graph.uid("nomail"): None,
        unknown: None,
    }


async def test_a_user_without_a_mailbox(graph: Backend) -> None:
    # The docs name no error for this (resources/mailboxsettings.md is silent); Exchange
    # Online and the emulator answer 404 MailboxNotEnabledForRESTAPI → MailboxNotEnabled.
    g, t, nomail = graph.graph, graph.tenant_id, graph.uid("nomail")
    with pytest.raises(MailboxNotEnabled):
        await g.create_event(t, nomail, body("Nowhere"))
    with pytest.raises(MailboxNotEnabled):
        await delta(graph, nomail, None)
    with pytest.raises(MailboxNotEnabled):
        await g.user_purpose(t, nomail)
    with pytest.raises(MailboxNotEnabled):
        await g.create_subscription(
            t,
            nomail,
            notification_url=graph.hook_url,
            lifecycle_url=graph.hook_url,
            client_state="s",
            expires_at=datetime.now(UTC) + timedelta(hours=2),
        )


async def test_an_unknown_tenant_needs_consent(graph: Backend) -> None:
    # Docs are silent on Graph's answer for a tenant that never consented (in production the
    # token request itself fails); the emulator answers 401 InvalidAuthenticationToken, and
    # both become ConsentRequired.
    g, stranger = graph.graph, str(uuid.uuid4())
    with pytest.raises(ConsentRequired):
        await g.probe(stranger)
    with pytest.raises(ConsentRequired):
        await g.get_user(stranger, graph.upn("ada"))
    with pytest.raises(ConsentRequired):
        await g.create_event(stranger, graph.uid("ada"), body("Elsewhere"))
    with pytest.raises(ConsentRequired):
        await g.list_subscriptions(stranger)
    await g.probe(graph.tenant_id)  # the seeded tenant is fine


async def test_rooms_and_room_lists(graph: Backend) -> None:
    # api-reference/v1.0/api/place-list.md: /places/microsoft.graph.room (rooms only, not
    # equipment), /places/microsoft.graph.roomlist, /places/{roomList}/microsoft.graph.roomlist/rooms.
    g, t = graph.graph, graph.tenant_id
    rooms = await g.list_rooms(t)
    assert sorted((r["emailAddress"], r["displayName"]) for r in rooms) == [
        (graph.upn("room0"), "Room 0"),
        (graph.upn("room1"), "Room 1"),
    ]
    assert all(r["capacity"] == 6 for r in rooms)
    lists = await g.list_room_lists(t)
    assert [(rl["emailAddress"], rl["displayName"]) for rl in lists] == [(graph.upn("rooms"), "All rooms")]
    in_list = await g.rooms_in_list(t, graph.upn("rooms"))
    assert sorted(r["emailAddress"] for r in in_list) == [graph.upn("room0"), graph.upn("room1")]
    with pytest.raises(GraphNotFound):
        await g.rooms_in_list(t, graph.upn("nolist"))


# -- subscriptions -----------------------------------------------------------------------
async def test_subscription_create_list_renew_delete(graph: Backend) -> None:
    # api-reference/v1.0/api/subscription-post-subscriptions.md (201), subscription-list.md,
    # subscription-update.md (PATCH expirationDateTime), subscription-reauthorize.md (204),
    # subscription-delete.md (204); an unknown id is 404 → GraphNotFound / False.
    g, t, ada = graph.graph, graph.tenant_id, graph.uid("ada")
    wanted = datetime.now(UTC) + timedelta(hours=24)
    info = await g.create_subscription(
        t, ada, notification_url=graph.hook_url, lifecycle_url=graph.hook_url, client_state="cs-1", expires_at=wanted
    )
    assert info.id and abs((info.expires_at - wanted).total_seconds()) < 1
    [listed] = await g.list_subscriptions(t)
    assert listed["id"] == info.id and listed["resource"] == f"/users/{ada}/events"
    # subscription-list.md: clientState is not returned when subscriptions are read back.
    assert listed["notificationUrl"] == graph.hook_url and listed["clientState"] is None
    assert set(listed["changeType"].split(",")) == {"created", "updated", "deleted"}

    later = datetime.now(UTC) + timedelta(hours=48)
    renewed = await g.renew_subscription(t, info.id, later)
    assert abs((renewed - later).total_seconds()) < 1
    await g.reauthorize_subscription(t, info.id)

    assert await g.delete_subscription(t, info.id) is True
    assert await g.delete_subscription(t, info.id) is False
    assert await g.list_subscriptions(t) == []
    with pytest.raises(GraphNotFound):
        await g.renew_subscription(t, info.id, later)
    with pytest.raises(GraphNotFound):
        await g.reauthorize_subscription(t, info.id)
    with pytest.raises(GraphNotFound):
        await g.create_subscription(
            t,
            str(uuid.uuid4()),
            notification_url=graph.hook_url,
            lifecycle_url=graph.hook_url,
            client_state="cs",
            expires_at=wanted,
        )


async def test_a_duplicate_subscription_names_the_existing_one(graph: Backend) -> None:
    # api-reference/v1.0/api/subscription-post-subscriptions.md: a duplicate fails with 409
    # Conflict "Subscription Id <> already exists for the requested combination" (the docs
    # say same changeType and resource; the emulator also requires the same notificationUrl).
    g, t, ada = graph.graph, graph.tenant_id, graph.uid("ada")
    args: dict[str, Any] = {
        "notification_url": graph.hook_url,
        "lifecycle_url": graph.hook_url,
        "expires_at": datetime.now(UTC) + timedelta(hours=2),
    }
    first = await g.create_subscription(t, ada, client_state="one", **args)
    with pytest.raises(GraphRejected) as caught:
        await g.create_subscription(t, graph.upn("ada"), client_state="two", **args)  # same mailbox by UPN
    assert caught.value.graph_status == 409 and caught.value.existing_id == first.id
    assert not caught.value.mailbox_policy
    # calsync's recovery (shared/service/subscriptions.py): delete the named one, create again.
    assert await g.delete_subscription(t, caught.value.existing_id) is True
    second = await g.create_subscription(t, ada, client_state="two", **args)
    assert [s["id"] for s in await g.list_subscriptions(t)] == [second.id]


async def test_get_schedule_answers_each_address_in_utc(graph: Backend) -> None:
    # api-reference/v1.0/api/calendar-getschedule.md (one scheduleInformation per schedule, times
    # in UTC without Prefer — the gateway asks UTC), resources/scheduleinformation.md
    # (availabilityView digits per availabilityViewInterval), scheduleitem.md, freebusyerror.md;
    # concepts/outlook-get-free-busy-schedule.md: 20 per call (the port chunks any number), an
    # unknown address is an entry with `error` (code 5009: ISSUE microsoft-graph-docs#11225),
    # "less than 62 days". A master is never an item; its occurrences are.
    g, t, ada = graph.graph, graph.tenant_id, graph.uid("ada")
    await g.create_event(t, ada, body("Review", hours=1, location={"displayName": "Desk 4"}))
    await g.create_event(t, ada, body("Maybe", hours=3, showAs="tentative"))
    await g.create_event(t, ada, body("Doctor", hours=-1, sensitivity="private"))
    daily = {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": DAY.strftime("%Y-%m-%d"), "numberOfOccurrences": 2},
    }
    await g.create_event(t, graph.uid("room0"), body("Standup", hours=-1, recurrence=daily))
    start, end = DAY - timedelta(hours=1), DAY + timedelta(hours=5)
    others = [f"nobody{i}@{graph.upn('x').split('@')[1]}" for i in range(20)]
    infos = await g.get_schedule(t, ada, [graph.upn("ada"), graph.upn("room0"), *others], start, end, 60)
    assert [i["scheduleId"] for i in infos] == [graph.upn("ada"), graph.upn("room0"), *others]
    mine, room = infos[0], infos[1]
    assert mine["availabilityView"] == "202010" and room["availabilityView"] == "200000"
    stamp = "%Y-%m-%dT%H:%M:%S.0000000"
    items = [
        (i["status"], i.get("subject"), i["start"]["dateTime"], i["start"]["timeZone"]) for i in mine["scheduleItems"]
    ]
    assert items == [
        ("busy", None, (DAY - timedelta(hours=1)).strftime(stamp), "UTC"),
        ("busy", "Review", (DAY + timedelta(hours=1)).strftime(stamp), "UTC"),
        ("tentative", "Maybe", (DAY + timedelta(hours=3)).strftime(stamp), "UTC"),
    ]  # fmt: skip
    assert mine["scheduleItems"][0]["isPrivate"] is True and mine["scheduleItems"][1]["location"] == "Desk 4"
    assert mine["workingHours"]["daysOfWeek"][0] == "monday" and mine["workingHours"]["startTime"] == "08:00:00.0000000"
    assert [i["subject"] for i in room["scheduleItems"]] == ["Standup"]
    for unknown in infos[2:]:
        assert unknown["error"]["responseCode"] == "5009" and "availabilityView" not in unknown
    # The documented limits are refused; a caller without a mailbox is refused.
    with pytest.raises(GraphRejected) as bad:
        await g.get_schedule(t, ada, [graph.upn("ada")], start, end, 4)
    assert bad.value.graph_status == 400
    with pytest.raises(GraphRejected):
        await g.get_schedule(t, ada, [graph.upn("ada")], start, start + timedelta(days=62), 60)
    with pytest.raises(MailboxNotEnabled):
        await g.get_schedule(t, graph.uid("nomail"), [graph.upn("ada")], start, end, 60)


# -- the fake alone ------------------------------------------------------------------------
TENANT = "11111111-1111-4111-8111-111111111111"


def seeded_fake(**kw: Any) -> tuple[FakeGraph, str]:
    fake = FakeGraph(**kw)
    users = fake.seed(TENANT, [{"userPrincipalName": "ada@fabrikam.test", "displayName": "Ada"}])
    return fake, users["ada@fabrikam.test"]


async def test_fake_lost_answer_applies_the_write_then_raises() -> None:
    fake, ada = seeded_fake()
    fake.fail_next(1, "lost_answer")
    with pytest.raises(GraphUnavailable):
        await fake.create_event(TENANT, ada, body("Lost", tag="x", transactionId="t-1"))
    [stored] = fake.events(TENANT, ada)
    assert stored["subject"] == "Lost"
    # The retry with the same transactionId gets the event made, not a second one.
    again = await fake.create_event(TENANT, ada, body("Lost", tag="x", transactionId="t-1"))
    assert again["id"] == stored["id"] and len(fake.events(TENANT, ada)) == 1

    fake.fail_next(1, "timeout", operation="delete_event")
    with pytest.raises(GraphUnavailable, match="did not answer"):
        await fake.delete_event(TENANT, ada, stored["id"])
    assert fake.events(TENANT, ada) == []
    assert fake.count("create_event") == 2 and fake.count("delete_event") == 1
    assert fake.faults.injected == [("create_event", "lost_answer"), ("delete_event", "timeout")]


async def test_fake_unavailable_applies_nothing() -> None:
    fake, ada = seeded_fake()
    made = await fake.create_event(TENANT, ada, body("Stays"))
    fake.fail_next(2, "unavailable")
    with pytest.raises(GraphUnavailable):
        await fake.update_event(TENANT, ada, made["id"], {"subject": "Changed"})
    with pytest.raises(GraphUnavailable):
        await fake.delete_event(TENANT, ada, made["id"])
    [stored] = fake.events(TENANT, ada)
    assert stored["subject"] == "Stays" and stored["changeKey"] == made["changeKey"]
    assert [c[0] for c in fake.calls] == ["create_event", "update_event", "delete_event"]


async def test_fake_random_faults_are_reproducible_and_only_hit_writes() -> None:
    async def run(seed: int) -> list[tuple[str, str]]:
        fake, ada = seeded_fake(faults=Faults(random.Random(seed), unavailable=0.3, lost_answer=0.3, timeout=0.1))
        for i in range(40):
            try:
                await fake.create_event(TENANT, ada, body(f"E{i}", hours=i, transactionId=f"t{i}"))
            except GraphUnavailable:
                pass
            await fake.find_events(TENANT, ada, PROPERTY_ID, "x")  # a read: never faulted
        stored = len(fake.events(TENANT, ada))
        lost = sum(1 for _, kind in fake.faults.injected if kind != "unavailable")
        assert stored == 40 - (len(fake.faults.injected) - lost)
        return fake.faults.injected

    first = await run(7)
    assert first == await run(7) and first != await run(8)
    assert {kind for _, kind in first} == {"unavailable", "lost_answer", "timeout"}
    assert {op for op, _ in first} == {"create_event"}


async def test_fake_outlook_edits_show_in_delta() -> None:
    fake, ada = seeded_fake()
    ours = await fake.create_event(TENANT, ada, body("Ours", tag="a-1"))
    _, link = await fake.delta(TENANT, ada, None, *WINDOW)
    theirs = fake.outlook_create(TENANT, ada, body("Dentist", hours=4))
    edited = fake.outlook_update(TENANT, ada, ours["id"], {"subject": "Ours, moved"})
    assert edited["changeKey"] != ours["changeKey"]
    items, link = await fake.delta(TENANT, ada, link, *WINDOW)
    assert {i["id"]: i["subject"] for i in items} == {ours["id"]: "Ours, moved", theirs["id"]: "Dentist"}
    fake.outlook_delete(TENANT, ada, theirs["id"])
    items, _ = await fake.delta(TENANT, ada, link, *WINDOW)
    assert items == [{"@odata.type": "#microsoft.graph.event", "id": theirs["id"], "@removed": {"reason": "deleted"}}]
    assert fake.count("create_event") == 1  # Outlook's changes are not our Graph calls
