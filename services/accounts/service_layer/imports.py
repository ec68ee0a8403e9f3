"""Importing households and residents from a community office's table (CSV or XLSX).

One row is one resident of one household (a row without a name only makes sure the household exists).
Columns, Chinese or English: 社区/community, 小区/estate, 楼号/building, 单元/unit, 门牌号/room,
姓名/name, 手机号/phone, 账号/sub (optional). Every row is checked before anything is written; a row
that fails is reported with its number and reason and skipped, the others are applied.

Re-importing the same file changes nothing: households are found by their address, people by their
phone (keyed hash) or, without a phone, by name within the household. A person found elsewhere is moved.
A dry run does all of it in the transaction and then rolls it back (:class:`DryRun`), so what it
reports is exactly what the import would do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session

from services.accounts.adapters.orm import Building, Community, Estate, Household, Person, Unit
from services.accounts.adapters.sealing import seal
from services.accounts.domain import phones
from services.accounts.service_layer import register
from services.accounts.service_layer.register import Address
from shared.events.accounts import PersonRegistered
from shared.identity import Principal
from shared.ids import new_id
from shared.pii import mask_phone
from shared.service import ServiceContext

COLUMNS = {
    "community": ("社区", "community"),
    "estate": ("小区", "estate"),
    "building": ("楼号", "楼栋", "building"),
    "unit": ("单元", "unit"),
    "room": ("门牌号", "门牌", "室", "room"),
    "name": ("姓名", "name"),
    "phone": ("手机号", "手机", "电话", "phone"),
    "sub": ("账号", "sub"),
}
LIMITS = {"community": 64, "estate": 100, "building": 32, "unit": 16, "room": 16, "name": 100, "sub": 128}
REPORTED = 1000
"""Rejected rows listed in a report (the total is always given)."""


@dataclass
class Report:
    dry_run: bool
    rows: int = 0
    households_created: int = 0
    people_created: int = 0
    people_updated: int = 0
    unchanged: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    rejected_total: int = 0

    def reject(self, row: int, reason: str) -> None:
        self.rejected_total += 1
        if len(self.rejected) < REPORTED:
            self.rejected.append({"row": row, "reason": reason})


class DryRun(Exception):
    """Raised at the end of a dry run so the unit of work rolls back; carries the report."""

    def __init__(self, report: Report) -> None:
        super().__init__("dry run")
        self.report = report


def _field(values: dict[str, str], name: str) -> str:
    for header in COLUMNS[name]:
        if header in values:
            return values[header]
    return ""


def apply(
    ctx: ServiceContext, s: Session, who: Principal, table: Sequence[tuple[int, dict[str, str]]], *, dry_run: bool
) -> Report:
    """Apply the rows of a table; raises :class:`DryRun` with the report instead of committing a dry run.

    The places and people of the file's communities are read once into an :class:`_Index`; new ones are
    written with one multi-row INSERT per table (a 5,000-household file is a few statements, not 50,000).
    """
    report = Report(dry_run=dry_run, rows=len(table))
    known_communities = set(s.scalars(select(Community.code)))
    seen_phones: dict[str, int] = {}
    checked: list[tuple[int, dict[str, str], Address]] = []
    for number, values in table:
        reason = _check(values, who, known_communities, seen_phones, number)
        if reason is not None:
            report.reject(number, reason)
            continue
        checked.append((number, values, Address(*(_field(values, k) for k in PLACE))))
    index = _Index(s, {address.community for _, _, address in checked}, ctx.clock.now())
    homes = [index.household(address) for _, _, address in checked]
    report.households_created = index.write_places(s)
    for (number, values, address), home in zip(checked, homes, strict=True):
        name = _field(values, "name")
        if not name:
            report.unchanged += 1
            continue
        _person(ctx, s, who, report, index, home, address, name, _field(values, "phone"), _field(values, "sub"), number)
    index.write_people(ctx, s)
    if dry_run:
        raise DryRun(report)
    return report


PLACE = ("community", "estate", "building", "unit", "room")


class _Index:
    """The places and people of some communities, read once; new ones kept here until written in bulk."""

    def __init__(self, s: Session, communities: set[str], now: datetime) -> None:
        self.now = now
        within = list(communities)
        self.estates = {
            (c, n): i
            for i, c, n in s.execute(
                select(Estate.id, Estate.community, Estate.name).where(Estate.community.in_(within))
            )  # type: ignore[attr-defined]
        }
        self.buildings = {
            (e, n): i
            for i, e, n in s.execute(
                select(Building.id, Building.estate_id, Building.name).where(Building.community.in_(within))  # type: ignore[attr-defined]
            )
        }
        self.units = {
            (b, n): i
            for i, b, n in s.execute(
                select(Unit.id, Unit.building_id, Unit.name)
                .join(Building, Building.id == Unit.building_id)
                .where(Building.community.in_(within))  # type: ignore[attr-defined]
            )
        }
        self.households = {
            (u, r): i
            for i, u, r in s.execute(
                select(Household.id, Household.unit_id, Household.room).where(Household.community.in_(within))  # type: ignore[attr-defined]
            )
        }
        people = list(s.scalars(select(Person).where(Person.community.in_(within))))  # type: ignore[union-attr]
        self.by_phone = {p.phone_hash: p for p in people if p.phone_hash}
        self.by_home = {(p.household_id, p.name): p for p in people if p.household_id and p.erased_at is None}
        self.new: dict[type, list[dict[str, Any]]] = {Estate: [], Building: [], Unit: [], Household: []}
        self.new_people: list[tuple[dict[str, Any], Address]] = []
        self.new_phones: set[str] = set()
        self.new_names: set[tuple[str, str]] = set()

    def household(self, a: Address) -> str:
        estate = self._get(self.estates, (a.community, a.estate), Estate, {"community": a.community, "name": a.estate})
        building = self._get(
            self.buildings,
            (estate, a.building),
            Building,
            {"estate_id": estate, "community": a.community, "name": a.building},
        )
        unit = self._get(self.units, (building, a.unit), Unit, {"building_id": building, "name": a.unit})
        return self._get(
            self.households,
            (unit, a.room),
            Household,
            {"unit_id": unit, "community": a.community, "room": a.room, "created_at": self.now},
        )

    def _get(self, known: dict[tuple[str, str], str], key: tuple[str, str], table: type, values: dict[str, Any]) -> str:
        found = known.get(key)
        if found is None:
            found = known[key] = new_id(table.__name__[0])
            self.new[table].append({"id": found, **values})
        return found

    def write_places(self, s: Session) -> int:
        for table, rows in self.new.items():
            if rows:
                s.execute(insert(table), rows)
        return len(self.new[Household])

    def write_people(self, ctx: ServiceContext, s: Session) -> None:
        if not self.new_people:
            return
        s.execute(insert(Person), [row for row, _ in self.new_people])
        for row, a in self.new_people:
            ctx.emit(
                s,
                PersonRegistered(
                    person_id=row["id"],
                    sub=row["sub"],
                    name=row["name"],
                    registered_at=row["created_at"],
                    household_id=row["household_id"],
                    community=a.community,
                    estate=a.estate,
                    building=a.building,
                    unit=a.unit,
                ),
                subject=row["id"],
            )


def _check(
    values: dict[str, str], who: Principal, communities: set[str], seen_phones: dict[str, int], number: int
) -> str | None:
    for name in ("community", "estate", "building", "unit", "room"):
        if not _field(values, name):
            return f"缺少{COLUMNS[name][0]} / {name} is missing"
    for name, limit in LIMITS.items():
        if len(_field(values, name)) > limit:
            return f"{COLUMNS[name][0]}过长 / {name} is longer than {limit} characters"
        if any(ch in _field(values, name) for ch in "/\\\x00\r\n\t"):
            return f"{COLUMNS[name][0]}含有非法字符 / {name} has characters not allowed"
    community = _field(values, "community")
    if community not in communities:
        return "社区不存在 / no such community"
    if not (who.has("operator") or who.serves(community)):
        return "不在您负责的社区 / outside the communities you serve"
    phone = _field(values, "phone")
    if phone:
        if not _field(values, "name"):
            return "有手机号但缺少姓名 / a phone without a name"
        try:
            normal = phones.normalise(phone)
        except phones.InvalidPhone as exc:
            return str(exc)
        if normal in seen_phones:
            return f"手机号与第{seen_phones[normal]}行重复 / the same phone as row {seen_phones[normal]}"
        seen_phones[normal] = number
    return None


def _person(
    ctx: ServiceContext,
    s: Session,
    who: Principal,
    report: Report,
    index: _Index,
    home: str,
    address: Address,
    name: str,
    phone: str,
    sub: str,
    number: int,
) -> None:
    number_normal = phones.normalise(phone) if phone else None
    digest = register.phone_hash(number_normal) if number_normal else None
    found = index.by_phone.get(digest) if digest else None
    if found is None and digest:
        found = s.scalars(select(Person).where(Person.phone_hash == digest)).first()  # registered in another community
    if found is None:
        found = index.by_home.get((home, name))
    if found is None:
        if (home, name) in index.new_names and not digest:
            report.unchanged += 1  # the same resident twice in one file
            return
        if digest in index.new_phones:
            report.reject(number, "手机号重复 / the same phone as another row")
            return
        if sub and not who.has("operator"):
            report.reject(number, "只有运维可以指定账号标识 / only operators choose a sub")
            return
        if sub and s.scalars(select(Person.id).where(Person.sub == sub)).first() is not None:
            report.reject(number, "账号标识已被使用 / this sub is taken")
            return
        person_id = new_id("P")
        row: dict[str, Any] = {
            "id": person_id,
            "sub": sub or f"person:{person_id}",
            "name": name,
            "household_id": home,
            "community": address.community,
            "phone_hash": digest,
            "phone_masked": mask_phone(number_normal) if number_normal else None,
            "phone_sealed": seal(number_normal, register.PHONE_PURPOSE) if number_normal else None,
            "created_at": ctx.clock.now(),
            "left_at": None,
            "erased_at": None,
        }
        index.new_people.append((row, address))
        index.new_names.add((home, name))
        if digest:
            index.new_phones.add(digest)
        report.people_created += 1
        return
    if found.erased_at is not None:
        report.reject(number, "该手机号属于已删除的人员 / this phone belongs to an erased person")
        return
    changed = False
    if found.name != name:
        found.name, changed = name, True
    if phone and found.phone_hash is None:
        register.set_phone(s, found, phone)
        changed = True
    if found.household_id != home or found.left_at is not None:
        if not who.has("operator") and not who.serves(found.community):
            report.reject(number, "此人登记在您负责范围外的社区 / this person is registered outside your communities")
            return
        register.move(ctx, s, who, found.id, home)
        changed = True
    if changed:
        report.people_updated += 1
    else:
        report.unchanged += 1
