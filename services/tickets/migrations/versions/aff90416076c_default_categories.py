"""default categories (data): the seed article's kinds of reports, incl. the 小修小补 workshop

Revision ID: aff90416076c
Revises: c229cd9ed67b
Create Date: 2026-11-28 10:42:30

Supervisors, secretaries and duty rosters are community data: set them with
``PUT /api/tickets/categories/{code}`` and ``PUT /api/tickets/staff/{pool}/{staff_id}`` (``linli demo`` fills
them for the seed communities). Existing categories are never overwritten.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'aff90416076c'
down_revision: str | None = 'c229cd9ed67b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SAFETY_ACK = ["已受理，工作人员正赶往现场，请远离危险区域", "Acknowledged: staff are on the way, please keep away"]
ACK = ["已受理，维修人员将于今天到场", "已受理，将于24小时内联系您"]
RESOLVED = ["已处理完毕，请您确认并评价", "已修复，欢迎继续监督"]
REPAIR_ACK = ["匠人坊已接单，请将物品送到明珠花苑匠人坊（底商）", "匠人已接单，周末广场免费服务时可现场取送"]
AFFECTED = {"code": "affected", "datatype": "singlevaluelist", "required": False, "variable": True,
            "description": "是否有人受伤 / anyone hurt?", "values": [{"key": "no", "name": "无人受伤"},
                                                                     {"key": "yes", "name": "有人受伤"}]}
ITEM = {"code": "item", "datatype": "string", "required": True, "variable": True,
        "description": "物品与问题 / the item and what is wrong"}

# code, name, name_en, group, keywords, safety_critical, response_h, resolution_h, pool, attributes, templates
CATEGORIES = [
    ("manhole", "井盖松动/道路破损", "Manhole cover or road damage", "市政设施", "井盖,路面,坑洼", True, 2, 24,
     "maintenance", [AFFECTED], {"acknowledged": SAFETY_ACK, "resolved": RESOLVED}),
    ("street_light", "路灯故障", "Street light out", "市政设施", "路灯,照明", False, 24, 72,
     "maintenance", [], {"acknowledged": ACK, "resolved": RESOLVED}),
    ("leak", "漏水/燃气泄漏", "Water or gas leak", "安全隐患", "漏水,燃气,煤气", True, 2, 24,
     "maintenance", [{"code": "medium", "datatype": "singlevaluelist", "required": True, "variable": True,
                      "description": "泄漏类型 / what is leaking", "values": [{"key": "water", "name": "水"},
                                                                             {"key": "gas", "name": "燃气"}]}],
     {"acknowledged": SAFETY_ACK, "resolved": RESOLVED}),
    ("electrical", "电气隐患", "Electrical hazard", "安全隐患", "电线,配电箱,漏电", True, 2, 24,
     "maintenance", [AFFECTED], {"acknowledged": SAFETY_ACK, "resolved": RESOLVED}),
    ("lift", "电梯故障", "Lift fault", "安全隐患", "电梯,困人", True, 2, 24,
     "property", [], {"acknowledged": SAFETY_ACK, "resolved": RESOLVED}),
    ("sanitation", "环境卫生", "Sanitation and rubbish", "环境", "垃圾,卫生,清运", False, 24, 48,
     "sanitation", [], {"acknowledged": ACK, "resolved": RESOLVED}),
    ("noise", "噪音扰民", "Noise", "邻里", "噪音,扰民,装修", False, 24, 72,
     "grid", [], {"acknowledged": ACK, "resolved": RESOLVED}),
    ("greening", "绿化养护", "Greening and trees", "环境", "绿化,树木,草坪", False, 24, 120,
     "sanitation", [], {"acknowledged": ACK, "resolved": RESOLVED}),
    ("parking", "停车管理", "Parking", "邻里", "停车,占道,消防通道", False, 24, 72,
     "property", [], {"acknowledged": ACK, "resolved": RESOLVED}),
    ("home_hazard", "居家安全隐患", "Hazard at an elder's home", "安全隐患", "入户,走访,隐患", True, 2, 48,
     "maintenance", [], {"acknowledged": SAFETY_ACK, "resolved": RESOLVED}),
    ("repair_clothes", "小修小补·缝补衣物", "Repair workshop: clothes mending", "小修小补", "缝补,改衣,裁剪", False,
     24, 168, "repair_clothes", [ITEM], {"acknowledged": REPAIR_ACK, "resolved": ["已修好，请到匠人坊取回"]}),
    ("repair_shoes", "小修小补·修鞋", "Repair workshop: shoes", "小修小补", "修鞋,换跟", False, 24, 168,
     "repair_shoes", [ITEM], {"acknowledged": REPAIR_ACK, "resolved": ["已修好，请到匠人坊取回"]}),
    ("repair_watch", "小修小补·修表", "Repair workshop: watches", "小修小补", "修表,换电池", False, 24, 168,
     "repair_watch", [ITEM], {"acknowledged": REPAIR_ACK, "resolved": ["已修好，请到匠人坊取回"]}),
    ("repair_appliance", "小修小补·修小家电", "Repair workshop: small appliances", "小修小补", "家电,电扇,电饭锅",
     False, 24, 168, "repair_appliance", [ITEM], {"acknowledged": REPAIR_ACK, "resolved": ["已修好，请到匠人坊取回"]}),
]

category = sa.table(
    "category", sa.column("code", sa.String), sa.column("name", sa.String), sa.column("name_en", sa.String),
    sa.column("description", sa.String), sa.column("group", sa.String), sa.column("keywords", sa.String),
    sa.column("safety_critical", sa.Boolean), sa.column("response_hours", sa.Float),
    sa.column("resolution_hours", sa.Float), sa.column("pool", sa.String), sa.column("supervisor", sa.String),
    sa.column("secretary", sa.String), sa.column("attributes", sa.JSON), sa.column("templates", sa.JSON),
    sa.column("active", sa.Boolean),
)


def upgrade() -> None:
    conn = op.get_bind()
    existing = {row[0] for row in conn.execute(sa.select(category.c.code))}
    rows = [
        dict(code=c, name=n, name_en=en, description=f"{n} / {en}", group=g, keywords=k, safety_critical=s,
             response_hours=rh, resolution_hours=zh, pool=p, supervisor=None, secretary=None, attributes=a,
             templates=t, active=True)
        for c, n, en, g, k, s, rh, zh, p, a, t in CATEGORIES if c not in existing
    ]
    if rows:
        op.bulk_insert(category, rows)


def downgrade() -> None:
    op.execute(category.delete().where(category.c.code.in_([c[0] for c in CATEGORIES])))
