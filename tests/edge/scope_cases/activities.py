"""Scope cases of the activities service: one community's room, workshop, sign-up, room booking and
小修小补 job, and callers inside and outside of each.

Rooms, the programme, artisans and their sittings are public to everyone signed in; side ``a``'s
markers are what only its household, the organiser or artisan, and its community's staff may see:
the child's name on a sign-up, its id and check-in code, the group and id of a room booking, the item
and id of a repair booking.

The callers: staff serving community ``a`` or ``b``; the resident of household ``a`` and, as the
out-of-scope one, a neighbour of another household *in the same community* (household scope is not
community scope); the volunteer who organises the workshop and is the artisan, and another volunteer
of the same community (``self`` scope). A command creating a record is checked by a tag in its body
(``hidden=_tag``): a wrongly successful out-of-scope call shows it back. Commands that use a record up
(a cancellation, an answer to an offer, a check-in) make a fresh one first.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.edge.scope_cases import Api, Call, Case, World, export_cases, unique

BASE = "/api/activities"
ACTIVITY = BASE + "/activities/{activity_id}"
SIGNUP = BASE + "/signups/{signup_id}"
CITY_STAFF = Api.headers("staff:scope-city-activities", "staff", communities=["*"])
_SLOTS = itertools.count()
_FIRST = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=20)


def _slot() -> str:
    """A start no other session or booking of this run's room takes (rooms are never double-booked)."""
    return (_FIRST + timedelta(hours=2 * next(_SLOTS))).isoformat()


def _a(world: World, key: str) -> Any:
    return world.ids[key]


def _activity(api: Api, world: World, **fields: Any) -> dict:
    body = {"venue_id": _a(world, "venue"), "title": "剪纸", "starts_at": _slot(), "minutes": 60}
    body |= {"capacity": 50, "organiser": _a(world, "organiser")} | fields
    return api.ok("POST", BASE + "/activities", CITY_STAFF, Call(json=body))["sessions"][0]


def _sign_up(api: Api, world: World, activity_id: str, who: dict[str, str] | None = None) -> dict:
    body = {"participant": unique("孩子")[:32]}
    headers = who or world.caller("resident", "a")
    return api.ok("POST", ACTIVITY.format(activity_id=activity_id) + "/signups", headers, Call(json=body))


def _room_booking(api: Api, world: World) -> dict:
    body = {"group_name": "夕阳红舞蹈队", "starts_at": _slot(), "minutes": 60}
    url = BASE + f"/venues/{_a(world, 'venue')}/bookings"
    return api.ok("POST", url, world.caller("resident", "a"), Call(json=body))


def _repair(api: Api, world: World, item: str = "鞋跟") -> dict:
    url = BASE + f"/repair-sessions/{_a(world, 'sitting')}/bookings"
    return api.ok("POST", url, world.caller("resident", "a"), Call(json={"item": item}))


def seed(api: Api) -> World:
    world = World()
    a, b = unique("scope-a"), unique("scope-b")
    organiser = f"volunteer:{unique('organiser')}"
    child, group, item = unique("小明"), unique("舞蹈队"), unique("裤脚改短")
    world.ids.update(community=a, organiser=organiser)
    world.callers.update(
        {
            ("staff", "a"): Api.headers(f"staff:{unique('a')}", "staff", communities=[a]),
            ("staff", "b"): Api.headers(f"staff:{unique('b')}", "staff", communities=[b]),
            ("resident", "a"): Api.headers(f"resident:{unique('a')}", "resident", community=a, household=unique("H")),
            ("resident", "b"): Api.headers(f"resident:{unique('b')}", "resident", community=a, household=unique("H")),
            ("volunteer", "a"): Api.headers(organiser, "volunteer", community=a),
            ("volunteer", "b"): Api.headers(f"volunteer:{unique('b')}", "volunteer", community=a),
        }
    )
    world.ids["far_resident"] = Api.headers(f"resident:{unique('far')}", "resident", community=b, household=unique("H"))
    world.ids["filler"] = Api.headers(f"resident:{unique('f')}", "resident", community=a, household=unique("H"))
    room = {"community": a, "name": "会议室", "capacity": 50, "needs_approval": True}
    world.ids["venue"] = api.ok("POST", BASE + "/venues", CITY_STAFF, Call(json=room))["id"]
    spare = {"community": a, "name": "儿童活动室", "capacity": 20}
    world.ids["spare"] = api.ok("POST", BASE + "/venues", CITY_STAFF, Call(json=spare))["id"]
    world.ids["activity"] = _activity(api, world)["id"]
    signup = api.ok(
        "POST",
        ACTIVITY.format(activity_id=world.ids["activity"]) + "/signups",
        world.caller("resident", "a"),
        Call(json={"participant": child[:32], "age": 8}),
    )
    booking = api.ok(
        "POST",
        BASE + f"/venues/{world.ids['venue']}/bookings",
        world.caller("resident", "a"),
        Call(json={"group_name": group, "purpose": "排练", "starts_at": _slot(), "minutes": 60}),
    )
    artisan = {"community": a, "name": "谷春肖", "trades": ["缝补"], "user": organiser}
    world.ids["artisan"] = api.ok("POST", BASE + "/artisans", CITY_STAFF, Call(json=artisan))["id"]
    sitting = {"place": "小区广场", "starts_at": _slot(), "minutes": 180, "capacity": 200}
    url = BASE + f"/artisans/{world.ids['artisan']}/sessions"
    world.ids["sitting"] = api.ok("POST", url, CITY_STAFF, Call(json=sitting))["id"]
    repair = _repair(api, world, item)
    world.ids.update(signup=signup["id"], booking=booking["id"], repair=repair["id"], item=item)
    world.markers["a"] = [child[:32], signup["id"], signup["checkin_code"], group, booking["id"], item, repair["id"]]
    return world


