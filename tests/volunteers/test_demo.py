"""The demo data of the 3502 community loads twice without change and tells the seed's story."""

from __future__ import annotations

from services.volunteers.module import module
from tests.conftest import token
from tests.volunteers.helpers import API, LEADER, ok


async def test_demo_loads_the_3502_team_idempotently(start_runtime, clock):
    async with start_runtime(["volunteers"], clock=clock) as (runtime, client):
        ctx = runtime.contexts["volunteers"]
        module.demo(ctx)
        module.demo(ctx)
        survey = (await ok(await client.get(f"{API}/survey", headers=LEADER, params={"community": "3502"})))["items"]
        assert [(g["building"], g["unit"], len(g["elders"])) for g in survey] == [
            ("3", "1", 1),
            ("3", "2", 1),
            ("5", "1", 1),
            ("5", "2", 1),
            ("7", "1", 1),
        ]
        assert sum(g["unpaired"] for g in survey) == 1  # 周玉兰: the survey shows the gap
        hao = await ok(await client.get(f"{API}/elders/E-3502-hao-lianfang", headers=LEADER))
        assert hao["former_volunteer_id"] == "VOL-hao-lianfang" and hao["address"] == "际华苑 3号楼 2单元 1层"
        pairings = (await ok(await client.get(f"{API}/elders/E-3502-hao-lianfang/pairings", headers=LEADER)))["items"]
        assert sorted(p["volunteer_name"] for p in pairings) == ["张秀芹", "王桂兰"]
        former = await ok(await client.get(f"{API}/volunteers/VOL-hao-lianfang", headers=LEADER))
        assert former["active"] is False
        # the team leader is herself a volunteer, paired with 郝连芳: she sees the health notes
        assert hao["conditions"] == "腰腿不便"
        zhao = token("volunteer:zhao-meiling", "volunteer")
        # a volunteer not paired with her does not reach her record at all (as if it did not exist)
        assert (await client.get(f"{API}/elders/E-3502-hao-lianfang/health", headers=zhao)).status_code == 404
