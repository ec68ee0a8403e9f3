"""The caller's own preferences, and the recipients staff register (duty, language, channels)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.notify.domain.targets import DEFAULT, TargetPolicy
from services.notify.entrypoints.http.deps import Anyone, Staff, UserId
from services.notify.entrypoints.http.schemas import PreferencesIn, RecipientIn, RecipientView, page_of_views
from services.notify.service_layer import recipients, scope, views
from shared.service import ServiceContext
from shared.web import etags
from shared.web.pages import Page, Paging
from shared.web.runner import Runner


def build_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter()
    run = Runner(ctx.store)

    def targets() -> TargetPolicy:
        """The channel target policy read at start (``NOTIFY_ALLOWED_WEBHOOK_HOSTS``)."""
        policy = ctx.state.get("targets")
        return policy if isinstance(policy, TargetPolicy) else DEFAULT

    @router.get("/preferences")
    async def my_preferences(who: Anyone, response: Response) -> RecipientView:
        """The caller's preferences (defaults when never set), with the ``ETag`` a conditional change sends."""

        def read(s):
            return RecipientView.model_validate(views.preferences(s, who.sub)), etags.tag(recipients.find(s, who.sub))

        return etags.answer(response, await run.read(read))

    @router.put("/preferences", responses=etags.RESPONSES)
    async def set_preferences(
        body: PreferencesIn, who: Anyone, response: Response, if_match: etags.IfMatch = None
    ) -> RecipientView:
        """Change the caller's own language, time zone, quiet hours, digest, rate limit, channels.

        With ``If-Match`` (the ETag of ``GET /preferences``): only if they did not change since (else 412)."""
        changes, policy = body.changes(), targets()

        def write(s):
            etags.guard(s, f"notify:recipient:{who.sub}", if_match, lambda: recipients.find(s, who.sub))
            person = recipients.own_preferences(
                s, who.sub, who.name or who.sub, sorted(who.roles), changes, targets=policy
            )
            return RecipientView.model_validate(views.recipient(person, who.sub)), etags.stored_tag(s, person)

        return etags.answer(response, await run(write))

    @router.get("/recipients")
    async def list_recipients(who: Staff, page: Paging) -> Page[RecipientView]:
        """Everyone notify can reach in the caller's communities, by user id (channel addresses masked)."""
        return page_of_views(RecipientView, await run.read(views.recipients, page, scope.communities_of(who)))

    @router.put("/recipients/{user_id}", status_code=200, responses=etags.RESPONSES)
    async def put_recipient(
        user_id: UserId, body: RecipientIn, who: Staff, response: Response, if_match: etags.IfMatch = None
    ) -> RecipientView:
        """Register or update a person notify can reach (staff duty, language, channels, quiet hours).

        Channels are checked against the resident's target policy, or the operator's when an operator calls.
        With ``If-Match`` (the ETag of ``GET /recipients/{user_id}``): only if unchanged since (else 412)."""
        changes, policy = body.changes(), targets()
        communities = scope.communities_of(who)

        def write(s):
            etags.guard(s, f"notify:recipient:{user_id}", if_match, lambda: recipients.find(s, user_id, communities))
            person = recipients.upsert_recipient(
                s,
                user_id,
                display_name=body.display_name,
                roles=body.roles,
                community=body.community,
                categories=body.categories,
                on_duty=body.on_duty,
                preferences=changes,
                targets=policy,
                audience=recipients.audience_of(sorted(who.roles)),
                communities=communities,
            )
            return RecipientView.model_validate(views.recipient(person, user_id)), etags.stored_tag(s, person)

        return etags.answer(response, await run(write))

    @router.get("/recipients/{user_id}")
    async def get_recipient(user_id: UserId, who: Staff, response: Response) -> RecipientView:
        """A recipient of the caller's communities, with masked channel addresses and the ``ETag``."""
        communities = scope.communities_of(who)

        def read(s):
            view = RecipientView.model_validate(views.registered(s, user_id, communities))
            return view, etags.tag(recipients.find(s, user_id, communities))

        return etags.answer(response, await run.read(read))

    return router