# -- calls ------------------------------------------------------------------------------------------


def _none(api: Api, world: World) -> Call:
    return Call()


def _tag(world: World) -> list[str]:
    """What the last call's body named: a wrongly successful out-of-scope command shows it back."""
    return [world.ids["tag"]]


def _tagged(world: World, label: str) -> str:
    world.ids["tag"] = unique(label)
    return str(world.ids["tag"])


def _new_venue(api: Api, world: World) -> Call:
    return Call(json={"community": _a(world, "community"), "name": _tagged(world, "活动室"), "capacity": 10})


def _spare(**body: Any):  # type: ignore[no-untyped-def]
    return lambda api, world: Call(params={"venue_id": _a(world, "spare")}, json=body)


def _new_activity(api: Api, world: World) -> Call:
    body = {"venue_id": _a(world, "venue"), "title": _tagged(world, "陶艺"), "starts_at": _slot(), "minutes": 60}
    return Call(json=body)


def _fresh_activity(**body: Any):  # type: ignore[no-untyped-def]
    return lambda api, world: Call(params={"activity_id": _activity(api, world)["id"]}, json=body or None)


def _main_activity(**body: Any):  # type: ignore[no-untyped-def]
    return lambda api, world: Call(params={"activity_id": _a(world, "activity")}, json=body or None)


def _signup(api: Api, world: World) -> Call:
    return Call(params={"signup_id": _a(world, "signup")})


def _fresh_signup(**body: Any):  # type: ignore[no-untyped-def]
    return lambda api, world: Call(
        params={"signup_id": _sign_up(api, world, _a(world, "activity"))["id"]}, json=body or None
    )


def _offered(api: Api, world: World) -> Call:
    """A sign-up of household ``a`` offered the place another household gave back."""
    activity = _activity(api, world, capacity=1)["id"]
    first = _sign_up(api, world, activity, world.ids["filler"])
    waiting = _sign_up(api, world, activity)
    api.ok("POST", SIGNUP.format(signup_id=first["id"]) + "/cancel", world.ids["filler"])
    return Call(params={"signup_id": waiting["id"]})


def _checkin(api: Api, world: World) -> Call:
    return Call(json={"code": _sign_up(api, world, _a(world, "activity"))["checkin_code"]})


def _book_room(api: Api, world: World) -> Call:
    group = _tagged(world, "读书会")
    return Call(
        params={"venue_id": _a(world, "venue")}, json={"group_name": group, "starts_at": _slot(), "minutes": 60}
    )


def _fresh_room_booking(**body: Any):  # type: ignore[no-untyped-def]
    return lambda api, world: Call(params={"booking_id": _room_booking(api, world)["id"]}, json=body or None)


def _new_artisan(api: Api, world: World) -> Call:
    return Call(json={"community": _a(world, "community"), "name": _tagged(world, "修表"), "trades": ["修表"]})


def _sitting(api: Api, world: World) -> Call:
    body = {"place": _tagged(world, "3号楼下"), "starts_at": _slot(), "minutes": 60}
    return Call(params={"artisan_id": _a(world, "artisan")}, json=body)


