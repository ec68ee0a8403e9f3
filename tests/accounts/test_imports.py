"""Importing a community office's table (XLSX or CSV): a dry run lists every rejected row and why and
changes nothing; the import applies the good rows; importing again changes nothing."""

from __future__ import annotations

import io

from openpyxl import Workbook

from services.accounts.domain.claims import Grant
from tests.accounts.conftest import bearer, grant, resident, sign_in

HEADER = ["社区", "小区", "楼号", "单元", "门牌号", "姓名", "手机号"]
ROWS = [
    ["北翟营", "亚龙花园", 5, 1, 101, "刘大爷", 13700000001],  # numbers as Excel keeps them
    ["北翟营", "亚龙花园", 5, 1, 101, "刘奶奶", "137-0000-0002"],
    ["北翟营", "亚龙花园", 5, 1, 102, None, None],  # a household without residents yet
    ["北翟营", "亚龙花园", 5, 2, None, "没门牌", None],  # row 5: no room
    ["北翟营", "亚龙花园", 5, 2, 201, "错号", "12345"],  # row 6: not a mobile
    ["3502", "际华苑", 5, 1, 101, "外社区", None],  # row 7: a community the staff member does not serve
    ["北翟营", "亚龙花园", 5, 2, 202, "重号", 13700000001],  # row 8: the phone of row 2
    ["火星", "x", 1, 1, 1, "无此社区", None],  # row 9
]


def _xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _staff(runtime, client, mailbox) -> dict:
    person_id, _ = resident(runtime, phone="13800001111", name="李瑶", room="999")
    grant(runtime, person_id, Grant("staff", community="北翟营"))
    ctx = runtime.contexts["accounts"]
    from services.accounts.demo import DEMO
    from services.accounts.service_layer import register

    with ctx.store.transaction() as s:
        register.add_community(ctx, s, DEMO, "3502", "3502社区", "桥西区")
    return bearer(await sign_in(client, mailbox, "13800001111"))


async def _post(client, staff, content: bytes, name: str, dry_run: bool):
    files = {"file": (name, content, "application/octet-stream")}
    answer = await client.post(
        "/api/accounts/imports", headers=staff, files=files, data={"dry_run": str(dry_run).lower()}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_dry_run_reports_each_rejected_row_and_changes_nothing_then_reimport_is_idempotent(served, mailbox):
    async with served(["accounts"]) as (runtime, client):
        staff = await _staff(runtime, client, mailbox)
        content = _xlsx(ROWS)
        dry = await _post(client, staff, content, "households.xlsx", True)
        assert dry["dry_run"] and dry["rejected_total"] == 5
        assert [r["row"] for r in dry["rejected"]] == [5, 6, 7, 8, 9]
        reasons = {r["row"]: r["reason"] for r in dry["rejected"]}
        assert "room" in reasons[5] and "mobile" in reasons[6] and "serve" in reasons[7]
        assert "row 2" in reasons[8] and "no such community" in reasons[9]
        assert (dry["households_created"], dry["people_created"]) == (2, 2)
        listed = await client.get(
            "/api/accounts/households", headers=staff, params={"community": "北翟营", "building": "5"}
        )
        assert listed.json()["items"] == []  # the dry run wrote nothing

        done = await _post(client, staff, content, "households.xlsx", False)
        assert (done["households_created"], done["people_created"], done["rejected_total"]) == (2, 2, 5)
        again = await _post(client, staff, content, "households.xlsx", False)
        assert (again["households_created"], again["people_created"], again["people_updated"]) == (0, 0, 0)
        assert again["unchanged"] == 3

        people = await client.get("/api/accounts/people", headers=staff, params={"community": "北翟营"})
        named = {p["name"]: p for p in people.json()["items"]}
        assert named["刘奶奶"]["phone_masked"] == "137****0002"
        assert named["刘大爷"]["household"]["room"] == "101"


async def test_a_csv_from_excel_in_gb18030_imports_and_moves_a_known_person(served, mailbox):
    async with served(["accounts"]) as (runtime, client):
        staff = await _staff(runtime, client, mailbox)
        first = "社区,小区,楼号,单元,门牌号,姓名,手机号\n北翟营,亚龙花园,6,1,101,孙阿姨,13700000009\n"
        await _post(client, staff, first.encode("gb18030"), "a.csv", False)
        moved = "社区,小区,楼号,单元,门牌号,姓名,手机号\n北翟营,亚龙花园,7,1,101,孙阿姨,13700000009\n"
        report = await _post(client, staff, moved.encode("gb18030"), "b.csv", False)
        assert (report["people_created"], report["people_updated"]) == (0, 1)
        people = await client.get("/api/accounts/people", headers=staff, params={"community": "北翟营"})
        (sun,) = [p for p in people.json()["items"] if p["name"] == "孙阿姨"]
        assert sun["household"]["building"] == "7"


async def test_a_file_that_is_not_a_table_is_a_422(served, mailbox):
    async with served(["accounts"]) as (runtime, client):
        staff = await _staff(runtime, client, mailbox)
        files = {"file": ("x.xlsx", b"PK\x03\x04not really a zip", "application/octet-stream")}
        answer = await client.post("/api/accounts/imports", headers=staff, files=files)
        assert answer.status_code == 422 and answer.json()["code"] == "bad_file"
