"""Routing rules as data: shipped in rules.yaml, kept in the ``rule`` table, read by routing."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlmodel import Session, select

from services.notify.adapters.orm import Rule
from services.notify.domain.channels import CATEGORIES

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
    """Raise ValueError for an audience or category notify does not know."""
    for audience in rule.audiences:
        if audience not in AUDIENCES and not audience.startswith("field:"):
            raise ValueError(f"未知的接收人 / unknown audience {audience!r} in rule {rule.event}")
    if rule.category not in CATEGORIES:
        raise ValueError(f"未知类别 / unknown category {rule.category!r} in rule {rule.event}")


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
