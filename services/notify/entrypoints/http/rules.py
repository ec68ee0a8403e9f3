"""Routing rules: which event type reaches whom, in which category, with which template."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.notify.entrypoints.http.deps import Configurers, Operator
from services.notify.entrypoints.http.schemas import RuleIn, RuleView, page_of_views
from services.notify.service_layer import rules, views
from shared.service import ServiceContext
from shared.web import etags
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

    @router.get("/rules/{event}")
    async def get_rule(event: PathCode, who: Configurers, response: Response) -> RuleView:
        """The rule of one event type, with the ``ETag`` a conditional change sends."""

        def read(s):
            row = rules.get(s, event)
            return RuleView.model_validate(views.rule(row)), etags.tag(row)

        return etags.answer(response, await run.read(read))

    @router.put("/rules/{event}", responses=etags.RESPONSES)
    async def put_rule(
        event: PathCode, body: RuleIn, who: Operator, response: Response, if_match: etags.IfMatch = None
    ) -> RuleView:
        """Change where an event type goes (its template must exist in every language); with ``If-Match``, only
        if nobody changed the rule since (else 412)."""
        templates = ctx.state["templates"]

        def write(s):
            etags.guard(s, f"notify:rule:{event}", if_match, lambda: rules.find(s, event))
            row = rules.put_rule(
                s,
                templates,
                event,
                audiences=body.audiences,
                category=body.category,
                critical=body.critical,
                template=body.template,
            )
            return RuleView.model_validate(views.rule(row)), etags.stored_tag(s, row)

        return etags.answer(response, await run(write))

    return router
