"""Scope cases of the accounts service: two communities, each with a household and a registered person.

Side ``a``'s markers are what only its community's staff, its household and the person themself may see:
the person's id, name and masked phone, the household's id, building and room, and the id of the
person's signed-in session. Person ``a`` signs in once through the real code flow (the code read as
``linli accounts last-code`` reads it, from the edge's development code folder), so the session routes
have a session to list and revoke.

The callers carry the sub of their side's person whatever their role (``/me`` is scoped by ``sub``);
staff serve their side's community only; a resident's token names their household. Commands that use
a person up (a phone change, a move, leaving, erasure, a revoked grant) make a fresh one first.
"""

from __future__ import annotations

import glob
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

from services.accounts.domain import phones
from services.accounts.service_layer.register import phone_hash
from tests.edge.scope_cases import Api, Call, Case, World, unique

BASE = "/api/accounts"
PERSON = BASE + "/people/{person_id}"
OPERATOR = Api.headers("operator:scope-accounts", "operator")
EVERY_ROLE = ("resident", "volunteer", "team_leader", "staff", "partner", "operator")


def _phone() -> str:
    return "139" + str(uuid.uuid4().int % 10**8).zfill(8)


def _household(api: Api, community: str, building: str, room: str) -> str:
    body = {"community": community, "estate": "范围测试苑", "building": building, "unit": "1", "room": room}
    return api.ok("POST", BASE + "/households", OPERATOR, Call(json=body))["id"]


def _person(api: Api, household_id: str, name: str | None = None, phone: str | None = None) -> dict:
    body = {"name": name or unique("住户"), "household_id": household_id, "phone": phone or _phone()}
    return api.ok("POST", BASE + "/people", OPERATOR, Call(json=body))


def _code(phone: str, timeout: float = 15.0) -> str:
    """The last code sent to ``phone`` by the edge's ``linli run``, as ``linli accounts last-code`` reads it.

    The edge runs under pytest's temporary folder (``tests/edge/conftest.py``); its code file is named by
    the phone's keyed hash, unique to this run's random number, so the one file found is this run's.
    """
    root = os.environ.get("PYTEST_DEBUG_TEMPROOT") or tempfile.gettempdir()
    name = phone_hash(phones.normalise(phone))
    patterns = [f"{root}/pytest-of-*/pytest-*/{deep}edge*/var/accounts-codes/{name}" for deep in ("", "*/")]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pattern in patterns:
            for path in glob.glob(pattern):
                return str(json.loads(Path(path).read_text())["code"])
        time.sleep(0.1)
    raise AssertionError(f"no development sign-in code found under {root}/pytest-of-*")


def _sign_in(api: Api, phone: str) -> str:
    """A real session of the person with ``phone``: its id."""
    api.ok("POST", BASE + "/auth/code", {}, Call(json={"phone": phone}))
    tokens = api.ok("POST", BASE + "/auth/token", {}, Call(json={"phone": phone, "code": _code(phone)}))
    return str(tokens["session_id"])


def _side(api: Api, world: World, side: str) -> None:
    community, building, room = unique(f"scope-{side}"), unique("B"), unique("R")
    api.ok("POST", BASE + "/communities", OPERATOR, Call(json={"code": community, "name": "范围测试社区"}))
    home = _household(api, community, building, room)
    name, phone = unique("住户"), _phone()
    person = _person(api, home, name, phone)
    world.ids[side] = {"community": community, "household": home, "person": person["id"], "phone": phone}
    sub = person["sub"]
    for role in EVERY_ROLE:
        claims: dict = {}
        if role == "staff":
            claims["communities"] = [community]
        if role == "resident":
            claims.update(community=community, household=home)
        world.callers[(role, side)] = Api.headers(sub, role, **claims)
    if side == "a":
        world.ids["a"]["other_household"] = _household(api, community, building, unique("R"))
        world.ids["a"]["session"] = _sign_in(api, phone)
        world.markers["a"] = [person["id"], name, person["phone_masked"], home, building, room]


def seed(api: Api) -> World:
    world = World()
    for side in ("a", "b"):
        _side(api, world, side)
    return world


def _a(world: World, key: str) -> str:
    return str(world.ids["a"][key])


def _none(api: Api, world: World) -> Call:
    return Call()


def _person_call(**body: object):  # type: ignore[no-untyped-def]
    return lambda api, world: Call(params={"person_id": _a(world, "person")}, json=body or None)


