"""Demo data from the seed: the four communities with buildings and households sized from it, and the
people the README's walk-through uses (phones fictitious, 139000000xx).

明珠花苑 4,488 households, 智汇城 3,195, 3502 (际华苑) 2,705, 北翟营 840 in 70 buildings (亚龙花园 and the
village). Households are written in bulk (a few seconds); loading twice changes nothing.
"""

from __future__ import annotations

from sqlalchemy import func, insert, select

from services.accounts.adapters.orm import Building, Estate, Household, Person, Unit
from services.accounts.domain.claims import Grant
from services.accounts.service_layer import keys, register
from shared.identity import Principal
from shared.ids import new_id
from shared.service import ServiceContext

COMMUNITIES = [
    # code, name, district, [(estate, buildings, units per building, households)]
    ("明珠花苑", "明珠花苑社区", "裕华区", [("明珠花苑", 34, 4, 4488)]),
    ("智汇城", "智汇城社区", "裕华区", [("智汇城", 24, 3, 3195)]),
    ("3502", "3502社区", "桥西区", [("际华苑", 28, 2, 2705)]),
    ("北翟营", "北翟营社区", "裕华区", [("亚龙花园", 10, 2, 240), ("北翟营村", 60, 1, 600)]),
]

PEOPLE = [
    # sub, name, phone, home (community, estate, building, unit, room) or community, grants
    ("resident:zhang-xiaosen", "张晓森", "13900000001", ("北翟营", "亚龙花园", "3", "1", "201"), []),
    ("resident:zhao-xiaotong", "赵晓彤", "13900000002", ("明珠花苑", "明珠花苑", "2", "1", "302"), []),
    ("staff:li-yao", "李瑶", "13900000010", "明珠花苑", [Grant("staff", community="明珠花苑")]),
    ("staff:wang-jianguo", "王建国", "13900000011", "明珠花苑", [Grant("staff", community="*")]),
    (
        "volunteer:zhang-xiuqin",
        "张秀芹",
        "13900000020",
        ("3502", "际华苑", "5", "1", "402"),
        [
            Grant("volunteer", community="3502", team="axqm-3502"),
            Grant("team_leader", community="3502", team="axqm-3502"),
        ],
    ),
    (
        "volunteer:wang-guilan",
        "王桂兰",
        "13900000021",
        "3502",
        [Grant("volunteer", community="3502", team="axqm-3502")],
    ),
    ("volunteer:liu-shufen", "刘淑芬", "13900000022", "3502", [Grant("volunteer", community="3502", team="axqm-3502")]),
    (
        "volunteer:zhao-meiling",
        "赵美玲",
        "13900000023",
        "3502",
        [Grant("volunteer", community="3502", team="axqm-3502")],
    ),
    (
        "volunteer:hao-lianfang",
        "郝连芳",
        "13900000024",
        ("3502", "际华苑", "5", "1", "301"),
        [Grant("volunteer", community="3502", team="axqm-3502")],
    ),
    ("operator:ops", "运维", None, "明珠花苑", [Grant("operator")]),
]

DEMO = Principal(sub="operator:demo", roles=frozenset({"operator"}), communities=frozenset({"*"}))


def rooms(households: int, buildings: int, units: int) -> list[tuple[str, str, str]]:
    """``(building, unit, room)`` for ``households`` doors spread over the buildings, two doors a floor."""
    per_unit = -(-households // (buildings * units))
    out: list[tuple[str, str, str]] = []
    for b in range(1, buildings + 1):
        for u in range(1, units + 1):
            for i in range(per_unit):
                if len(out) == households:
                    return out
                out.append((str(b), str(u), f"{i // 2 + 1}{i % 2 + 1:02d}"))
    return out


def load(ctx: ServiceContext) -> None:
    """The communities, their households (in bulk, once) and the walk-through people (idempotent)."""
    now = ctx.clock.now()
    with ctx.store.transaction() as s:
        keys.current(s, now)
        for code, name, district, estates in COMMUNITIES:
            register.add_community(ctx, s, DEMO, code, name, district)
            for estate, buildings, units, households in estates:
                if s.scalar(
                    select(func.count()).select_from(Estate).where(Estate.community == code, Estate.name == estate)
                ):
                    continue
                _bulk(s, code, estate, rooms(households, buildings, units), now)
        for sub, name, phone, home, grants in PEOPLE:
            if s.scalars(select(Person.id).where(Person.sub == sub)).first() is not None:
                continue
            if isinstance(home, tuple):
                household = register.place(ctx, s, DEMO, register.Address(*home))
                person = register.register(ctx, s, DEMO, name=name, phone=phone, household_id=household.id, sub=sub)
            else:
                person = register.register(ctx, s, DEMO, name=name, phone=phone, community=home, sub=sub)
            for wanted in grants:
                register.grant(ctx, s, DEMO, person.id, wanted)


def _bulk(s, community: str, estate: str, doors: list[tuple[str, str, str]], now) -> None:
    estate_id = new_id("E")
    s.execute(insert(Estate), [{"id": estate_id, "community": community, "name": estate}])
    building_ids: dict[str, str] = {}
    unit_ids: dict[tuple[str, str], str] = {}
    households = []
    for building, unit, room in doors:
        building_ids.setdefault(building, new_id("B"))
        unit_ids.setdefault((building, unit), new_id("U"))
        households.append(
            {
                "id": new_id("H"),
                "unit_id": unit_ids[(building, unit)],
                "community": community,
                "room": room,
                "created_at": now,
            }
        )
    s.execute(
        insert(Building),
        [{"id": i, "estate_id": estate_id, "community": community, "name": b} for b, i in building_ids.items()],
    )
    s.execute(insert(Unit), [{"id": i, "building_id": building_ids[b], "name": u} for (b, u), i in unit_ids.items()])
    s.execute(insert(Household), households)
