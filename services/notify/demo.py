"""Demo recipients from the seed communities (明珠花苑, 北翟营, 3502 际华苑), in-app only.

李瑶 (community secretary) is on duty for every category; 王建国 supervises repairs; residents 张晓森
and 赵晓彤 read with quiet hours 22:00-07:00; team leader 张秀芹 takes a 20:00 digest; 郝连芳 reads in
large-font Chinese, 赵晓彤 in English. External channels (email, WeCom…) are added per person with
PUT /api/notify/preferences. Loading twice changes nothing.
"""

from __future__ import annotations

from services.notify.adapters.orm import Recipient

PEOPLE = [  # user id, name, roles, community, duty categories, on duty, language, quiet hours, digest hour
    ("staff:li-yao", "李瑶", "staff", "明珠花苑", "*", True, "zh-CN", None, None),
    ("staff:wang-jianguo", "王建国", "staff", None, "manhole,street_light,leak,electrical", True, "zh-CN", None, None),
    (
        "staff:zhao-gang",
        "赵刚",
        "staff",
        None,
        "manhole,street_light,leak,electrical",
        False,
        "zh-CN",
        ("22:00", "07:00"),
        None,
    ),
    ("resident:zhang-xiaosen", "张晓森", "resident", "北翟营", "*", False, "zh-CN", ("22:00", "07:00"), None),
    ("resident:zhao-xiaotong", "赵晓彤", "resident", "明珠花苑", "*", False, "en", ("22:30", "06:30"), None),
    ("volunteer:zhang-xiuqin", "张秀芹", "volunteer,team_leader", "3502", "*", False, "zh-CN", ("21:00", "07:00"), 20),
    ("volunteer:wang-guilan", "王桂兰", "volunteer", "3502", "*", False, "zh-CN", ("22:00", "06:00"), None),
    ("volunteer:hao-lianfang", "郝连芳", "volunteer,resident", "3502", "*", False, "zh-CN", ("20:00", "08:00"), None),
]


def load(ctx) -> None:
    """Insert the demo recipients that are missing (existing ones, maybe edited, are kept)."""
    with ctx.store.transaction() as session:
        for uid, name, roles, community, cats, duty, lang, quiet, digest in PEOPLE:
            if session.get(Recipient, uid) is not None:
                continue
            session.add(
                Recipient(
                    user_id=uid,
                    display_name=name,
                    roles=roles,
                    community=community,
                    categories=cats,
                    on_duty=duty,
                    language=lang,
                    quiet_start=quiet[0] if quiet else None,
                    quiet_end=quiet[1] if quiet else None,
                    digest_hour=digest,
                    channels=[],
                    muted={},
                )
            )
