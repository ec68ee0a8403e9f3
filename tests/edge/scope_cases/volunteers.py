"""Scope cases of the volunteers service: two communities, each with a team, its leader, a volunteer
paired with an elder (with consent and health data) and a logged visit with a hazard.

Side ``a``'s markers are what only its staff, its team leader and the volunteer paired with its elder
may see: the elder's name and unit, her conditions, the volunteer's name and full phone. The callers:
staff serving one community, the leader recorded on one team (``Team.leader``), the volunteer paired
with one elder. Commands that use a record up (a tier change, a pairing) make a fresh one first.
"""

from __future__ import annotations

from typing import Any

from tests.edge.scope_cases import Api, Call, Case, World, export_cases, unique

BASE = "/api/volunteers"
ELDER = BASE + "/elders/{elder_id}"
CITY_STAFF = Api.headers("staff:scope-city-volunteers", "staff", communities=["*"])
PURPOSE = "范围测试 / scope test"


def _phone() -> str:
    return "139" + str(int(unique("p").split("-")[1], 16) % 10**8).zfill(8)


def _side(api: Api, world: World, side: str) -> None:
    community, team = unique(f"scope-{side}"), unique(f"team-{side}")
    leader, volunteer_sub = f"volunteer:{unique('lead')}", f"volunteer:{unique('vol')}"
    name, unit, condition, phone = unique("老人"), unique("U")[:20], unique("病情"), _phone()
    volunteer_name = unique("志愿者")
    api.ok(
        "PUT",
        BASE + f"/teams/{team}",
        CITY_STAFF,
        Call(json={"name": "范围测试队", "community": community, "leader": leader, "staff_contact": None}),
    )
    volunteer = api.ok(
        "POST",
        BASE + "/volunteers",
        CITY_STAFF,
        Call(json={"name": volunteer_name, "community": community, "user_id": volunteer_sub, "phone": phone}),
    )
    elder = _elder(api, community, team, name=name, unit=unit, conditions=condition)
    api.ok("POST", BASE + "/pairings", CITY_STAFF, Call(json={"elder_id": elder, "volunteer_id": volunteer["id"]}))
    volunteer_headers = Api.headers(volunteer_sub, "volunteer")
    visit = api.ok(
        "POST",
        BASE + "/logs",
        volunteer_headers,
        Call(
            json={
                "elder_id": elder,
                "minutes": 30,
                "notes": condition,
                "hazards": [{"category": "gas", "description": "燃气软管老化", "location": "厨房"}],
            }
        ),
    )
    world.ids[side] = {
        "community": community,
        "team": team,
        "elder": elder,
        "volunteer": volunteer["id"],
        "visit": visit["id"],
        "log": visit["log_id"],
    }
    world.callers.update(
        {
            ("staff", side): Api.headers(f"staff:{unique(side)}", "staff", communities=[community]),
            ("team_leader", side): Api.headers(leader, "team_leader"),
            ("volunteer", side): volunteer_headers,
        }
    )
    if side == "a":
        world.markers["a"] = [name, unit, condition, phone, volunteer_name]


def _elder(api: Api, community: str, team: str, **fields: Any) -> str:
    """An elder of ``team``, named: by default she would join the community's first team by id, and a case
    that adds a team to side ``a``'s community (``PUT /teams``) may sort before it and take her from its leader."""
    body = {
        "name": unique("老人"),
        "community": community,
        "team_id": team,
        "building": "1",
        "unit": "1",
        "tier": "general",
    }
    body |= fields
    if fields.get("conditions"):
        body["consent"] = {"given_by": body["name"], "purpose": PURPOSE}
    return api.ok("POST", BASE + "/elders", CITY_STAFF, Call(json=body))["id"]


def seed(api: Api) -> World:
    world = World()
    for side in ("a", "b"):
        _side(api, world, side)
    return world


def _a(world: World, key: str) -> str:
    return world.ids["a"][key]


def _elder_call(**body: Any):  # type: ignore[no-untyped-def]
    return lambda api, world: Call(params={"elder_id": _a(world, "elder")}, json=body or None)


