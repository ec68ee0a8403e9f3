"""People: registration, moves, leaving, roles, erasure; and the caller's own record."""

from __future__ import annotations

from fastapi import APIRouter

from services.accounts.domain.claims import Grant
from services.accounts.entrypoints.http.deps import Anyone, CommunityQuery, Operator, RecordId, Staff
from services.accounts.entrypoints.http.schemas import GrantIn, MoveIn, OidcSubjectIn, PersonIn, PersonView, PhoneIn
from services.accounts.service_layer import register, views
from shared.service import ServiceContext
from shared.web.fields import QueryCode
from shared.web.pages import Page, Paging
from shared.web.runner import Runner


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter()
    run = Runner(ctx.store)

    @api.post("/people", status_code=201)
    async def post_person(body: PersonIn, who: Staff) -> PersonView:
        """Register a person in a household (or only a community); the phone is kept hashed, masked and sealed."""
        return await run(lambda s: views.person(s, register.register(ctx, s, who, **body.model_dump())))

    @api.get("/people")
    async def list_people(
        community: CommunityQuery, page: Paging, who: Staff, household_id: QueryCode = None
    ) -> Page[PersonView]:
        """The people of a community (or one household) who have not left; phones masked."""
        return await run.read(views.people, who, page, community, household_id)

    @api.get("/people/{person_id}")
    async def get_person(person_id: RecordId, who: Staff) -> PersonView:
        """One person, with household and roles."""
        return await run.read(views.person_by_id, who, person_id)

    @api.put("/people/{person_id}/phone")
    async def put_phone(person_id: RecordId, body: PhoneIn, who: Staff) -> PersonView:
        """Set or change a person's phone (the one they sign in with)."""

        def change(s):
            row = register.person_in_scope(s, who, person_id, for_update=True)
            register.set_phone(s, row, body.phone)
            return views.person(s, row)

        return await run(change)

    @api.post("/people/{person_id}/move")
    async def move_person(person_id: RecordId, body: MoveIn, who: Staff) -> PersonView:
        """Move a person to another household (HouseholdMoved)."""
        return await run(lambda s: views.person(s, register.move(ctx, s, who, person_id, body.household_id)))

    @api.post("/people/{person_id}/leave")
    async def leave_person(person_id: RecordId, who: Staff) -> PersonView:
        """A person leaves the register (moved away): no household, every session revoked (no body)."""
        return await run(lambda s: views.person(s, register.leave(ctx, s, who, person_id)))

    @api.post("/people/{person_id}/erase")
    async def erase_person(person_id: RecordId, who: Staff) -> PersonView:
        """Erase a person's personal data (PIPL): ResidentErased tells the other services (no body)."""
        return await run(lambda s: views.person(s, register.erase(ctx, s, who, person_id)))

    @api.post("/people/{person_id}/roles", status_code=201)
    async def grant_role(person_id: RecordId, body: GrantIn, who: Staff) -> PersonView:
        """Grant a role with its scope (staff of a community, team leader of a team, ...)."""
        wanted = Grant(body.role, body.community, body.team, body.institution)
        return await run(
            lambda s: (register.grant(ctx, s, who, person_id, wanted), views.person_by_id(s, who, person_id))[1]
        )

    @api.delete("/people/{person_id}/roles/{grant_id}")
    async def revoke_role(person_id: RecordId, grant_id: RecordId, who: Staff) -> PersonView:
        """Revoke a role grant (RoleRevoked); the person's next token no longer carries it."""
        return await run(lambda s: views.person(s, register.revoke(ctx, s, who, person_id, grant_id)))

    @api.put("/people/{person_id}/oidc-subject")
    async def put_oidc_subject(person_id: RecordId, body: OidcSubjectIn, who: Operator) -> PersonView:
        """Link a staff member to their identity at the OpenID Connect provider (operators)."""

        def link(s):
            row = register.person_in_scope(s, who, person_id, for_update=True)
            register.link_oidc(s, row, body.subject)
            return views.person(s, row)

        return await run(link)

    @api.get("/me")
    async def get_me(who: Anyone) -> PersonView:
        """My record: household, masked phone, roles."""
        return await run.read(views.me, who)

    return api
