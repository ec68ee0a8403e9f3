"""The thin flow: a resident's report reaches on-duty staff's in-app inbox through Redis."""

from tests.conftest import eventually, token

STAFF = token("staff:li-yao", "staff", name="李瑶")
RESIDENT = token("resident:zhang-xiaosen", "resident", name="张晓森")


async def test_ticket_opened_reaches_on_duty_staff_inbox(start_runtime):
    async with start_runtime(["tickets", "notify"]) as (_runtime, client):
        r = await client.put(
            "/api/notify/recipients/staff:li-yao",
            headers=STAFF,
            json={
                "user_id": "staff:li-yao",
                "display_name": "李瑶",
                "roles": ["staff"],
                "categories": ["manhole"],
                "on_duty": True,
            },
        )
        assert r.status_code == 200, r.text
        r = await client.post(
            "/api/tickets/tickets",
            headers=RESIDENT,
            json={
                "category": "manhole",
                "title": "井盖松动",
                "description": "亚龙花园3号楼前井盖翘起，老人被绊倒",
                "community": "北翟营",
                "building": "3",
            },
        )
        assert r.status_code == 201, r.text
        ticket_id = r.json()["id"]

        async def inbox():
            resp = await client.get("/api/notify/inbox", headers=STAFF)
            return resp.json()["items"]

        messages = await eventually(inbox)
        assert len(messages) == 1
        assert messages[0]["subject"] == ticket_id
        assert "井盖松动" in messages[0]["title"]


async def test_staff_messages_name_the_category_in_their_language(start_runtime):
    async with start_runtime(["tickets", "notify"]) as (_runtime, client):
        for user, language in (("staff:li-yao", "zh-CN"), ("staff:wang", "en")):
            r = await client.put(
                f"/api/notify/recipients/{user}",
                headers=STAFF,
                json={
                    "user_id": user,
                    "display_name": user,
                    "roles": ["staff"],
                    "categories": ["manhole"],
                    "on_duty": True,
                    "language": language,
                },
            )
            assert r.status_code == 200, r.text
        r = await client.post(
            "/api/tickets/tickets",
            headers=RESIDENT,
            json={"category": "manhole", "title": "井盖松动", "description": "3号楼前", "community": "北翟营"},
        )
        assert r.status_code == 201, r.text

        async def body_of(who):
            resp = await client.get("/api/notify/inbox", headers=token(who, "staff"))
            return resp.json()["items"][0]["body"] if resp.json()["items"] else None

        assert "井盖松动/道路破损" in await eventually(lambda: body_of("staff:li-yao"))
        assert "Manhole cover or road damage" in await eventually(lambda: body_of("staff:wang"))
