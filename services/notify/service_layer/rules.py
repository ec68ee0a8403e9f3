"""Routing rules as data: shipped in rules.yaml, kept in the ``rule`` table, read by routing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml
from sqlmodel import Session, select

from services.notify.adapters.orm import Rule
from services.notify.adapters.templates import Templates
from services.notify.domain.channels import CATEGORIES
from shared.errors import Invalid, NotFound

RULES_FILE = Path(__file__).resolve().parent.parent / "rules.yaml"
AUDIENCES = {"on_duty_staff", "staff", "followers"}


def read_rules(path: Path = RULES_FILE) -> list[Rule]:
    """Parse and check the shipped rules (unknown audiences or categories fail at start-up)."""
    rules = []
    for item in yaml.safe_load(path.read_text(encoding="utf-8")):
        rule = Rule(
            event=item["event"],
            audiences=list(item["audiences"]),
            category=item["category"],
            critical=str(item.get("critical", "false")).lower(),
            template=item.get("template", item["event"]),
        )
        check_rule(rule)
        rules.append(rule)
    return rules


def check_rule(rule: Rule) -> None:
    """Refuse (:class:`Invalid`) an audience or category notify does not know."""
    for audience in rule.audiences:
        if audience not in AUDIENCES and not audience.startswith("field:"):
            raise Invalid(
                f"未知的接收人 / unknown audience; use {', '.join(sorted(AUDIENCES))} or field:<name>",
                code="unknown_audience",
            )
    if rule.category not in CATEGORIES:
        raise Invalid(f"未知类别 / unknown category; use {', '.join(CATEGORIES)}", code="unknown_category")


def find(session: Session, event: str) -> Rule | None:
    """The stored rule of an event type, ``None`` when there is none."""
    return session.get(Rule, event)


def get(session: Session, event: str) -> Rule:
    """The stored rule of an event type, or 404."""
    row = find(session, event)
    if row is None:
        raise NotFound("没有该事件的规则 / no rule for this event type")
    return row


def put_rule(
    session: Session,
    templates: Templates,
    event: str,
    *,
    audiences: Sequence[str],
    category: str,
    critical: str = "false",
    template: str | None = None,
) -> Rule:
    """Change where an event type goes; its template must exist in every language (``no_template``)."""
    rule = Rule(
        event=event,
        audiences=list(audiences),
        category=category,
        critical=critical.lower(),
        template=template or event,
    )
    check_rule(rule)
    if rule.template not in templates.names():
        raise Invalid("没有该模板 / no such template", code="no_template")
    return session.merge(rule)


def seed_rules(session: Session, rules: list[Rule]) -> int:
    """Insert shipped rules that the store does not have yet; existing (maybe edited) rows stay."""
    have = set(session.exec(select(Rule.event)).all())
    added = [r for r in rules if r.event not in have]
    session.add_all(added)
    return len(added)


def is_critical(rule: Rule, data: dict) -> bool:
    """``true``/``false`` or the truth of an event field (``safety_critical``, ``critical``)."""
    if rule.critical in ("true", "false"):
        return rule.critical == "true"
    return bool(data.get(rule.critical))
