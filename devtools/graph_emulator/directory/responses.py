"""Users over HTTP: `/users` ($filter, $search, $select, advanced queries) and
`/users/{id}/mailboxSettings`."""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import urlencode

from devtools.graph_emulator.core.errors import GraphError
from devtools.graph_emulator.core.odata import ODataError, parse_filter
from devtools.graph_emulator.core.wire import Call, Handler, Host, Reply
from devtools.graph_emulator.directory.models import USER_DEFAULT_PROPERTIES, User
from devtools.graph_emulator.directory.working_hours import working_hours

# Directory $filter operators that need ConsistencyLevel: eventual + $count=true
# (concepts/aad-advanced-queries.md; concepts/filter-query-parameter.md), and ones Graph
# does not support on users at all (includes/filter-directory-objects.md lists none of them).
ADVANCED_OPERATORS = {"ne": "ne", "not": "not", "endswith": "endsWith", "count": "$count"}

UNSUPPORTED_USER_OPERATORS = {"gt", "lt", "contains"}


class DirectoryApi:
    """The users routes."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", "/users", self.list_users),
            ("GET", "/users/{user}", self.get_user),
            ("GET", "/users/{user}/mailboxSettings", self.mailbox_settings),
            ("GET", "/users/{user}/mailboxSettings/userPurpose", self.user_purpose),
        ]

    # -- users -------------------------------------------------------------------------------
    @staticmethod
    def _user_view(user: User, select: str | None) -> dict[str, Any]:
        """The default properties, or exactly the $select-ed ones (user-get.md, examples 1 and 3)."""
        full = user.to_json()
        if not select:
            return {k: full[k] for k in USER_DEFAULT_PROPERTIES}
        wanted = {s.strip().lower() for s in select.split(",") if s.strip()}
        return {k: v for k, v in full.items() if k.lower() in wanted}

    @staticmethod
    def _advanced(call: Call) -> bool:
        """ConsistencyLevel: eventual and $count=true: the "advanced query parameters"."""
        eventual = call.headers.get("ConsistencyLevel", "").strip().lower() == "eventual"
        return eventual and call.query.get("$count", "").lower() == "true"

    async def list_users(self, call: Call) -> Reply:
        eventual = call.headers.get("ConsistencyLevel", "").strip().lower() == "eventual"
        advanced = self._advanced(call)
        users = list(call.tenant.users.values())
        if call.query.get("$search") is not None:
            if not eventual:
                raise GraphError(
                    400,
                    "Request_UnsupportedQuery",
                    "Request with $search query parameter only works through MSGraph with a special request "
                    "header: 'ConsistencyLevel: eventual'",
                )
            users = [u for u in users if _search_matches(u.to_json(), call.query["$search"])]
        if call.query.get("$filter"):
            try:
                pred = parse_filter(call.query["$filter"])
            except ODataError as exc:
                raise GraphError(400, "Request_UnsupportedQuery", str(exc)) from None
            unsupported = sorted(pred.features & UNSUPPORTED_USER_OPERATORS)
            if unsupported:
                raise GraphError(
                    400,
                    "Request_UnsupportedQuery",
                    f"Unsupported or invalid query filter clause specified for operator '{unsupported[0]}' of "
                    "resource 'User'.",
                )
            needed = [name for key, name in ADVANCED_OPERATORS.items() if key in pred.features]
            needed += sorted(f[len("lambda:") :] for f in pred.features if f.startswith("lambda:"))
            if call.query.get("$orderby"):
                needed.append("$orderby with $filter")
            if needed and not advanced:
                raise GraphError(
                    400,
                    "Request_UnsupportedQuery",
                    f"Operator '{needed[0]}' is not supported because the required parameters might be missing. "
                    "Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to "
                    "https://aka.ms/graph-docs/advanced-queries for more information",
                )
            users = [u for u in users if pred(u.to_json())]
        select = call.query.get("$select")
        values = [self._user_view(u, select) for u in users]
        size = call.page_size(100, 999)
        offset = int(base64.urlsafe_b64decode(call.query["$skiptoken"]).decode()) if call.query.get("$skiptoken") else 0
        context = self.host.context(call, f"users({select})" if select else "users")
        body: dict[str, Any] = {"@odata.context": context}
        if eventual and call.query.get("$count", "").lower() == "true" and offset == 0:
            body["@odata.count"] = len(values)  # paging.md: only on the first page
        body["value"] = values[offset : offset + size]
        if offset + size < len(values):
            query = {k: v for k, v in call.query.items() if k != "$skiptoken"}
            query["$skiptoken"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
            body["@odata.nextLink"] = f"{call.base}/users?{urlencode(query)}"
        return Reply(200, body)

    async def get_user(self, call: Call) -> Reply:
        user = self.host.user(call, mailbox=False)
        select = call.query.get("$select")
        context = self.host.context(call, f"users({select})/$entity" if select else "users/$entity")
        return Reply(200, {"@odata.context": context, **self._user_view(user, select)})

    async def mailbox_settings(self, call: Call) -> Reply:
        user = self.host.user(call)
        return Reply(
            200,
            {
                "@odata.context": self.host.context(call, f"users('{user.id}')/mailboxSettings"),
                "archiveFolder": "",
                "timeZone": user.time_zone,
                "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
                "dateFormat": "yyyy-MM-dd",
                "timeFormat": "HH:mm",
                "userPurpose": user.user_purpose,
                "automaticRepliesSetting": {
                    "status": "disabled",
                    "externalAudience": "all",
                    "internalReplyMessage": "",
                    "externalReplyMessage": "",
                },
                "language": {"locale": "en-US", "displayName": "English (United States)"},
                "workingHours": working_hours(user),
            },
        )

    async def user_purpose(self, call: Call) -> Reply:
        user = self.host.user(call)
        return Reply(
            200,
            {
                "@odata.context": self.host.context(call, f"users('{user.id}')/mailboxSettings/userPurpose"),
                "value": user.user_purpose,
            },
        )


def _search_matches(user: dict[str, Any], search: str) -> bool:
    """`$search="property:text"` clauses joined by AND/OR: a word of the property starts with
    the text (concepts/search-query-parameter.md tokenizes directory properties)."""
    clauses = re.findall(r'"([^":]+):([^"]*)"|\b(AND|OR)\b', search)
    result: bool | None = None
    joiner = "OR"
    for prop, text, op in clauses:
        if op:
            joiner = op
            continue
        value = next((v for k, v in user.items() if k.lower() == prop.lower()), None)
        words = re.split(r"[^0-9A-Za-z]+", str(value or "").lower())
        hit = any(w.startswith(text.lower()) for w in words if w) if text else True
        result = hit if result is None else (result and hit if joiner == "AND" else result or hit)
    return bool(result)
