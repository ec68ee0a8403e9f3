"""The caller's own preferences, and the recipients staff register (duty, language, channels)."""

from __future__ import annotations

from fastapi import APIRouter

from services.notify.domain.targets import DEFAULT, TargetPolicy
from services.notify.entrypoints.http.deps import Anyone, Staff, UserId
from services.notify.entrypoints.http.schemas import PreferencesIn, RecipientIn, RecipientView, page_of_views
from services.notify.service_layer import recipients, scope, views
from shared.service import ServiceContext
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
    async def my_preferences(who: Anyone) -> RecipientView:
        """The caller's preferences (defaults when never set)."""
        return RecipientView.model_validate(await run.read(views.preferences, who.sub))

    @router.put("/preferences")
    async def set_preferences(body: PreferencesIn, who: Anyone) -> RecipientView:
        """Change the caller's own language, time zone, quiet hours, digest, rate limit, channels."""
        changes, policy = body.changes(), targets()
        return RecipientView.model_validate(
            await run(
                lambda s: views.recipient(
                    recipients.own_preferences(
                        s, who.sub, who.name or who.sub, sorted(who.roles), changes, targets=policy
                    ),
                    who.sub,
                )
            )
        )

    @router.get("/recipients")
    async def list_recipients(who: Staff, page: Paging) -> Page[RecipientView]:
        """Everyone notify can reach in the caller's communities, by user id (channel addresses masked)."""
        return page_of_views(RecipientView, await run.read(views.recipients, page, scope.communities_of(who)))

    @router.put("/recipients/{user_id}", status_code=200)
    async def put_recipient(user_id: UserId, body: RecipientIn, who: Staff) -> RecipientView:
        """Register or update a person notify can reach (staff duty, language, channels, quiet hours).

        Channels are checked against the resident's target policy, or the operator's when an operator calls."""
        changes, policy = body.changes(), targets()
        return RecipientView.model_validate(
            await run(
                lambda s: views.recipient(
                    recipients.upsert_recipient(
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
                        communities=scope.communities_of(who),
                    ),
                    user_id,
                )
            )
        )

    @router.get("/recipients/{user_id}")
    async def get_recipient(user_id: UserId, who: Staff) -> RecipientView:
        """A recipient of the caller's communities, with masked channel addresses."""
        return RecipientView.model_validate(await run.read(views.registered, user_id, scope.communities_of(who)))

    return router
