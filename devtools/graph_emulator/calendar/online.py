"""Online meetings on events: `isOnlineMeeting`, `onlineMeetingProvider`, `onlineMeeting`
(GD:api-reference/v1.0/resources/event.md, resources/onlinemeetinginfo.md,
resources/calendar.md; the example "Create and enable an event as an online meeting" of
api/user-post-events.md and api/calendar-post-events.md).

- Setting `isOnlineMeeting: true` (with `onlineMeetingProvider: teamsForBusiness`, or no
  provider: the calendar's defaultOnlineMeetingProvider) initialises `onlineMeeting` with a
  Teams `joinUrl` and a `conferenceId`, kept for the event's life; attendee copies and a
  series' occurrences carry the organizer's.
- event.md: "Subsequently Outlook ignores any further changes to isOnlineMeeting, and the
  meeting remains available online"; "you cannot change the isOnlineMeeting,
  onlineMeetingProvider, and onlineMeeting properties again". A `false` afterwards is
  ignored; another provider is refused (400: less forgiving than "cannot").
- A calendar allows `teamsForBusiness` only (calendar.md allowedOnlineMeetingProviders; the
  values are the emulator's, as for a Teams-enabled work tenant), and nothing for a user seeded
  with `"teams": false` (no Teams licence). A provider the calendar does not allow is refused
  quietly: 201/200 with `isOnlineMeeting: false`, `onlineMeetingProvider: "unknown"`, no
  `onlineMeeting` (docs-contrib issues #4625 and #1027: "working for some user but not for all").
- A provider without `isOnlineMeeting: true` on an event that is not online → 400: event.md
  says both that setting the provider initialises the meeting and that "the isOnlineMeeting
  and onlineMeetingProvider properties" do; the emulator makes the client set both.
- Exchange writes the Teams join block into the body when the meeting goes online: a grey
  line of underscores, a "Join Microsoft Teams Meeting" link to the joinUrl, meeting
  options, another line (concepts/outlook-calendar-online-meetings.md, the 201 example's
  `body` and `bodyPreview`). A later PATCH of the body replaces it all (docs silent: the
  block is not written again, so a client that rewrites the body must keep it itself).
"""

from __future__ import annotations

import base64
import html
import json
import re
import secrets
import uuid
from typing import Any
from urllib.parse import quote

from devtools.graph_emulator.calendar.models import Event
from devtools.graph_emulator.core.errors import GraphError
from devtools.graph_emulator.core.world import World

PROVIDERS = ("unknown", "teamsForBusiness", "skypeForBusiness", "skypeForConsumer")  # event.md
ALLOWED = ("teamsForBusiness",)  # a Teams user's calendar's allowedOnlineMeetingProviders (emulator choice)
DEFAULT = "teamsForBusiness"  # every calendar's defaultOnlineMeetingProvider (emulator choice)
_KEYS = ("isOnlineMeeting", "onlineMeetingProvider", "onlineMeeting", "onlineMeetingUrl")


def _refuse(message: str) -> Exception:
    return GraphError(400, "ErrorInvalidRequest", message)


def join_info(world: World, ev: Event) -> dict[str, Any]:
    """A Teams meeting's onlineMeetingInfo, shaped as the docs' example answers it: a
    meetup-join URL (thread id, tenant and organizer object id in its context) and a
    numeric conferenceId. No dial-in numbers (they need an audio-conferencing licence)."""
    organizer = world.user(ev.mailbox_id)
    tenant_id = organizer.tenant_id if organizer else ""
    thread = base64.b64encode(str(uuid.uuid4()).encode()).decode()
    context = json.dumps({"Tid": tenant_id, "Oid": ev.mailbox_id}, separators=(",", ":"))
    lower = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(context, safe=""))
    return {
        "joinUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{thread}%40thread.v2/0?context={lower}",
        "conferenceId": str(secrets.randbelow(9 * 10**8) + 10**8),
        "tollNumber": None,
        "tollFreeNumbers": [],
        "phones": [],
        "quickDial": None,
    }


