"""Scope cases of the library: book houses in two communities, and two residents with their own cards.

Side ``a`` has two book houses (``A1``, ``A2``) in community ``a``, side ``b`` one. Staff serve one
community each; residents have a reader card linked to their account. Side ``a``'s markers are its
resident's name and reader id (what another resident must never see), and in the reports its book
houses, its copy in transit and its hold. A command that uses a record up (a loan renewed, a hold
cancelled) makes a fresh one first through city-wide staff.
"""

from __future__ import annotations

import random

from stdnum import ean
from stdnum.cn import ric

from tests.edge.scope_cases import Api, Call, Case, World, export_cases, unique

BASE = "/api/library"
CITY_STAFF = Api.headers("staff:scope-city-library", "staff", communities=["*"])
OPERATOR = Api.headers("operator:scope-library", "operator")


def _isbn() -> str:
    stem = "978" + "".join(random.choices("0123456789", k=9))
    return stem + ean.calc_check_digit(stem)


def _card() -> str:
    stem = f"110105{random.randint(1950, 2000)}0{random.randint(1, 9)}1{random.randint(0, 9)}{random.randint(100, 999)}"
    return stem + ric.calc_check_digit(stem + "0")  # (it expects a number with a check character)


def _code(label: str) -> str:
    return unique(label).upper()


def _title(api: Api) -> str:
    isbn = _isbn()
    api.ok("PUT", BASE + "/titles", CITY_STAFF, Call(json={"isbn": isbn, "title": unique("范围测试书")}))
    return isbn


def _copy(api: Api, home: str, isbn: str | None = None) -> str:
    barcode = _code("SC")
    body = {"barcode": barcode, "isbn": isbn or _title(api), "home_branch": home}
    api.ok("POST", BASE + "/copies", CITY_STAFF, Call(json=body))
    return barcode


def _reader(api: Api, name: str, user: str | None = None) -> str:
    body = {"id_number": _card(), "name": name, "user": user}
    return api.ok("POST", BASE + "/readers", CITY_STAFF, Call(json=body))["id"]


def _lend(api: Api, reader: str, branch: str, home: str | None = None, who: dict[str, str] = CITY_STAFF) -> dict:
    barcode = _copy(api, home or branch)
    body = {"reader_id": reader, "barcode": barcode, "branch": branch}
    return api.ok("POST", BASE + "/checkout", who, Call(json=body))


def _in_transit(api: Api, world: World) -> str:
    """A copy of ``A2`` lent and returned at ``A1``: in transit to ``A2``."""
    a1, a2 = world.ids["A1"], world.ids["A2"]
    barcode = _lend(api, world.ids["reader_a2"], a1, home=a2)["barcode"]
    api.ok("POST", BASE + "/checkin", CITY_STAFF, Call(json={"barcode": barcode, "branch": a1}))
    return barcode


def seed(api: Api) -> World:
    world = World()
    sides = {"a": unique("scope-lib-a"), "b": unique("scope-lib-b")}
    for key, side in (("A1", "a"), ("A2", "a"), ("B", "b")):
        world.ids[key] = _code(f"SC-{key}")
        body = {"name": f"范围测试书屋{key}", "institution": "LINLI", "community": sides[side]}
        api.ok("PUT", BASE + f"/branches/{world.ids[key]}", OPERATOR, Call(json=body))
        # the process is shared with the fuzz test, which may have set any city-wide rule (0 books at a time):
        # each book house of these cases gets its own, as an operator would for a new branch
        rule = {"branch": world.ids[key], "max_loans": 3, "loan_days": 30, "max_renewals": 1, "renewal_days": 30}
        api.ok("PUT", BASE + "/policies", OPERATOR, Call(json=rule))
    name_a = unique("读者甲")
    sub_a, sub_b = f"resident:{unique('lib-a')}", f"resident:{unique('lib-b')}"
    world.ids["reader_a"] = _reader(api, name_a, sub_a)
    world.ids["reader_a2"] = _reader(api, unique("读者乙"))
    _reader(api, unique("读者丙"), sub_b)
    world.callers.update(
        {
            ("staff", "a"): Api.headers(f"staff:{unique('lib-a')}", "staff", communities=[sides["a"]]),
            ("staff", "b"): Api.headers(f"staff:{unique('lib-b')}", "staff", communities=[sides["b"]]),
            ("resident", "a"): Api.headers(sub_a, "resident"),
            ("resident", "b"): Api.headers(sub_b, "resident"),
        }
    )
    world.markers["a"] = [name_a, world.ids["reader_a"]]
    # side a's staff lend to side a's resident at A1 (an access-log entry of community a)
    world.ids["loan_a"] = _lend(api, world.ids["reader_a"], world.ids["A1"], who=world.caller("staff", "a"))["loan_id"]
    world.ids["transit_a"] = _in_transit(api, world)
    hold = {"reader_id": world.ids["reader_a"], "isbn": _title(api), "pickup_branch": world.ids["A1"]}
    world.ids["hold_a"] = api.ok("POST", BASE + "/holds", CITY_STAFF, Call(json=hold))["id"]
    return world


