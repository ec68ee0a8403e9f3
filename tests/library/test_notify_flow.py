"""End to end with notify: a due-soon notice reaches the reader's in-app inbox through Redis."""

from datetime import timedelta

from services.library.jobs import tick
from tests.conftest import eventually
from tests.library.conftest import CARD_A, RESIDENT, checkout, register, seed


async def test_due_soon_reaches_the_readers_app_inbox(start_runtime, clock):
    async with start_runtime(["library", "notify"], clock=clock) as (runtime, client):
        await seed(client)
        reader = await register(client, CARD_A, "赵晓彤", user="resident:zhao-xiaotong")
        assert (await checkout(client, reader, "ZHC-2")).status_code == 201
        clock.advance(timedelta(days=27))
        assert tick(runtime.contexts["library"], clock.now()) == 1

        async def inbox():
            r = await client.get("/api/notify/inbox", headers=RESIDENT)
            return r.status_code == 200 and r.json()["items"]

        messages = await eventually(inbox)
        assert len(messages) == 1
        assert "三体" in str(messages[0])
