"""Scope cases of notify: a resident of community ``a`` with an in-app message and a held delivery.

The seed registers resident ``a`` as a recipient of community ``a`` (a WeCom bot channel, digest
twelve hours away so the delivery waits and nothing is sent), files a report as them and lets staff
acknowledge it: notify writes an in-app message and a delivery for them. Side ``a``'s markers are
their id and the report's title; every role's side-``a`` caller carries the resident's own id (the
inbox and preferences are "self", by ``sub``).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from shared.identity import ROLES
from tests.edge.scope_cases import Api, Call, Case, World, export_cases, unique

BASE = "/api/notify"
CITY_STAFF = Api.headers("staff:scope-notify-city", "staff", communities=["*"])


def seed(api: Api) -> World:
    world = World()
    a, b = unique("scope-a"), unique("scope-b")
    sub_a, sub_b = f"0-resident:{unique('a')}", f"0-resident:{unique('b')}"
    title = unique("范围通知")
    world.ids.update(community_a=a, sub_a=sub_a)
    world.markers["a"] = [sub_a, title]
    for role in ROLES:
        world.callers[(role, "a")] = Api.headers(sub_a, role, communities=[a])
        world.callers[(role, "b")] = Api.headers(sub_b, role, communities=[b])
    digest = (datetime.now(ZoneInfo("Asia/Shanghai")).hour + 12) % 24
    api.ok(
        "PUT",
        BASE + f"/recipients/{sub_a}",
        CITY_STAFF,
        Call(
            json={
                "display_name": "范围测试居民",
                "community": a,
                "channels": [{"name": "wecom", "url": "wecombot://scopetestkey0123456789"}],
                "digest_hour": digest,
            }
        ),
    )
    api.ok("PUT", BASE + f"/recipients/{sub_b}", CITY_STAFF, Call(json={"display_name": "范围乙", "community": b}))
    reporter = Api.headers(sub_a, "resident", community=a)
    body = {"category": "street_light", "title": title, "description": "范围测试", "community": a}
    ticket = api.ok("POST", "/api/tickets/tickets", reporter, Call(json=body))["id"]
    api.ok("POST", f"/api/tickets/tickets/{ticket}/acknowledge", CITY_STAFF)
    inbox = api.eventually(lambda: api.ok("GET", BASE + "/inbox", reporter)["items"])
    world.ids["note"] = str(inbox[0]["id"])
    api.eventually(lambda: api.ok("GET", BASE + "/deliveries", CITY_STAFF, Call(query={"recipient": sub_a}))["items"])
    notice = {"community": a, "building": "5", "title": "范围停水", "body": "范围测试"}
    world.ids["notice"] = api.ok("POST", BASE + "/notices", CITY_STAFF, Call(json=notice))["id"]
    return world


def _nothing(api: Api, world: World) -> Call:
    return Call()


def _note(api: Api, world: World) -> Call:
    return Call(params={"note_id": world.ids["note"]})


def _recipient(api: Api, world: World) -> Call:
    return Call(params={"user_id": world.ids["sub_a"]})


def _own_cases(role: str) -> list[Case]:
    """The routes every role reaches for its own messages and preferences."""
    return [
        Case("GET", BASE + "/inbox", role, _nothing, shape="list"),
        Case("GET", BASE + "/inbox/unread-count", role, _nothing),
        Case("POST", BASE + "/inbox/read-all", role, _nothing),
        Case("POST", BASE + "/inbox/{note_id}/read", role, _note),
        Case("POST", BASE + "/inbox/{note_id}/archive", role, _note),
        Case("GET", BASE + "/inbox/stream", role, lambda api, world: Call(query={"after": 0}), stream=True),
        Case("GET", BASE + "/preferences", role, _nothing),
        Case("PUT", BASE + "/preferences", role, lambda api, world: Call(json={"language": "zh-CN"})),
    ]


CASES = [case for role in ROLES for case in _own_cases(role)] + [
    Case("GET", BASE + "/recipients", "staff", _nothing, shape="list", hidden=lambda w: [w.ids["sub_a"]]),
    Case("GET", BASE + "/recipients/{user_id}", "staff", _recipient),
    Case(
        "PUT",
        BASE + "/recipients/{user_id}",
        "staff",
        lambda api, world: Call(
            params={"user_id": world.ids["sub_a"]},
            json={"display_name": "范围测试居民", "community": world.ids["community_a"]},
        ),
    ),
    Case(
        "POST",
        BASE + "/notices",
        "staff",
        lambda api, world: Call(
            json={"community": world.ids["community_a"], "building": "5", "title": "停水", "body": "明天停水"}
        ),
        ok=(201,),
    ),
    Case(
        "GET",
        BASE + "/notices/{notice_id}",
        "staff",
        lambda api, world: Call(params={"notice_id": world.ids["notice"]}),
    ),
    Case(
        "GET",
        BASE + "/deliveries",
        "staff",
        lambda api, world: Call(query={"recipient": world.ids["sub_a"]}),
        shape="list",
        hidden=lambda w: [w.ids["sub_a"]],
    ),
]
CASES += export_cases(BASE)
