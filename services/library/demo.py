"""Demo data: the 裕华区 book houses, the city and district libraries, real titles, copies, readers."""

from __future__ import annotations

from sqlalchemy import select

from services.library.adapters.orm import Copy, Reader
from services.library.service_layer import catalog, readers
from shared.pii import keyed_hash

BRANCHES = [
    # code, name, institution, floating, community
    ("CN-SJZ-YH-ZHC", "智汇城漂流书屋", "LINLI", True, "智汇城"),
    ("CN-SJZ-YH-MZHY", "明珠花苑漂流书屋", "LINLI", True, "明珠花苑"),
    ("CN-SJZ-YH-3502", "3502社区漂流书屋", "LINLI", True, "3502"),
    ("CN-SJZ-YH-BZY", "北翟营漂流书屋", "LINLI", True, "北翟营"),
    ("CN-SJZ-LIB", "石家庄市图书馆", "CN-SJZ-LIB", False, None),
    ("CN-SJZ-YHLIB", "裕华区图书馆", "CN-SJZ-YHLIB", False, None),
]
TITLES = [
    ("9787020002207", "红楼梦", "曹雪芹"),
    ("9787020008728", "三国演义", "罗贯中"),
    ("9787544253994", "百年孤独", "加西亚·马尔克斯"),
    ("9787536692930", "三体", "刘慈欣"),
    ("9787506365437", "活着", "余华"),
]
COPIES = [
    ("ZHC-0001", "9787020002207", "CN-SJZ-YH-ZHC"),
    ("ZHC-0002", "9787536692930", "CN-SJZ-YH-ZHC"),
    ("ZHC-0003", "9787506365437", "CN-SJZ-YH-ZHC"),
    ("MZHY-0001", "9787020008728", "CN-SJZ-YH-MZHY"),
    ("MZHY-0002", "9787536692930", "CN-SJZ-YH-MZHY"),
    ("BZY-0001", "9787544253994", "CN-SJZ-YH-BZY"),
    ("SJZLIB-0001", "9787544253994", "CN-SJZ-LIB"),
    ("YHLIB-0001", "9787506365437", "CN-SJZ-YHLIB"),
]
# Sample card numbers with valid check characters (not real people).
READERS = [
    ("11010519491231002X", "赵晓彤", "resident:zhao-xiaotong"),
    ("130102198507150010", "张晓森", "resident:zhang-xiaosen"),
]


def load(ctx) -> None:
    """Insert the demo branches, titles, copies and readers (idempotent)."""
    with ctx.store.transaction() as session:
        for code, name, institution, floating, community in BRANCHES:
            catalog.upsert_branch(
                session, code=code, name=name, institution=institution, floating=floating, community=community
            )
        for isbn, title, author in TITLES:
            catalog.upsert_title(session, isbn=isbn, title=title, author=author)
        for barcode, isbn, home in COPIES:
            if session.get(Copy, barcode) is None:
                catalog.add_copy(ctx, session, barcode=barcode, isbn=isbn, home_branch=home)
        for id_number, name, user in READERS:
            exists = session.execute(select(Reader.id).where(Reader.id_hash == keyed_hash(id_number))).first()
            if exists is None:
                readers.register(ctx, session, id_number=id_number, name=name, user=user)
