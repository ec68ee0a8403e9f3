"""Start-up of the notify service: templates validated, shipped rules seeded, retry and target policies read."""

from __future__ import annotations

from services.notify.adapters.templates import load_templates
from services.notify.config import notify_settings
from services.notify.domain.schedule import RetryPolicy
from services.notify.domain.targets import TargetPolicy, parse_hosts, parse_kinds
from services.notify.service_layer.rules import read_rules, seed_rules
from shared.service import ServiceContext


def policy_from_env() -> RetryPolicy:
    """``NOTIFY_MAX_ATTEMPTS`` (6), ``NOTIFY_RETRY_BASE_SECONDS`` (60), ``NOTIFY_RETRY_JITTER`` (0.2)."""
    s = notify_settings()
    return RetryPolicy(max_attempts=s.max_attempts, base_seconds=s.retry_base_seconds, jitter=s.retry_jitter)


def targets_from_env() -> TargetPolicy:
    """``NOTIFY_ALLOWED_WEBHOOK_HOSTS`` (none): hosts a channel may name besides the policy's public ones;
    ``NOTIFY_RESIDENT_CHANNELS`` / ``NOTIFY_OPERATOR_CHANNELS``: the channel kinds each may set (unset: the
    defaults of :data:`services.notify.domain.targets.KINDS`)."""
    s = notify_settings()
    return TargetPolicy(
        allowed_hosts=parse_hosts(s.allowed_webhook_hosts),
        resident_kinds=parse_kinds(s.resident_channels),
        operator_kinds=parse_kinds(s.operator_channels),
    )


def start(ctx: ServiceContext) -> None:
    """Fail start-up on a bad template or rule; otherwise seed the rules the store lacks."""
    rules = read_rules()
    ctx.state["templates"] = load_templates(required={r.template for r in rules})
    ctx.state.setdefault("policy", policy_from_env())
    ctx.state.setdefault("targets", targets_from_env())
    with ctx.store.transaction() as session:
        seed_rules(session, rules)
