"""Demo data from the seed: the 爱心敲门 team of the 3502 community (际华苑, 桥西区苑东街道).

Team leader 张秀芹 and her volunteers visit the elders they surveyed door to door, building by
building; 郝连芳, a former member who now lives alone on the ground floor, is visited by her old
teammates. Phone numbers are fictitious. Loading twice changes nothing.
"""

from __future__ import annotations

from sqlmodel import select

from services.volunteers.adapters.orm import Elder, Pairing, Team, Volunteer
from services.volunteers.service_layer import registry, scope

COMMUNITY = "3502"
ESTATE = "际华苑"
TEAM = "axqm-3502"

VOLUNTEERS = [  # id, principal, name, phone, skills, weekdays, active
    (
        "VOL-zhang-xiuqin",
        "volunteer:zhang-xiuqin",
        "张秀芹",
        "13800000001",
        ["chat", "hospital_escort"],
        [0, 2, 4],
        True,
    ),
    (
        "VOL-wang-guilan",
        "volunteer:wang-guilan",
        "王桂兰",
        "13800000002",
        ["electrical_check", "repairs"],
        [1, 3],
        True,
    ),
    ("VOL-liu-shufen", "volunteer:liu-shufen", "刘淑芬", "13800000003", ["haircut", "cooking"], [0, 5], True),
    ("VOL-zhao-meiling", "volunteer:zhao-meiling", "赵美玲", "13800000004", ["chat", "hospital_escort"], [2, 6], True),
    ("VOL-hao-lianfang", "volunteer:hao-lianfang", "郝连芳", "13800000005", ["chat"], [], False),
]

ELDERS = [  # id, name, building, unit, floor, born, alone, tier, reason, conditions, former volunteer, partners
    (
        "E-3502-hao-lianfang",
        "郝连芳",
        "3",
        "2",
        1,
        1950,
        True,
        "key",
        "独居，子女不在身边 / lives alone, children away",
        "腰腿不便",
        "VOL-hao-lianfang",
        ["VOL-zhang-xiuqin", "VOL-wang-guilan"],
    ),
    (
        "E-3502-li-shuhua",
        "李淑华",
        "3",
        "1",
        5,
        1935,
        True,
        "high_risk",
        "九十岁独居，行动不便 / 90, alone, frail",
        "高血压，行走需助行器",
        None,
        ["VOL-liu-shufen"],
    ),
    (
        "E-3502-sun-dewang",
        "孙德旺",
        "7",
        "1",
        2,
        1938,
        True,
        "high_risk",
        "失能独居 / disabled, alone",
        "中风后遗症",
        None,
        ["VOL-wang-guilan"],
    ),
    (
        "E-3502-chen-guoqiang",
        "陈国强",
        "5",
        "2",
        3,
        1940,
        False,
        "key",
        "高龄空巢 / very old, empty nest",
        "糖尿病",
        None,
        ["VOL-zhao-meiling"],
    ),
    (
        "E-3502-zhou-yulan",
        "周玉兰",
        "5",
        "1",
        6,
        1944,
        False,
        "general",
        "与子女同住 / lives with family",
        "",
        None,
        [],
    ),
]


DEMO_CONSENT = (
    "爱心敲门走访：结对志愿者了解健康状况以便照护 / visits: paired volunteers know her health to care for her"
)


def load(ctx) -> None:
    """Load the 3502 team, volunteers, elders per building and unit, and pairings (idempotent)."""
    now = ctx.clock.now()
    r = scope.whole_service()
    with ctx.store.transaction() as session:
        if session.get(Team, TEAM) is None:
            registry.save_team(
                session,
                r,
                team_id=TEAM,
                name="爱心敲门志愿服务队",
                community=COMMUNITY,
                leader="volunteer:zhang-xiuqin",
                staff_contact="staff:li-yao",
            )
        for vid, sub, name, phone, skills, days, active in VOLUNTEERS:
            if session.get(Volunteer, vid) is None:
                registry.add_volunteer(
                    ctx,
                    session,
                    r,
                    name=name,
                    community=COMMUNITY,
                    now=now,
                    user_id=sub,
                    phone=phone,
                    team_id=TEAM,
                    skills=skills,
                    availability=days,
                    volunteer_id=vid,
                )
                if not active:
                    registry.update_volunteer(session, r, vid, {"active": False})
        for eid, name, building, unit, floor, born, alone, tier, reason, conditions, former, partners in ELDERS:
            if session.get(Elder, eid) is None:
                registry.register_elder(
                    ctx,
                    session,
                    r,
                    now=now,
                    name=name,
                    community=COMMUNITY,
                    estate=ESTATE,
                    building=building,
                    unit=unit,
                    floor=floor,
                    birth_year=born,
                    lives_alone=alone,
                    tier=tier,
                    tier_reason=reason,
                    conditions=conditions,
                    team_id=TEAM,
                    former_volunteer_id=former,
                    elder_id=eid,
                    consent={"given_by": name, "purpose": DEMO_CONSENT} if conditions else None,
                )
            for vid in partners:
                paired = session.exec(
                    select(Pairing).where(Pairing.elder_id == eid, Pairing.volunteer_id == vid)
                ).first()
                if paired is None:
                    registry.pair(ctx, session, r, eid, vid, now)
