"""Who reaches which records of the volunteers service: every query and command asks here.

- **staff** reach the elders, volunteers and teams of the communities they serve (``Principal.serves``);
- a **team leader** reaches the teams they lead (``Team.leader`` is them, or the token's ``team``), their
  volunteers and elders, and pairs elders of the communities those teams serve with their own volunteers;
- a **volunteer** reaches the elders they are paired with now, themself and their team mates (phones masked);
- **operators** reach operational data (teams, reports, the access log), never an elder's health.

Records outside a caller's reach answer 404 as if they did not exist (an elder's home and whether she
lives alone are whereabouts, PIPL art. 28); a record in reach that the caller may see but not change
answers 403 ``out_of_scope``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import and_, bindparam, false, or_, true
from sqlmodel import Session, select

from services.volunteers.adapters.orm import Elder, Pairing, Team, Volunteer
from services.volunteers.service_layer.common import ELDER_MISSING, TEAM_MISSING, VOLUNTEER_MISSING, read
from shared.db.lookup import get_or_404
from shared.errors import Forbidden, NotFound
from shared.identity import Principal

OUT_OF_SCOPE = "不在您负责的范围内 / outside the communities or team you serve"


class OwnRecord(Protocol):
    """What the reach keeps of the caller's own volunteer record (a row of :data:`_OWN_PAIRINGS`)."""

    @property
    def id(self) -> str: ...
    @property
    def user_id(self) -> str | None: ...
    @property
    def community(self) -> str: ...
    @property
    def team_id(self) -> str | None: ...


@dataclass(frozen=True)
class Reach:
    """What one caller reaches, resolved once per unit of work."""

    who: Principal
    communities: frozenset[str] | None
    """Communities served as staff: ``None`` for every one, empty when not staff."""
    teams: frozenset[str]
    """Teams led (team leaders)."""
    team_communities: frozenset[str]
    """Communities of the teams led: where a leader may register and pair elders."""
    volunteer: OwnRecord | None
    """The caller's own volunteer record, if they are one (its id, user, community and team)."""
    own_team: str | None
    paired: frozenset[str]
    """Elders the caller's volunteer record is paired with now."""
    team_elders: frozenset[str]
    """Elders paired now with a volunteer of a team the caller leads (whatever team they belong to)."""
    operator: bool

    def serves(self, community: str | None) -> bool:
        """As staff, whether ``community`` is theirs."""
        if self.communities is None:
            return True
        return community is not None and community in self.communities

    def leads(self, team_id: str | None) -> bool:
        return team_id is not None and team_id in self.teams


_V, _P = Volunteer.__table__.c, Pairing.__table__.c  # type: ignore[attr-defined]
_OWN_PAIRINGS = (
    select(_V.id, _V.user_id, _V.community, _V.team_id, _P.elder_id)
    .outerjoin(Pairing.__table__, and_(_P.volunteer_id == _V.id, _P.ended_at.is_(None)))  # type: ignore[attr-defined]
    .where(_V.user_id == bindparam("user"))
)
"""The caller's volunteer record with the elders paired with it now, one row each (one row with no elder if
none): one statement built once instead of two built per call (``user_id`` is unique). Plain columns, read
through the driver on SQLite (``common.read``): every route of a volunteer or team leader starts with it."""


def reach(session: Session, who: Principal) -> Reach:
    """Resolve the caller's reach from their principal and the registry."""
    communities: frozenset[str] | None = frozenset()
    if who.has("staff"):
        communities = who.community_filter()
    teams: list[Team] = []
    if who.has("team_leader"):
        led = Team.leader == who.sub
        if who.team:
            led = or_(led, Team.id == who.team)
        teams = list(session.exec(select(Team).where(led)))
    volunteer = None
    paired: frozenset[str] = frozenset()
    if who.has("volunteer", "team_leader"):
        rows = read(session, _OWN_PAIRINGS, {"user": who.sub})
        if rows:
            volunteer = rows[0]
            paired = frozenset(row.elder_id for row in rows if row.elder_id is not None)
    team_elders: frozenset[str] = frozenset()
    if teams:
        team_elders = frozenset(
            session.exec(
                select(Pairing.elder_id)
                .join(Volunteer, Volunteer.id == Pairing.volunteer_id)
                .where(Volunteer.team_id.in_([t.id for t in teams]), Pairing.ended_at.is_(None))
            )
        )
    return Reach(
        who=who,
        communities=communities,
        teams=frozenset(t.id for t in teams),
        team_communities=frozenset(t.community for t in teams),
        volunteer=volunteer,
        own_team=volunteer.team_id if volunteer is not None else None,
        paired=paired,
        team_elders=team_elders,
        operator=who.has("operator"),
    )


def _staff_clause(column: Any, r: Reach) -> Any:
    if r.communities is None:
        return true()
    return column.in_(sorted(r.communities)) if r.communities else false()


def _any(clauses: list[Any]) -> Any:
    return or_(*clauses) if clauses else false()


