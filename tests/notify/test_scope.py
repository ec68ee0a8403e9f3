"""Staff reach the recipients and deliveries of the communities they serve (issue 15): a 北翟营 staff member
neither lists nor reads nor rewrites 明珠花苑's residents, nor sees the messages sent to them."""

from __future__ import annotations

from tests.conftest import token
from tests.notify.conftest import handled, publish
from tests.notify.test_channel_targets import loan

CITY = token("staff:district", "staff")
BEIZHAIYING = token("staff:bzy", "staff", community="北翟营")
OPERATOR = token("operator:ops", "operator")


async def _register(client, user_id: str, community: str, **extra) -> None:
    body = {"display_name": user_id.split(":")[1], "community": community, **extra}
    r = await client.put(f"/api/notify/recipients/{user_id}", headers=CITY, json=body)
    assert r.status_code == 200, r.text


async def test_staff_reach_only_the_recipients_of_their_communities(start_runtime):
    async with start_runtime(["notify"]) as (_rt, client):
        await _register(client, "resident:bzy-1", "北翟营")
        await _register(client, "resident:mz-1", "明珠花苑")

        listed = (await client.get("/api/notify/recipients", headers=BEIZHAIYING)).json()["items"]
        assert [r["user_id"] for r in listed] == ["resident:bzy-1"]
        everyone = (await client.get("/api/notify/recipients", headers=OPERATOR)).json()["items"]
        assert {"resident:bzy-1", "resident:mz-1"} <= {r["user_id"] for r in everyone}

        assert (await client.get("/api/notify/recipients/resident:mz-1", headers=BEIZHAIYING)).status_code == 404
        assert (await client.get("/api/notify/recipients/resident:bzy-1", headers=BEIZHAIYING)).status_code == 200
        rewrite = {"display_name": "改名", "community": "北翟营"}
        moved = await client.put("/api/notify/recipients/resident:mz-1", headers=BEIZHAIYING, json=rewrite)
        assert moved.status_code == 404  # cannot take over another community's resident
        elsewhere = {"display_name": "新人", "community": "明珠花苑"}
        new = await client.put("/api/notify/recipients/resident:mz-2", headers=BEIZHAIYING, json=elsewhere)
        assert new.status_code == 403 and new.json()["code"] == "out_of_scope"


async def test_staff_see_only_deliveries_to_their_communities(start_runtime):
    async with start_runtime(["notify"]) as (runtime, client):
        bot = [{"url": "wecombot://0123456789abcdef", "name": "bot"}]
        await _register(client, "resident:zhang-xiaosen", "明珠花苑", channels=bot, digest_hour=3)
        await publish(runtime, loan(reader="resident:zhang-xiaosen"))
        await handled(runtime, 1)
        path = "/api/notify/deliveries?recipient=resident:zhang-xiaosen"
        assert await _items(client, OPERATOR, path)
        assert await _items(client, CITY, path)
        assert await _items(client, BEIZHAIYING, path) == []
        assert await _items(client, BEIZHAIYING, "/api/notify/deliveries") == []


async def _items(client, headers, path):
    return (await client.get(path, headers=headers)).json()["items"]
