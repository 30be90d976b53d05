"""oneWay's choice of what to put back (shared/core/one_way.py, pure): which Outlook changes
are undone, and what the booking product hears of it."""

from __future__ import annotations

from shared.core.changes import NewChange
from shared.core.one_way import restores


def change(kind: str, appointment: str, event_id: str, **data: object) -> NewChange:
    return NewChange(kind, appointment, mailbox="uid-1", event_id=event_id, data=dict(data), worker="w1")


def test_a_restored_change_says_where_and_whose_as_the_outlook_change_did() -> None:
    out = restores([change("updated", "a1", "e1", changed=["title"])], {"e1"}, {})
    [restored] = out.reported
    assert (restored.type, restored.appointment, restored.mailbox, restored.event_id, restored.worker) == (
        "restored",
        "a1",
        "uid-1",
        "e1",
        "w1",
    )
    assert restored.resource is None and restored.data == {"deleted": False, "changed": ["title"]}


def test_occurrences_are_put_back_only_for_our_series_and_not_when_the_whole_series_is() -> None:
    ours = {"s1": "M1"}
    changes = [
        change("responded", "s1", "M1", response="accepted", address="fuji@x.test"),  # no occurrence in it
        change("occurrence_updated", "other", "O-1", occurrence="2026-12-08", changed=["start"]),  # not ours
        change("occurrence_updated", "s1", "M1-8", occurrence="2026-12-08", changed=["start"]),
        change("occurrence_deleted", "s1", "M1-15", occurrence="2026-12-15"),
    ]
    out = restores(changes, {"M1"}, ours)
    assert out.occurrences == {"s1": {"2026-12-08": False, "2026-12-15": True}}
    assert out.events == {"s1": "M1"} and out.restore == []
    assert [(c.data["occurrence"], c.data["deleted"], c.data["changed"]) for c in out.reported] == [
        ("2026-12-08", False, ["start"]),
        ("2026-12-15", True, []),
    ]
    # The series deleted as a whole in the same round: its occurrences are not put back one by one.
    whole = restores([change("deleted", "s1", "M1"), *changes], {"M1"}, ours)
    assert whole.restore == [("s1", True)] and whole.occurrences == {}