def _take_number(api: Api, world: World) -> Call:
    return Call(params={"session_id": _a(world, "sitting")}, json={"item": "修拉链"})


def _from_ticket(api: Api, world: World) -> Call:
    body = {"ticket_id": unique("T"), "session_id": _a(world, "sitting"), "user": "resident:scope-reporter"}
    return Call(json={**body, "item": _tagged(world, "修伞")})


def _repair_booking(api: Api, world: World) -> Call:
    return Call(params={"booking_id": _a(world, "repair")})


def _fresh_repair(api: Api, world: World) -> Call:
    return Call(params={"booking_id": _repair(api, world)["id"]})


def _report(api: Api, world: World) -> Call:
    return Call(query={"community": _a(world, "community"), "month": _FIRST.strftime("%Y-%m")})


RUNNERS = ("staff", "volunteer")
ACTORS = ("resident", "volunteer", "staff")

CASES = [
    Case("POST", BASE + "/venues", "staff", _new_venue, hidden=_tag),
    Case("PATCH", BASE + "/venues/{venue_id}", "staff", _spare(purpose="范围测试")),
    Case("PUT", BASE + "/venues/{venue_id}/hours", "staff", _spare(rules=[])),
    Case("POST", BASE + "/venues/{venue_id}/closures", "staff", _spare(day="2099-01-01", reason="范围测试")),
    Case("POST", BASE + "/activities", "staff", _new_activity, hidden=_tag),
    *(Case("POST", ACTIVITY + "/cancel", role, _fresh_activity(reason="范围测试")) for role in RUNNERS),
    *(Case("GET", ACTIVITY + "/signups", role, _main_activity(), shape="list") for role in RUNNERS),
    Case("POST", ACTIVITY + "/signups", "resident", _main_activity(participant="self")),
    Case("GET", BASE + "/signups/mine", "resident", _none, shape="list"),
    *(Case("GET", SIGNUP, role, _signup) for role in ACTORS),
    Case("GET", SIGNUP + "/qr", "resident", _signup),  # the door QR: the household's own sign-up only
    *(Case("POST", SIGNUP + "/cancel", role, _fresh_signup()) for role in ACTORS),
    Case("POST", SIGNUP + "/accept", "resident", _offered),
    Case("POST", SIGNUP + "/decline", "resident", _offered),
    *(Case("POST", BASE + "/checkin", role, _checkin) for role in RUNNERS),
    *(Case("POST", SIGNUP + "/attendance", role, _fresh_signup(attended=True)) for role in RUNNERS),
    # a room is for its community's groups: the resident outside lives in community b
    Case(
        "POST",
        BASE + "/venues/{venue_id}/bookings",
        "resident",
        _book_room,
        hidden=_tag,
        outside=lambda w: w.ids["far_resident"],
    ),
    Case("POST", BASE + "/venues/{venue_id}/bookings", "staff", _book_room, hidden=_tag),
    *(Case("GET", BASE + "/room-bookings", role, _none, shape="list") for role in ("resident", "staff")),
    Case("POST", BASE + "/room-bookings/{booking_id}/decision", "staff", _fresh_room_booking(approve=True)),
    *(
        Case("POST", BASE + "/room-bookings/{booking_id}/cancel", r, _fresh_room_booking())
        for r in ("resident", "staff")
    ),
    Case("POST", BASE + "/artisans", "staff", _new_artisan, hidden=_tag),
    *(Case("POST", BASE + "/artisans/{artisan_id}/sessions", r, _sitting, hidden=_tag) for r in RUNNERS),
    Case("POST", BASE + "/repair-sessions/{session_id}/bookings", "resident", _take_number),
    Case("POST", BASE + "/repair-bookings/from-ticket", "staff", _from_ticket, hidden=_tag),
    Case("GET", BASE + "/repair-bookings/mine", "resident", _none, shape="list"),
    *(Case("GET", BASE + "/repair-bookings/{booking_id}", role, _repair_booking) for role in ACTORS),
    *(Case("POST", BASE + "/repair-bookings/{booking_id}/done", role, _fresh_repair) for role in RUNNERS),
    *(Case("POST", BASE + "/repair-bookings/{booking_id}/cancel", role, _fresh_repair) for role in ACTORS),
    Case("GET", BASE + "/reports/monthly", "staff", _report),
    Case("GET", BASE + "/reports/room-use", "staff", _report),
]
CASES += export_cases(BASE)