def _fresh_elder(**body: Any):  # type: ignore[no-untyped-def]
    """A new elder of side ``a``'s community (in its team) for a command that uses her up."""
    return lambda api, world: Call(
        params={"elder_id": _elder(api, _a(world, "community"), _a(world, "team"))}, json=body or None
    )


def _volunteer_call(**body: Any):  # type: ignore[no-untyped-def]
    return lambda api, world: Call(params={"volunteer_id": _a(world, "volunteer")}, json=body or None)


def _team_call(api: Api, world: World) -> Call:
    return Call(params={"team_id": _a(world, "team")})


def _community_query(**query: Any):  # type: ignore[no-untyped-def]
    return lambda api, world: Call(query={"community": _a(world, "community"), **query})


def _new_team(api: Api, world: World) -> Call:
    return Call(params={"team_id": unique("team")}, json={"name": "新队", "community": _a(world, "community")})


def _new_volunteer(api: Api, world: World) -> Call:
    return Call(json={"name": "新志愿者", "community": _a(world, "community"), "user_id": f"volunteer:{unique('n')}"})


def _new_elder(api: Api, world: World) -> Call:
    return Call(
        json={"name": "新老人", "community": _a(world, "community"), "building": "2", "unit": "1", "tier": "key"}
    )


def _consent(api: Api, world: World) -> Call:
    """A second consent of side ``a``'s elder, so withdrawing it leaves her health data (one stays current)."""
    elder = _a(world, "elder")
    given = api.ok(
        "POST", ELDER.format(elder_id=elder) + "/consents", CITY_STAFF, Call(json={"given_by": "x", "purpose": PURPOSE})
    )
    return Call(params={"elder_id": elder, "consent_id": given["id"]}, json={"reason": "范围测试"})


def _pairing(api: Api, world: World) -> Call:
    return Call(
        json={
            "elder_id": _elder(api, _a(world, "community"), _a(world, "team")),
            "volunteer_id": _a(world, "volunteer"),
        }
    )


def _paired(api: Api, world: World) -> Call:
    body = {"elder_id": _elder(api, _a(world, "community"), _a(world, "team")), "volunteer_id": _a(world, "volunteer")}
    pairing = api.ok("POST", BASE + "/pairings", CITY_STAFF, Call(json=body))
    return Call(params={"pairing_id": pairing["id"]}, json={"reason": "范围测试"})


def _log(volunteer: bool):  # type: ignore[no-untyped-def]
    def call(api: Api, world: World) -> Call:
        body: dict[str, Any] = {"elder_id": _a(world, "elder"), "minutes": 20, "method": "phone"}
        if not volunteer:
            body["volunteer_id"] = _a(world, "volunteer")
        return Call(json=body)

    return call


def _amend(api: Api, world: World) -> Call:
    return Call(params={"log_id": _a(world, "log")}, json={"minutes": 25, "reason": "范围测试"})


def _campaign(api: Api, world: World) -> Call:
    return Call(json={"name": "范围测试走访", "due_at": "2099-01-01T09:00:00+08:00", "elder_ids": [_a(world, "elder")]})


def _visit(api: Api, world: World) -> Call:
    return Call(params={"visit_id": _a(world, "visit")})


def _none(api: Api, world: World) -> Call:
    return Call()


def _ids(*keys: str):  # type: ignore[no-untyped-def]
    return lambda world: [*(world.ids["a"][k] for k in keys), *world.markers["a"]]


HEALTH = {"conditions": "范围测试病情", "notes": "", "emergency_name": None, "emergency_phone": None}
MANAGERS = ("staff", "team_leader")
MEMBERS = ("staff", "team_leader", "volunteer")

