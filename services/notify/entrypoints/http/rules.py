"""Routing rules: which event type reaches whom, in which category, with which template."""

from __future__ import annotations

from fastapi import APIRouter

from services.notify.entrypoints.http.deps import Configurers, Operator
from services.notify.entrypoints.http.schemas import RuleIn, RuleView, page_of_views
from services.notify.service_layer import rules, views
from shared.service import ServiceContext
from shared.web.fields import PathCode
from shared.web.pages import Page, Paging
from shared.web.runner import Runner


def build_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()
    run = Runner(ctx.store)

    @router.get("/rules")
    async def list_rules(who: Configurers, page: Paging) -> Page[RuleView]:
        """The routing rules in force, by event type."""
        return page_of_views(RuleView, await run.read(views.rules, page))

    @router.put("/rules/{event}")
    async def put_rule(event: PathCode, body: RuleIn, who: Operator) -> RuleView:
        """Change where an event type goes (its template must exist in every language)."""
        templates = ctx.state["templates"]
        return RuleView.model_validate(
            await run(
                lambda s: views.rule(
                    rules.put_rule(
                        s,
                        templates,
                        event,
                        audiences=body.audiences,
                        category=body.category,
                        critical=body.critical,
                        template=body.template,
                    )
                )
            )
        )

    return router
