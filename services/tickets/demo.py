"""Demo data for the seed communities: escalation contacts, duty rosters (incl. the 小修小补 artisans)
and a few reports in 北翟营 and 明珠花苑. Idempotent: running it twice adds nothing."""

from __future__ import annotations

from services.tickets.adapters.orm import Category, StaffDuty, Ticket
from services.tickets.service_layer import categories, reports, staff
from shared.service import ServiceContext

SUPERVISOR = "staff:wang-jianguo"  # 物业维修主管 (category supervisor, level-1 escalation)
SECRETARY = "staff:li-yao"  # 明珠花苑社区书记李瑶 (level-2 escalation)

ROSTER = [
    ("maintenance", "staff:zhao-gang", "赵刚（维修）"),
    ("maintenance", "staff:sun-wei", "孙伟（维修）"),
    ("property", "staff:zhou-min", "周敏（物业）"),
    ("sanitation", "staff:wu-hong", "吴红（保洁）"),
    ("grid", "staff:zheng-li", "郑丽（网格员）"),
    ("repair_clothes", "artisan:gu-chunxiao", "谷春肖（缝补）"),
    ("repair_shoes", "artisan:liu-shifu", "刘师傅（修鞋）"),
    ("repair_watch", "artisan:chen-shifu", "陈师傅（修表）"),
    ("repair_appliance", "artisan:ma-shifu", "马师傅（小家电）"),
]

TICKETS = [
    dict(
        ticket_id="TDEMO0000001",
        category="manhole",
        title="井盖翘起绊倒老人",
        description="亚龙花园3号楼楼下井盖翘起，我母亲被绊了一下把脚崴了，请尽快修理，防止再有人被绊倒。",
        reporter="resident:zhang-xiaosen",
        community="北翟营",
        building="3",
        address="北翟营社区亚龙花园3号楼前",
        lat=38.0532,
        lon=114.4485,
    ),
    dict(
        ticket_id="TDEMO0000002",
        category="street_light",
        title="小区东门路灯不亮",
        description="东门进来第二盏路灯已经三天不亮，晚上接孩子很不方便。",
        reporter="resident:zhao-xiaotong",
        community="明珠花苑",
        building="5",
        address="明珠花苑东门",
        lat=38.0421,
        lon=114.5143,
    ),
    dict(
        ticket_id="TDEMO0000003",
        category="repair_clothes",
        title="舞蹈队服装改肥瘦",
        description="社区舞蹈队演出服六件，需要改肥瘦、裁边。",
        reporter="resident:zhao-xiaotong",
        community="明珠花苑",
        building="2",
        attributes={"item": "演出服6件：改肥瘦、裁边"},
    ),
]


def load(ctx: ServiceContext) -> None:
    """Fill escalation contacts, rosters and demo tickets unless they are already there."""
    with ctx.store.transaction() as session:
        for category in categories.list_categories(session):
            if category.supervisor is None:
                categories.upsert(session, category.code, {"supervisor": SUPERVISOR, "secretary": SECRETARY})
        for pool, staff_id, name in ROSTER:
            if session.get(StaffDuty, (pool, staff_id)) is None:
                staff.upsert(session, pool, staff_id, name, True)
    for spec in TICKETS:
        with ctx.store.transaction() as session:
            if session.get(Ticket, spec["ticket_id"]) is None and session.get(Category, spec["category"]):
                reports.open_ticket(ctx, session, **spec)
