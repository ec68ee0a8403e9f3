"""The loan limit holds under concurrent check-outs, on SQLite and on PostgreSQL."""

import asyncio

import pytest

from tests.library.conftest import CARD_A, STAFF, checkout, register


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_racing_checkouts_never_exceed_three(lib, backend, monkeypatch, pg_database):
    if backend == "postgresql":
        monkeypatch.setenv("LIBRARY_DATABASE_URL", pg_database("library"))
    async with lib() as (runtime, client):
        assert runtime.contexts["library"].store.url.startswith(backend)
        reader = await register(client, CARD_A, "赵晓彤")
        for _round in range(2):
            barcodes = ["ZHC-1", "ZHC-2", "ZHC-3", "ZHC-4", "ZHC-5"]
            results = await asyncio.gather(*(checkout(client, reader, b) for b in barcodes))
            codes = sorted(r.status_code for r in results)
            assert codes == [201, 201, 201, 409, 409], [r.text for r in results]
            me = (await client.get(f"/api/library/readers/{reader}", headers=STAFF)).json()
            assert len(me["loans"]) == 3
            for loan in me["loans"]:
                r = await client.post(
                    "/api/library/checkin", headers=STAFF, json={"barcode": loan["barcode"], "branch": "CN-SJZ-YH-ZHC"}
                )
                assert r.status_code == 200
        # the same copy raced by two readers is lent once
        from tests.library.conftest import CARD_B

        other = await register(client, CARD_B, "张晓森")
        results = await asyncio.gather(checkout(client, reader, "ZHC-1"), checkout(client, other, "ZHC-1"))
        assert sorted(r.status_code for r in results) == [201, 409]
