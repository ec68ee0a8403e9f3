"""Issue 15, item 5: visit-log notes may hold health observations, so a withdrawn consent erases them too
(with the notes an amendment recorded), while the rest of the log (who, when, how long) stays."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from services.volunteers.adapters.orm import LogRevision, VisitLog
from tests.volunteers.helpers import API, LEADER, WANG, ok, paired_elder

FIRST, SECOND = "血压偏高-撤回测试", "已提醒服药-撤回测试"


async def test_withdrawing_the_last_consent_erases_visit_log_notes(start_runtime, clock):
    async with start_runtime(["volunteers"], clock=clock) as (runtime, client):
        _ids, elder = await paired_elder(client)
        clock.advance(timedelta(hours=1))
        body = {"elder_id": elder["id"], "method": "door", "minutes": 40, "services": ["chat"], "notes": FIRST}
        logged = await ok(await client.post(f"{API}/logs", headers=WANG, json=body), 201)
        log_id = logged["log_id"]
        await ok(await client.patch(f"{API}/logs/{log_id}", headers=WANG, json={"notes": SECOND, "reason": "补充"}))
        consents = await ok(await client.get(f"{API}/elders/{elder['id']}/consents", headers=LEADER))
        current = [c for c in consents["items"] if c["current"]]
        assert _stored(runtime), "the notes are stored while the consent is current"

        for given in current:
            r = await client.post(
                f"{API}/elders/{elder['id']}/consents/{given['id']}/withdraw",
                headers=LEADER,
                json={"reason": "本人要求"},
            )
            await ok(r)

        assert not _stored(runtime), "no note survives the withdrawal, not even in the amendment history"
        with runtime.contexts["volunteers"].store.transaction(readonly=True) as s:
            row = s.get(VisitLog, log_id)
            assert row is not None and row.minutes == 40 and row.notes == ""


def _stored(runtime) -> list[str]:
    with runtime.contexts["volunteers"].store.transaction(readonly=True) as s:
        texts = [log.notes for log in s.scalars(select(VisitLog))]
        texts += [f"{r.before} {r.after}" for r in s.scalars(select(LogRevision))]
    return [t for t in texts if FIRST in t or SECOND in t]
