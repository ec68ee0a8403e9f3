"""Demo data from the seed article: 智汇城's four rooms on the 4th floor (open Monday to Saturday, free)
and a month of 智汇橙 workshops (剪纸, 手刮画, 陶艺) in the children's room; 明珠花苑's 小修小补 artisans
with weekday hours in the 匠人坊 and a weekend in the square."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from services.activities.adapters.orm import Activity, Artisan, RepairSession, Venue
from services.activities.service_layer import programme, repairs, venues
from shared.clock import SHANGHAI
from shared.identity import EVERY_COMMUNITY, Principal

COMMUNITY = "智汇城"
DESK = Principal(sub="staff:demo-activities", roles=frozenset({"staff"}), communities=frozenset({EVERY_COMMUNITY}))
ROOMS = [
    # id, name, purpose, capacity, min_age, max_age, guardian_under, needs_approval
    ("ZHC-401", "儿童活动室", "亲子阅读、智汇橙手工课", 20, 3, 14, 8, False),
    ("ZHC-402", "千册图书室", "1000余册图书，借阅与自习", 30, None, None, None, False),
    ("ZHC-403", "老年人运动室", "乒乓球、太极、舞蹈队排练", 25, None, None, None, True),
    ("ZHC-404", "会议室", "居民议事；寒暑假学生自习", 16, None, None, None, True),
]
WORKSHOPS = [
    # title, weekday rule, local hour, organiser
    ("剪纸", "FREQ=WEEKLY;BYDAY=SA;COUNT=4", 9, "volunteer:zhc-jianzhi"),
    ("手刮画", "FREQ=WEEKLY;BYDAY=WE;COUNT=4", 16, "volunteer:zhc-guahua"),
    ("陶艺", "FREQ=WEEKLY;BYDAY=SA;COUNT=4", 14, "volunteer:zhc-taoyi"),
]

ARTISANS = [
    # id, name, trades, account (the same principals as the tickets roster's 小修小补 pools)
    ("MZHY-gu-chunxiao", "谷春肖", ["缝补", "改衣", "裁剪"], "artisan:gu-chunxiao"),
    ("MZHY-liu-shifu", "刘师傅", ["修鞋", "换跟"], "artisan:liu-shifu"),
    ("MZHY-chen-shifu", "陈师傅", ["修表", "换电池"], "artisan:chen-shifu"),
    ("MZHY-ma-shifu", "马师傅", ["修小家电"], "artisan:ma-shifu"),
    ("MZHY-wang-shifu", "王师傅", ["理发"], "artisan:wang-shifu"),
]
MZHY_DESK = Principal(sub="staff:li-yao", roles=frozenset({"staff"}), communities=frozenset({"明珠花苑"}))


def load(ctx) -> None:
    """Insert the rooms with their hours and a month of workshops from next week (idempotent)."""
    with ctx.store.transaction() as session:
        for rid, name, purpose, capacity, low, high, guardian, approval in ROOMS:
            if session.get(Venue, rid) is None:
                venues.create(
                    ctx,
                    session,
                    DESK,
                    id=rid,
                    community=COMMUNITY,
                    name=name,
                    purpose=purpose,
                    location="4楼",
                    capacity=capacity,
                    min_age=low,
                    max_age=high,
                    guardian_under=guardian,
                    needs_approval=approval,
                )
                hours = [{"weekday": d, "opens": "08:30", "closes": "20:30"} for d in range(6)]
                venues.set_hours(session, DESK, rid, hours)
        if session.execute(select(Activity.id).where(Activity.venue_id == "ZHC-401").limit(1)).first() is None:
            _workshops(ctx, session)
    load_repairs(ctx)


def _workshops(ctx, session) -> None:
    """A month of 智汇橙 workshops in the children's room from next week."""
    today = ctx.clock.now().astimezone(SHANGHAI).date()
    monday = today + timedelta(days=7 - today.weekday())
    for title, rule, hour, organiser in WORKSHOPS:
        start = datetime(monday.year, monday.month, monday.day, hour, tzinfo=SHANGHAI)
        programme.publish(
            ctx,
            session,
            DESK,
            venue_id="ZHC-401",
            title=title,
            description=f"智汇橙{title}课，材料免费提供",
            starts_at=start,
            minutes=90,
            rrule=rule,
            capacity=12,
            min_age=6,
            max_age=12,
            household_limit=2,
            organiser=organiser,
        )


def load_repairs(ctx) -> None:
    """明珠花苑's artisans, Tuesday afternoons in the 匠人坊 (slots) and next Saturday in the square (numbers)."""
    with ctx.store.transaction() as session:
        for aid, name, trades, user in ARTISANS:
            if session.get(Artisan, aid) is None:
                repairs.add_artisan(
                    ctx, session, MZHY_DESK, id=aid, community="明珠花苑", name=name, trades=trades, user=user
                )
        if session.execute(select(RepairSession.id).limit(1)).first() is not None:
            return
        today = ctx.clock.now().astimezone(SHANGHAI).date()
        saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
        tuesday = today + timedelta(days=(1 - today.weekday()) % 7 or 7)
        for aid, _name, _trades, _user in ARTISANS:
            square = datetime(saturday.year, saturday.month, saturday.day, 9, tzinfo=SHANGHAI)
            repairs.offer_session(
                ctx, session, MZHY_DESK, aid, id=f"{aid}-square", place="小区广场", starts_at=square, minutes=180
            )
            workshop = datetime(tuesday.year, tuesday.month, tuesday.day, 14, tzinfo=SHANGHAI)
            repairs.offer_session(
                ctx,
                session,
                MZHY_DESK,
                aid,
                id=f"{aid}-workshop",
                place="“小修小补”匠人坊（底商）",
                starts_at=workshop,
                minutes=120,
                mode="slots",
                slot_minutes=20,
            )
