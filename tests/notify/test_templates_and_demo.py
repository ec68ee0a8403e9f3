"""Templates fail at load time, not in a message; the sandbox holds; the demo loads idempotently."""

from __future__ import annotations

import shutil

import pytest
from jinja2.exceptions import SecurityError

from services.notify.adapters.templates import TEMPLATE_DIR, TemplateLoadError, load_templates
from services.notify.service_layer.rules import read_rules
from tests.conftest import token


def copy_templates(tmp_path):
    for path in TEMPLATE_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_shipped_templates_cover_every_rule_in_both_languages():
    templates = load_templates(required={r.template for r in read_rules()})
    assert {r.template for r in read_rules()} <= templates.names()


def test_a_misspelt_variable_fails_at_load_time(tmp_path):
    directory = copy_templates(tmp_path)
    path = directory / "en.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("{{ days_left }} days left", "{{ days_lft }} days left"),
        encoding="utf-8",
    )
    with pytest.raises(TemplateLoadError, match="en/LoanDueSoon.full.*days_lft"):
        load_templates(directory)


def test_a_rule_without_a_template_in_one_language_fails(tmp_path):
    directory = copy_templates(tmp_path)
    path = directory / "en.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("HoldReady:")] + text[text.index("VisitDue:") :], encoding="utf-8")
    with pytest.raises(TemplateLoadError, match="no en template for HoldReady"):
        load_templates(directory, required={"HoldReady"})


def test_parts_share_one_render_context_unless_a_part_sets_a_variable(tmp_path):
    from services.notify.adapters.templates import PARTS, _sample_context, models_by_short_name

    shipped = load_templates()
    models = models_by_short_name()
    assert shipped.one_context == {(name, lang) for name, lang, _ in shipped.compiled}
    for name, lang in shipped.one_context:  # shared or not, the same text
        context = _sample_context(name, models)
        alone = [shipped.compiled[(name, lang, part)].render(context).strip() for part in PARTS]
        shared = shipped.render(name, lang, context)
        assert [shared.title, shared.short, shared.full] == alone
    directory = copy_templates(tmp_path)
    path = directory / "en.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            'title: "New report: {{ title }}"', "title: \"{% set title = 'hidden' %}New report: {{ title }}\""
        ),
        encoding="utf-8",
    )
    templates = load_templates(directory)
    assert ("TicketOpened", "en") not in templates.one_context
    text = templates.render("TicketOpened", "en", _sample_context("TicketOpened", models))
    assert text.title == "New report: hidden" and "title-x" in text.short and "hidden" not in text.short


def test_templates_run_in_a_sandbox():
    env = load_templates().env
    with pytest.raises(SecurityError):
        env.from_string("{{ title.__class__.__mro__[1].__subclasses__() }}").render(title="x")


async def test_demo_recipients_load_once_with_their_preferences(start_runtime):
    async with start_runtime(["notify"]) as (runtime, client):
        ctx = runtime.contexts["notify"]
        runtime.modules[0].demo(ctx)
        runtime.modules[0].demo(ctx)
        staff = token("staff:li-yao", "staff")
        li = (await client.get("/api/notify/recipients/staff:li-yao", headers=staff)).json()
        assert li["display_name"] == "李瑶" and li["on_duty"] is True
        zhao = (await client.get("/api/notify/preferences", headers=token("resident:zhao-xiaotong", "resident"))).json()
        assert zhao["language"] == "en" and zhao["quiet_hours"] == {"start": "22:30", "end": "06:30"}
        leader = (await client.get("/api/notify/recipients/volunteer:zhang-xiuqin", headers=staff)).json()
        assert leader["digest_hour"] == 20