# -- elders --------------------------------------------------------------------------------------
def elder_clause(r: Reach, *, operational: bool = False) -> Any:
    """The elders ``r`` reaches, as a WHERE clause (``operational``: operators count, as in reports)."""
    if operational and r.operator:
        return true()
    clauses = [_staff_clause(Elder.community, r)]
    if r.teams:
        clauses.append(Elder.team_id.in_(sorted(r.teams)))
    if r.paired | r.team_elders:
        clauses.append(Elder.id.in_(sorted(r.paired | r.team_elders)))
    return _any(clauses)


_T = Team.__table__.c  # type: ignore[attr-defined]
_PAIRED_WITH = Pairing.__table__.join(Volunteer.__table__, _V.id == _P.volunteer_id)  # type: ignore[attr-defined]
_OWN_ELDERS = (
    select(_P.elder_id).select_from(_PAIRED_WITH).where(_V.user_id == bindparam("user"), _P.ended_at.is_(None))
)
"""The elders paired now with the caller's volunteer record: :attr:`Reach.paired` as a subquery."""
_LED_TEAMS = select(_T.id).where(or_(_T.leader == bindparam("user"), _T.id == bindparam("team")))
"""The teams the caller leads (``Team.leader`` is them, or the token's ``team``): :attr:`Reach.teams`."""
_LED_TEAM_ELDERS = (
    select(_P.elder_id).select_from(_PAIRED_WITH).where(_V.team_id.in_(_LED_TEAMS), _P.ended_at.is_(None))
)
"""The elders paired now with a volunteer of a team the caller leads: :attr:`Reach.team_elders`."""


def elder_reach(who: Principal) -> tuple[tuple[str, ...], dict[str, Any]]:
    """:func:`elder_clause` (not ``operational``) of ``reach(session, who)`` as the names of its parts and
    their values, for a statement built once per shape, without reading the registry first: what
    :func:`reach` reads (the teams led, the elders paired with the caller or with a led team's
    volunteer) is a subquery of the statement itself, so that a list is one SELECT.

    ``("all",)`` for staff of every community; else any of ``communities`` (served as staff), ``own``
    (paired with the caller's volunteer record: volunteers and team leaders, as :func:`reach` reads it)
    and ``led`` (the teams led and the elders paired with their volunteers: team leaders); none of them
    when ``who`` reaches no elder."""
    communities: frozenset[str] | None = frozenset()
    if who.has("staff"):
        communities = who.community_filter()
    if communities is None:
        return ("all",), {}
    parts: list[str] = []
    values: dict[str, Any] = {}
    if communities:
        parts.append("communities")
        values["communities"] = sorted(communities)
    if who.has("volunteer", "team_leader"):
        parts.append("own")
        values["user"] = who.sub
    if who.has("team_leader"):
        parts.append("led")
        values["team"] = who.team or None  # as reach: no team in the token, none by id
    return tuple(parts), values


def elder_clause_of(parts: tuple[str, ...]) -> Any:
    """The WHERE clause of :func:`elder_reach`'s ``parts``, its values as bind parameters (``communities``
    expanding, ``user`` and ``team`` those of the subqueries)."""
    if parts == ("all",):
        return true()
    table = Elder.__table__  # type: ignore[attr-defined]
    clauses = []
    for name in parts:
        if name == "communities":
            clauses.append(table.c.community.in_(bindparam("communities", expanding=True)))
        elif name == "own":
            clauses.append(table.c.id.in_(_OWN_ELDERS))
        else:  # led
            clauses += [table.c.team_id.in_(_LED_TEAMS), table.c.id.in_(_LED_TEAM_ELDERS)]
    return _any(clauses)


def sees_elder(r: Reach, elder: Elder) -> bool:
    return manages_elder(r, elder) or elder.id in r.paired


def manages_elder(r: Reach, elder: Elder) -> bool:
    """Staff of the elder's community and the leader of her team (or of a volunteer paired with her)."""
    return r.serves(elder.community) or leads_elder(r, elder)


def leads_elder(r: Reach, elder: Elder) -> bool:
    """Whether the caller leads the elder's team, or the team of a volunteer paired with her."""
    return r.leads(elder.team_id) or elder.id in r.team_elders


def may_read_health(r: Reach, elder: Elder) -> bool:
    """Health data is for staff of her community, her team's leader and the volunteers paired with her."""
    return sees_elder(r, elder)


def elder_in_reach(session: Session, r: Reach, elder_id: str, *, manage: bool = False) -> Elder:
    """The elder, 404 outside ``r``'s reach; with ``manage``, 403 when ``r`` may see but not change her."""
    elder = get_or_404(session, Elder, elder_id, ELDER_MISSING)
    if not sees_elder(r, elder):
        raise NotFound(ELDER_MISSING)
    if manage and not manages_elder(r, elder):
        raise Forbidden(OUT_OF_SCOPE, code="out_of_scope")
    return elder


_E = Elder.__table__.c  # type: ignore[attr-defined]
_PLACE = select(_E.id, _E.community, _E.estate, _E.building, _E.unit, _E.floor, _E.team_id).where(
    _E.id == bindparam("elder_id")
)
"""An elder's id, community, home and team: what the scope checks, her address and her events need; never
her health data or contacts."""