def plan(world: World, ev: Event, body: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """Check the online-meeting properties of a create or PATCH body before anything of the
    event changes: the (provider, onlineMeetingInfo) to give the event, or None."""
    if not any(k in body for k in _KEYS):
        return None
    wanted = body.get("isOnlineMeeting")
    if wanted is not None and not isinstance(wanted, bool):
        raise GraphError(400, "RequestBodyRead", "Cannot convert the value of 'isOnlineMeeting' to a Boolean.")
    provider = body.get("onlineMeetingProvider")
    if provider is not None and provider not in PROVIDERS:
        raise GraphError(
            400, "RequestBodyRead", f"Requested value '{provider}' was not found for 'onlineMeetingProvider'."
        )
    # event.md: both are "Read-only"; echoing the meeting's own joinUrl back is let through.
    given = body.get("onlineMeeting")
    current = (ev.online_meeting or {}).get("joinUrl")
    if given is not None and (not isinstance(given, dict) or current is None or given.get("joinUrl") != current):
        raise _refuse("The onlineMeeting property is read-only.")
    if body.get("onlineMeetingUrl") is not None:
        raise _refuse("The onlineMeetingUrl property is read-only.")
    if ev.online_meeting is not None:
        # Online for good: isOnlineMeeting false is ignored; the provider can't change.
        if provider not in (None, ev.online_provider):
            raise _refuse(f"The onlineMeetingProvider of an online meeting can't be changed from {ev.online_provider}.")
        return None
    if not wanted:
        if provider not in (None, "unknown"):
            raise _refuse("Set isOnlineMeeting to true together with onlineMeetingProvider to make an online meeting.")
        return None
    chosen = DEFAULT if provider in (None, "unknown") else provider
    if chosen not in allowed(world, ev):
        return None  # refused quietly: the event is made, not online (issue #4625)
    if not ev.is_organizer:
        raise _refuse("Only the organizer can make a meeting an online meeting.")
    if ev.kind in ("occurrence", "exception"):  # docs silent: the series' master carries it
        raise _refuse("Make the series master an online meeting, not one occurrence.")
    return chosen, join_info(world, ev)


_LINE = (
    '<div style="width:100%; height:20px"><span style="white-space:nowrap; color:gray; opacity:.36">'
    + "_" * 80
    + "</span>\r\n</div>\r\n"
)


def with_join_block(html_body: str, info: dict[str, Any]) -> str:
    """`html_body` with the Teams join block Exchange adds at its end (inside <body>)."""
    url = html.escape(str(info.get("joinUrl") or ""), quote=True)
    block = (
        _LINE
        + '<div class="me-email-text" style="color:#252424; font-family:\'Segoe UI\',Helvetica,Arial,sans-serif">\r\n'
        + f'<div style="margin-top:24px; margin-bottom:10px"><a class="me-email-headline" href="{url}" '
        + 'target="_blank" rel="noreferrer noopener">Join\r\n Microsoft Teams Meeting</a> </div>\r\n'
        + '<div style="margin-bottom:24px"><a class="me-email-link" target="_blank" '
        + 'href="https://aka.ms/JoinTeamsMeeting" rel="noreferrer noopener">Learn more about Teams</a></div>\r\n'
        + "</div>\r\n"
        + _LINE
    )
    at = html_body.rfind("</body>")
    return html_body + block if at < 0 else html_body[:at] + block + html_body[at:]


def allowed(world: World, ev: Event) -> tuple[str, ...]:
    """The organizer calendar's allowedOnlineMeetingProviders."""
    user = world.user(ev.mailbox_id)
    return ALLOWED if user is None or user.teams else ()


def copy_to(target: Event, source: Event) -> None:
    """An attendee's copy (or an occurrence) shows the organizer's meeting: the same join URL."""
    target.online_provider = source.online_provider
    target.online_meeting = dict(source.online_meeting) if source.online_meeting else None


def render(ev: Event) -> dict[str, Any]:
    return {
        "isOnlineMeeting": ev.online_meeting is not None,
        "onlineMeetingProvider": ev.online_provider,
        # event.md: onlineMeetingUrl "is set only when an organizer specifies in Outlook that an
        # event is an online meeting such as Skype … use joinUrl": null here, as in the example.
        "onlineMeetingUrl": None,
        "onlineMeeting": dict(ev.online_meeting) if ev.online_meeting else None,
    }