def _fresh(**body: object):  # type: ignore[no-untyped-def]
    """A new person of side ``a``'s household for a command that uses them up."""
    return lambda api, world: Call(params={"person_id": _person(api, _a(world, "household"))["id"]}, json=body or None)


def _move(api: Api, world: World) -> Call:
    fresh = _person(api, _a(world, "household"))
    return Call(params={"person_id": fresh["id"]}, json={"household_id": _a(world, "other_household")})


def _phone_change(api: Api, world: World) -> Call:
    return Call(params={"person_id": _person(api, _a(world, "household"))["id"]}, json={"phone": _phone()})


def _grant(api: Api, world: World) -> Call:
    return Call(
        params={"person_id": _a(world, "person")}, json={"role": "volunteer", "community": _a(world, "community")}
    )


def _granted(api: Api, world: World) -> Call:
    fresh = _person(api, _a(world, "household"))["id"]
    grant = {"role": "volunteer", "community": _a(world, "community")}
    person = api.ok("POST", PERSON.format(person_id=fresh) + "/roles", OPERATOR, Call(json=grant))
    return Call(params={"person_id": fresh, "grant_id": person["roles"][0]["id"]})


def _new_community(api: Api, world: World) -> Call:
    return Call(json={"code": unique("scope-new"), "name": "范围测试新社区"})


def _new_household(api: Api, world: World) -> Call:
    body = {"community": _a(world, "community"), "estate": "范围测试苑", "building": "9", "unit": "1"}
    return Call(json={**body, "room": unique("R")})


def _new_person(api: Api, world: World) -> Call:
    return Call(json={"name": "范围测试新住户", "household_id": _a(world, "household")})


def _community_query(api: Api, world: World) -> Call:
    return Call(query={"community": _a(world, "community")})


def _household_call(api: Api, world: World) -> Call:
    return Call(params={"household_id": _a(world, "household")})


def _session_call(api: Api, world: World) -> Call:
    return Call(params={"person_id": _a(world, "person"), "session_id": _a(world, "session")})


def _import(api: Api, world: World) -> Call:
    row = f"{_a(world, 'community')},范围测试苑,9,1,{unique('R')},范围测试导入,{_phone()}\n"
    table = ("社区,小区,楼号,单元,门牌号,姓名,手机号\n" + row).encode()
    return Call(files=[("file", ("households.csv", table, "text/csv"))], data={"dry_run": "true"})


CITY_STAFF = Api.headers("staff:scope-city-accounts", "staff", communities=["*"])


def _session_ids(world: World) -> list[str]:
    return [_a(world, "session"), *world.markers["a"]]


CASES = [
    # only city-wide staff add communities: the in-scope caller serves every one
    Case("POST", BASE + "/communities", "staff", _new_community, inside=lambda w: CITY_STAFF),
    Case("GET", BASE + "/communities", "staff", _none, shape="list", hidden=lambda w: [_a(w, "community")]),
    Case("POST", BASE + "/households", "staff", _new_household),
    Case("GET", BASE + "/households", "staff", _community_query, shape="list"),
    Case("GET", BASE + "/households/{household_id}", "resident", _household_call),
    Case("GET", BASE + "/households/{household_id}", "staff", _household_call),
    Case("POST", BASE + "/people", "staff", _new_person),
    Case("GET", BASE + "/people", "staff", _community_query, shape="list"),
    Case("GET", PERSON, "staff", _person_call()),
    Case("PUT", PERSON + "/phone", "staff", _phone_change),
    Case("POST", PERSON + "/move", "staff", _move),
    Case("POST", PERSON + "/leave", "staff", _fresh()),
    Case("POST", PERSON + "/erase", "staff", _fresh()),
    Case("POST", PERSON + "/roles", "staff", _grant),
    Case("DELETE", PERSON + "/roles/{grant_id}", "staff", _granted),
    Case("GET", PERSON + "/sessions", "staff", _person_call(), shape="list", hidden=_session_ids),
    Case("DELETE", PERSON + "/sessions/{session_id}", "staff", _session_call),
    Case("POST", BASE + "/imports", "staff", _import),
    *(Case("GET", BASE + "/me", role, _none) for role in EVERY_ROLE),
    *(Case("GET", BASE + "/me/sessions", role, _none, shape="list", hidden=_session_ids) for role in EVERY_ROLE),
    *(Case("DELETE", BASE + "/me/sessions/{session_id}", role, _session_call) for role in EVERY_ROLE),
]