def elder_place_in_reach(session: Session, r: Reach, elder_id: str, *, manage: bool = False) -> Any:
    """As :func:`elder_in_reach` (the same 404 and 403), the elder as a row of :data:`_PLACE`'s columns."""
    rows = read(session, _PLACE, {"elder_id": elder_id})
    if not rows or not sees_elder(r, rows[0]):
        raise NotFound(ELDER_MISSING)
    if manage and not manages_elder(r, rows[0]):
        raise Forbidden(OUT_OF_SCOPE, code="out_of_scope")
    return rows[0]


# -- volunteers and teams ------------------------------------------------------------------------
def volunteer_clause(r: Reach, *, operational: bool = False) -> Any:
    if operational and r.operator:
        return true()
    clauses = [_staff_clause(Volunteer.community, r)]
    if r.teams:
        clauses.append(Volunteer.team_id.in_(sorted(r.teams)))
    if r.volunteer is not None:
        clauses.append(Volunteer.id == r.volunteer.id)
        if r.own_team:
            clauses.append(Volunteer.team_id == r.own_team)
    return _any(clauses)


def sees_volunteer(r: Reach, volunteer: Volunteer) -> bool:
    return (
        manages_volunteer(r, volunteer)
        or (r.volunteer is not None and r.volunteer.id == volunteer.id)
        or (r.own_team is not None and volunteer.team_id == r.own_team)
    )


def manages_volunteer(r: Reach, volunteer: Volunteer) -> bool:
    """Staff of the volunteer's community and the leader of their team."""
    return r.serves(volunteer.community) or r.leads(volunteer.team_id)


def volunteer_in_reach(session: Session, r: Reach, volunteer_id: str, *, manage: bool = False) -> Volunteer:
    volunteer = get_or_404(session, Volunteer, volunteer_id, VOLUNTEER_MISSING)
    if not sees_volunteer(r, volunteer):
        raise NotFound(VOLUNTEER_MISSING)
    if manage and not manages_volunteer(r, volunteer):
        raise Forbidden(OUT_OF_SCOPE, code="out_of_scope")
    return volunteer


def reached_volunteer(r: Reach, volunteer: Any, *, manage: bool = False) -> Any:
    """``volunteer`` (a row of their columns, ``None`` if there is none) after :func:`volunteer_in_reach`'s checks."""
    if volunteer is None or not sees_volunteer(r, volunteer):
        raise NotFound(VOLUNTEER_MISSING)
    if manage and not manages_volunteer(r, volunteer):
        raise Forbidden(OUT_OF_SCOPE, code="out_of_scope")
    return volunteer


def team_clause(r: Reach) -> Any:
    if r.operator:
        return true()
    clauses = [_staff_clause(Team.community, r)]
    if r.teams:
        clauses.append(Team.id.in_(sorted(r.teams)))
    if r.own_team:
        clauses.append(Team.id == r.own_team)
    return _any(clauses)


def team_for_new_record(session: Session, r: Reach, community: str, team_id: str | None) -> str | None:
    """The team a new elder or volunteer of ``community`` joins, checked against ``r``.

    Staff register in the communities they serve (any team there, by default the community's first);
    a leader only into a team they lead in that community.
    """
    if team_id:
        team = get_or_404(session, Team, team_id, TEAM_MISSING)
        if team.community != community:
            raise Forbidden("队伍不属于该社区 / the team serves another community", code="team_community")
        if r.serves(community) or r.leads(team_id):
            return team_id
        raise Forbidden(OUT_OF_SCOPE, code="out_of_scope")
    if r.serves(community):
        first = session.exec(select(Team).where(Team.community == community).order_by(Team.id)).first()
        return first.id if first else None
    led = session.exec(
        select(Team).where(Team.community == community, Team.id.in_(sorted(r.teams))).order_by(Team.id)
    ).first()
    if led is None:
        raise Forbidden(OUT_OF_SCOPE, code="out_of_scope")
    return led.id


def require_community(r: Reach, community: str, *, leaders: bool = True, operational: bool = False) -> None:
    """403 unless ``r`` serves ``community`` as staff, (``leaders``) leads a team there, or is an operator
    asking for operational data."""
    if r.serves(community) or (leaders and community in r.team_communities) or (operational and r.operator):
        return
    raise Forbidden(OUT_OF_SCOPE, code="out_of_scope")


SERVICE = Principal(sub="system:volunteers", roles=frozenset({"staff"}), communities=frozenset({"*"}))
"""The service itself (the demo loader): every community."""


def whole_service() -> Reach:
    """The reach of :data:`SERVICE`: every record, as staff of every community."""
    return Reach(
        who=SERVICE,
        communities=None,
        teams=frozenset(),
        team_communities=frozenset(),
        volunteer=None,
        own_team=None,
        paired=frozenset(),
        team_elders=frozenset(),
        operator=False,
    )