CASES = [
    Case("PUT", BASE + "/teams/{team_id}", "staff", _new_team),
    *(Case("GET", BASE + "/teams", role, _none, shape="list", hidden=_ids("team")) for role in MEMBERS),
    *(Case("GET", BASE + "/teams/{team_id}", role, _team_call) for role in MEMBERS),
    *(Case("POST", BASE + "/volunteers", role, _new_volunteer) for role in MANAGERS),
    *(Case("GET", BASE + "/volunteers", role, _none, shape="list", hidden=_ids("volunteer")) for role in MEMBERS),
    *(Case("GET", BASE + "/volunteers/{volunteer_id}", role, _volunteer_call()) for role in MEMBERS),
    *(Case("PATCH", BASE + "/volunteers/{volunteer_id}", role, _volunteer_call(weekly_cap=20)) for role in MANAGERS),
    *(Case("GET", BASE + "/volunteers/{volunteer_id}/timebank", role, _volunteer_call()) for role in MEMBERS),
    *(Case("POST", BASE + "/elders", role, _new_elder) for role in MANAGERS),
    *(Case("GET", BASE + "/elders", role, _none, shape="list", hidden=_ids("elder")) for role in MEMBERS),
    *(Case("GET", ELDER, role, _elder_call()) for role in MEMBERS),
    *(Case("GET", ELDER + "/health", role, _elder_call()) for role in MEMBERS),
    *(Case("PUT", ELDER + "/health", role, _elder_call(**HEALTH)) for role in MANAGERS),
    *(Case("GET", ELDER + "/consents", role, _elder_call()) for role in MANAGERS),
    *(Case("POST", ELDER + "/consents", role, _elder_call(given_by="范围测试", purpose=PURPOSE)) for role in MANAGERS),
    *(Case("POST", ELDER + "/consents/{consent_id}/withdraw", role, _consent) for role in MANAGERS),
    *(Case("POST", ELDER + "/tier", role, _fresh_elder(tier="key", reason="范围测试")) for role in MANAGERS),
    *(Case("PUT", ELDER + "/plan", role, _elder_call(rrule="FREQ=MONTHLY")) for role in MANAGERS),
    *(
        Case(
            "POST",
            ELDER + "/pauses",
            role,
            _fresh_elder(starts_at="2099-01-01T00:00:00", ends_at="2099-01-10T00:00:00", reason="住院"),
        )
        for role in MANAGERS
    ),
    *(Case("GET", ELDER + "/pairings", role, _elder_call()) for role in MEMBERS),
    *(Case("GET", ELDER + "/visits", role, _elder_call()) for role in MEMBERS),
    *(Case("GET", BASE + "/survey", role, _community_query(), shape="list") for role in MANAGERS),
    *(Case("POST", BASE + "/pairings", role, _pairing) for role in MANAGERS),
    *(Case("POST", BASE + "/pairings/{pairing_id}/end", role, _paired) for role in MANAGERS),
    Case("POST", BASE + "/logs", "staff", _log(volunteer=False)),
    Case("POST", BASE + "/logs", "team_leader", _log(volunteer=False)),
    Case("POST", BASE + "/logs", "volunteer", _log(volunteer=True)),
    *(Case("PATCH", BASE + "/logs/{log_id}", role, _amend) for role in ("team_leader", "volunteer")),
    Case("GET", BASE + "/my/visits", "volunteer", _none, shape="list", hidden=_ids("elder")),
    *(Case("GET", BASE + "/visits/{visit_id}", role, _visit) for role in MEMBERS),
    *(Case("POST", BASE + "/campaigns", role, _campaign) for role in MANAGERS),
    *(Case("GET", BASE + "/reports/coverage", role, _community_query(month="2026-12")) for role in MANAGERS),
    *(
        Case("GET", BASE + "/reports/idle-volunteers", role, _none, shape="list", hidden=_ids("volunteer"))
        for role in MANAGERS
    ),
    *(Case("GET", BASE + "/reports/hours", role, _none, shape="list", hidden=_ids("volunteer")) for role in MANAGERS),
    *(Case("GET", BASE + "/reports/hazards", role, _none, shape="list", hidden=_ids("elder")) for role in MANAGERS),
    Case(
        "GET",
        BASE + "/access-log",
        "staff",
        _none,
        shape="list",
        hidden=lambda w: [w.ids["a"]["elder"], w.ids["a"]["volunteer"]],
    ),
]
CASES += export_cases(BASE)
