"""Operators choose which channel kinds each role may set (issue 15, item 3), checked when saved and at send time."""

from __future__ import annotations

import pytest

from services.notify.adapters.sender import send
from services.notify.domain.targets import TargetPolicy, parse_kinds
from tests.conftest import token

RESIDENT = token("resident:zhang-xiaosen", "resident", name="张晓森")
OPERATOR = token("operator:ops", "operator", name="运维")
BOT = "wecombot://0123456789abcdef"
EMAIL = "mailto://zxs:app-password@qq.com"


async def test_residents_may_set_only_the_kinds_operators_enabled(start_runtime, monkeypatch):
    monkeypatch.setenv("NOTIFY_RESIDENT_CHANNELS", "email")
    monkeypatch.setenv("NOTIFY_OPERATOR_CHANNELS", "email, webhook")
    async with start_runtime(["notify"]) as (_rt, client):
        bot = await client.put("/api/notify/preferences", headers=RESIDENT, json={"channels": [{"url": BOT}]})
        assert bot.status_code == 422 and bot.json()["code"] == "channel_target_refused"
        assert "0123456789abcdef" not in bot.text and "未开放" in bot.text
        email = await client.put("/api/notify/preferences", headers=RESIDENT, json={"channels": [{"url": EMAIL}]})
        assert email.status_code == 200, email.text

        body = {"display_name": "短信", "roles": ["staff"], "channels": [{"url": "twilio://sid:token@+8613800000000"}]}
        sms = await client.put("/api/notify/recipients/system:sms", headers=OPERATOR, json=body)
        assert sms.status_code == 422 and "未开放" in sms.text  # valid by default, switched off here
        body["channels"] = [{"url": "json://hooks.example.com/linli"}]
        assert (await client.put("/api/notify/recipients/system:hook", headers=OPERATOR, json=body)).status_code == 200


def test_a_kind_switched_off_later_is_not_called_at_send_time():
    before = TargetPolicy()
    after = TargetPolicy(resident_kinds=frozenset({"email"}))
    assert before.check(BOT, "resident").kind.name == "wecombot"
    result = send(BOT, "标题", "正文", targets=after, audience="resident")
    assert not result.ok and result.permanent and "kind_disabled" in result.response


def test_unset_lists_keep_the_defaults_and_a_typo_is_refused():
    assert parse_kinds(None) is None and parse_kinds("  ") is None
    assert parse_kinds("Email, wecombot dingtalk") == {"email", "wecombot", "dingtalk"}
    with pytest.raises(ValueError, match="unknown channel kinds"):
        parse_kinds("email, wechat")
    assert TargetPolicy().check("json://hooks.example.com/x", "operator").kind.name == "webhook"
