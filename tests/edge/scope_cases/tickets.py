"""Scope cases of the tickets service: two communities, a public and a private (in-home) report in ``a``.

Side ``a``'s markers are what only its reporter and its community's staff may see: the reporter's id,
the unit, and of the private report its building and description. The caller of role ``volunteer``
on side ``a`` is the reporter's own id (a resident who also volunteers): "self" is by ``sub``.
"""

from __future__ import annotations

import io

from PIL import Image

from tests.edge.scope_cases import Api, Call, Case, World, export_cases, unique

BASE = "/api/tickets"
TICKET = BASE + "/tickets/{ticket_id}"
CITY_STAFF = Api.headers("staff:scope-city", "staff", communities=["*"])


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def seed(api: Api) -> World:
    world = World()
    a, b = unique("scope-a"), unique("scope-b")
    sub_a, sub_b = f"resident:{unique('scope-a')}", f"resident:{unique('scope-b')}"
    unit, building, secret = unique("U"), unique("B"), unique("燃气软管开裂")
    kpi_category = unique("scope-kpi")
    world.ids.update(community_a=a, community_b=b, sub_a=sub_a, kpi_category=kpi_category)
    world.markers["a"] = [sub_a, unit, building, secret]
    world.callers.update(
        {
            ("resident", "a"): Api.headers(sub_a, "resident", community=a),
            ("resident", "b"): Api.headers(sub_b, "resident", community=b),
            ("volunteer", "a"): Api.headers(sub_a, "volunteer", community=a),
            ("volunteer", "b"): Api.headers(sub_b, "volunteer", community=b),
            ("staff", "a"): Api.headers(f"staff:{unique('a')}", "staff", communities=[a]),
            ("staff", "b"): Api.headers(f"staff:{unique('b')}", "staff", communities=[b]),
        }
    )
    world.ids["neighbour_a"] = Api.headers(f"resident:{unique('n')}", "resident", community=a)
    world.ids["volunteer_neighbour_a"] = Api.headers(f"volunteer:{unique('n')}", "volunteer", community=a)
    api.ok(
        "PUT",
        BASE + f"/categories/{kpi_category}",
        CITY_STAFF,
        Call(json={"name": "范围测试", "pool": "scope-none", "response_hours": 24, "resolution_hours": 72}),
    )
    world.ids["public"] = _report(api, world, "street_light")
    world.ids["private"] = _report(api, world, "home_hazard", building=building, description=f"3层厨房 {secret}")
    world.ids["kpi"] = _report(api, world, kpi_category)
    api.ok(
        "POST",
        BASE + "/tickets",
        world.caller("resident", "b"),
        Call(json={"category": "street_light", "title": "路灯", "description": "不亮", "community": b}),
    )
    return world


def _report(api: Api, world: World, category: str, **fields: str) -> str:
    body = {
        "category": category,
        "title": "范围测试报事",
        "description": "范围测试",
        "community": world.ids["community_a"],
        "unit": world.markers["a"][1],
        **fields,
    }
    return api.ok("POST", BASE + "/tickets", world.caller("resident", "a"), Call(json=body))["id"]


def _fresh(api: Api, world: World, *steps: tuple[str, dict]) -> str:
    """A new public report of side ``a``, moved through ``steps`` by city-wide staff."""
    ticket_id = _report(api, world, "street_light")
    for action, body in steps:
        api.ok("POST", TICKET.format(ticket_id=ticket_id) + f"/{action}", CITY_STAFF, Call(json=body))
    return ticket_id


ACK = ("acknowledge", {})
ASSIGNED = ("assign", {"assignee": "staff:scope-worker"})
RESOLVED = ("resolve", {"note": "已修复"})


def _on(*steps: tuple[str, dict], **body):  # type: ignore[no-untyped-def]
    return lambda api, world: Call(params={"ticket_id": _fresh(api, world, *steps)}, json=body or None)


def _existing(key: str):  # type: ignore[no-untyped-def]
    return lambda api, world: Call(params={"ticket_id": world.ids[key]})


def _ids(world: World) -> list[str]:
    return [world.ids["public"], world.ids["private"], world.ids["kpi"]]


def _new_report(api: Api, world: World) -> Call:
    return Call(
        json={"category": "street_light", "title": "路灯", "description": "不亮", "community": world.ids["community_a"]}
    )


def _photo(api: Api, world: World) -> Call:
    return Call(params={"ticket_id": world.ids["public"]}, files=[("photo", ("p.png", _png(), "image/png"))])


def _list(api: Api, world: World) -> Call:
    return Call(query={"community": world.ids["community_a"]})


CASES = [
    Case("POST", BASE + "/tickets", "resident", _new_report),
    Case("POST", BASE + "/tickets", "staff", _new_report),
    Case("GET", BASE + "/tickets", "resident", _list, shape="list", hidden=_ids),
    Case("GET", BASE + "/tickets", "volunteer", _list, shape="list", hidden=_ids),
    Case("GET", BASE + "/tickets", "staff", _list, shape="list", hidden=_ids),
    Case("GET", TICKET, "resident", _existing("private")),
    Case("GET", TICKET, "volunteer", _existing("private")),
    Case("GET", TICKET, "staff", _existing("private")),
    Case("POST", TICKET + "/photos", "resident", _photo),
    Case("POST", TICKET + "/photos", "staff", _photo),
    Case("POST", TICKET + "/follow", "resident", _existing("public"), inside=lambda w: w.ids["neighbour_a"]),
    Case("POST", TICKET + "/follow", "volunteer", _existing("public"), inside=lambda w: w.ids["volunteer_neighbour_a"]),
    Case("POST", TICKET + "/acknowledge", "staff", _on()),
    Case("POST", TICKET + "/assign", "staff", _on(ACK, assignee="staff:scope-worker")),
    Case("POST", TICKET + "/start", "staff", _on(ACK, ASSIGNED)),
    Case("POST", TICKET + "/resolve", "staff", _on(ACK, note="已修复")),
    Case("POST", TICKET + "/close", "staff", _on(reason="duplicate", note="重复报事")),
    Case("POST", TICKET + "/rate", "resident", _on(ACK, RESOLVED, rating=5)),
    Case("POST", TICKET + "/rate", "volunteer", _on(ACK, RESOLVED, rating=4)),
    Case("POST", TICKET + "/reopen", "resident", _on(ACK, RESOLVED, comment="还是不亮")),
    Case("POST", TICKET + "/reopen", "volunteer", _on(ACK, RESOLVED, comment="还是不亮")),
    Case("POST", TICKET + "/withdraw", "resident", _on()),
    Case("POST", TICKET + "/withdraw", "volunteer", _on()),
    Case("GET", BASE + "/kpis", "staff", lambda api, world: Call(), hidden=lambda w: [w.ids["kpi_category"]]),
]
CASES += export_cases(BASE)