# -- calls ------------------------------------------------------------------------------------------
def _new_copy(api: Api, world: World) -> Call:
    return Call(json={"barcode": _code("SC"), "isbn": _title(api), "home_branch": world.ids["A1"]})


def _copy_status(api: Api, world: World) -> Call:
    return Call(params={"barcode": _copy(api, world.ids["A1"])}, json={"status": "missing"})


def _checkout(api: Api, world: World) -> Call:
    reader = _reader(api, unique("读者"))
    return Call(json={"reader_id": reader, "barcode": _copy(api, world.ids["A1"]), "branch": world.ids["A1"]})


def _checkin(api: Api, world: World) -> Call:
    loan = _lend(api, world.ids["reader_a2"], world.ids["A1"])
    return Call(json={"barcode": loan["barcode"], "branch": world.ids["A1"]})


def _arrival(api: Api, world: World) -> Call:
    return Call(json={"barcode": _in_transit(api, world), "branch": world.ids["A2"]})


def _renew(reader_key: str):  # type: ignore[no-untyped-def]
    def call(api: Api, world: World) -> Call:
        return Call(params={"loan_id": _lend(api, world.ids[reader_key], world.ids["A1"])["loan_id"]})

    return call


def _hold_for_self(api: Api, world: World) -> Call:
    return Call(json={"isbn": _title(api), "pickup_branch": world.ids["A1"]})


def _hold_for_reader(api: Api, world: World) -> Call:
    return Call(json={"reader_id": world.ids["reader_a"], "isbn": _title(api), "pickup_branch": world.ids["A1"]})


def _held(api: Api, world: World) -> Call:
    body = {"reader_id": world.ids["reader_a"], "isbn": _title(api), "pickup_branch": world.ids["A1"]}
    return Call(params={"hold_id": api.ok("POST", BASE + "/holds", CITY_STAFF, Call(json=body))["id"]})


def _self_registration(api: Api, world: World) -> Call:
    """A card registered by a fresh resident (outside); a second fresh resident cannot claim it (inside: 409)."""
    world.ids["newcomers"] = [Api.headers(f"resident:{unique('new')}", "resident") for _ in range(2)]
    return Call(json={"id_number": _card(), "name": unique("新读者")})


def _none(api: Api, world: World) -> Call:
    return Call()


def _hidden(*keys: str):  # type: ignore[no-untyped-def]
    return lambda world: [*(world.ids[k] for k in keys), *world.markers["a"]]


CASES = [
    Case("POST", BASE + "/copies", "staff", _new_copy),
    Case("POST", BASE + "/copies/{barcode}/status", "staff", _copy_status),
    Case("POST", BASE + "/checkout", "staff", _checkout),
    Case("POST", BASE + "/checkin", "staff", _checkin),
    Case("POST", BASE + "/arrivals", "staff", _arrival),
    Case("GET", BASE + "/reports/loans-by-branch", "staff", _none, shape="list", hidden=_hidden("A1", "A2")),
    Case("GET", BASE + "/reports/overdue", "staff", _none, shape="list"),
    Case("GET", BASE + "/reports/in-transit", "staff", _none, shape="list", hidden=_hidden("transit_a")),
    Case("GET", BASE + "/reports/holds", "staff", _none, shape="list", hidden=_hidden("hold_a")),
    Case("GET", BASE + "/access-log", "staff", _none, shape="list"),
    Case("POST", BASE + "/loans/{loan_id}/renew", "resident", _renew("reader_a")),
    Case("POST", BASE + "/loans/{loan_id}/renew", "staff", _renew("reader_a2")),
    Case("POST", BASE + "/holds", "resident", _hold_for_self),
    Case("POST", BASE + "/holds", "staff", _hold_for_reader),
    Case("DELETE", BASE + "/holds/{hold_id}", "resident", _held),
    Case("DELETE", BASE + "/holds/{hold_id}", "staff", _held),
    Case(
        "POST",
        BASE + "/readers/me",
        "resident",
        _self_registration,
        ok=(409,),
        outside=lambda w: w.ids["newcomers"][0],
        inside=lambda w: w.ids["newcomers"][1],
    ),
    Case("GET", BASE + "/readers/me", "resident", _none),
    Case("POST", BASE + "/readers/me/qr", "resident", _none),
]
CASES += export_cases(BASE)
