"""Request bodies (``Body``) and response models (``View``) of the activities routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from shared.web.fields import Body, Day, Moment, View

HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
Age = Field(default=None, ge=0, le=120)

# -- requests ---------------------------------------------------------------------------------------


class VenueIn(Body):
    community: str = Field(min_length=1, max_length=64, examples=["智汇城"])
    name: str = Field(min_length=1, max_length=100, examples=["儿童活动室"])
    purpose: str = Field(default="", max_length=300, examples=["亲子阅读、手工课"])
    location: str | None = Field(default=None, max_length=200, examples=["4楼 401"])
    capacity: int = Field(ge=1, le=10_000, examples=[20])
    min_age: int | None = Age
    max_age: int | None = Age
    guardian_under: int | None = Field(default=None, ge=0, le=18, examples=[8])
    needs_approval: bool = False


class VenueChangeIn(Body):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    purpose: str | None = Field(default=None, max_length=300)
    location: str | None = Field(default=None, max_length=200)
    capacity: int | None = Field(default=None, ge=1, le=10_000)
    min_age: int | None = Age
    max_age: int | None = Age
    guardian_under: int | None = Field(default=None, ge=0, le=18)
    needs_approval: bool | None = None


class HoursRule(Body):
    weekday: int = Field(ge=0, le=6, description="0 = Monday", examples=[0])
    opens: str = Field(pattern=HHMM, examples=["09:00"])
    closes: str = Field(pattern=HHMM, examples=["17:00"])


class HoursIn(Body):
    rules: list[HoursRule] = Field(max_length=28)


class ClosureIn(Body):
    day: Day
    reason: str = Field(default="", max_length=200, examples=["元旦"])


class ActivityIn(Body):
    venue_id: str = Field(min_length=1, max_length=32)
    title: str = Field(min_length=1, max_length=100, examples=["剪纸"])
    description: str = Field(default="", max_length=4000)
    starts_at: Moment
    minutes: int = Field(ge=10, le=720, examples=[90])
    rrule: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"^(RRULE:)?[A-Z]+=[A-Za-z0-9,+\-]+(;[A-Z]+=[A-Za-z0-9,+\-]+)*$",
        examples=["FREQ=WEEKLY;BYDAY=SA;COUNT=4"],
    )
    capacity: int | None = Field(default=None, ge=1, le=10_000, description="default: the room's capacity")
    min_age: int | None = Age
    max_age: int | None = Age
    signup_opens: Moment | None = None
    signup_closes_minutes: int | None = Field(default=None, ge=1, le=10_080, description="before each session")
    household_limit: int | None = Field(default=None, ge=1, le=20)
    price_fen: int = Field(default=0, ge=0, le=1_000_000, description="in fen; free by default")
    organiser: str | None = Field(default=None, min_length=1, max_length=128, examples=["volunteer:wang-lan"])


class CancelIn(Body):
    reason: str | None = Field(default=None, max_length=300, examples=["场地维修"])


class SignupIn(Body):
    participant: str = Field(
        default="self", min_length=1, max_length=32, description="`self`, or a child's given name", examples=["self"]
    )
    age: int | None = Age
    guardian: bool = Field(default=False, description="a guardian comes along (children's room)")


class CheckinIn(Body):
    code: str = Field(min_length=3, max_length=80, pattern=r"^[A-Za-z0-9_.\-=]+$")


class AttendanceIn(Body):
    attended: bool


# -- responses --------------------------------------------------------------------------------------


class HoursView(View):
    weekday: int
    opens: str
    closes: str


class ClosureView(View):
    day: date
    reason: str


class VenueView(View):
    id: str
    community: str
    name: str
    purpose: str
    location: str | None = None
    capacity: int
    min_age: int | None = None
    max_age: int | None = None
    guardian_under: int | None = None
    needs_approval: bool
    hours: list[HoursView] = []
    closures: list[ClosureView] = []


class ActivityView(View):
    id: str
    series_id: str
    community: str
    venue_id: str
    venue_name: str | None = None
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    min_age: int | None = None
    max_age: int | None = None
    signup_opens: datetime | None = None
    signup_closes: datetime | None = None
    household_limit: int | None = None
    price_fen: int
    organiser: str | None = None
    status: str
    cancel_reason: str | None = None
    confirmed: int
    waitlisted: int
    places_left: int


class PublishedView(View):
    series_id: str
    sessions: list[ActivityView]


class SignupView(View):
    id: str
    activity_id: str
    title: str
    starts_at: datetime
    participant: str
    status: str = Field(description="confirmed, waitlisted, offered, cancelled or expired")
    waiting_ahead: int | None = None
    offered_until: datetime | None = None
    attended: bool | None = None
    checked_in_at: datetime | None = None
    checkin_code: str | None = Field(default=None, description="what the sign-up's QR code holds")
    created_at: datetime


class RosterView(View):
    id: str
    position: int
    participant: str
    age_group: str
    guardian: bool
    status: str
    attended: bool | None = None


class AgeGroupView(View):
    age_group: str
    signups: int
    waitlisted: int
    attended: int
    no_shows: int


class MonthlyView(View):
    community: str
    month: str
    sessions: int
    groups: list[AgeGroupView]


class RoomWeekView(View):
    week: str
    venue_id: str
    venue_name: str
    hours: float
    sessions: int


class RoomUseView(View):
    community: str
    month: str
    weeks: list[RoomWeekView]


# -- 小修小补 and room bookings ---------------------------------------------------------------------


class ArtisanIn(Body):
    community: str = Field(min_length=1, max_length=64, examples=["明珠花苑"])
    name: str = Field(min_length=1, max_length=64, examples=["谷春肖"])
    trades: list[str] = Field(min_length=1, max_length=10, examples=[["缝补", "改衣"]])
    user: str | None = Field(default=None, min_length=1, max_length=128, examples=["volunteer:gu-chunxiao"])


class RepairSessionIn(Body):
    place: str = Field(min_length=1, max_length=100, examples=["小区广场"])
    starts_at: Moment
    minutes: int = Field(ge=10, le=720, examples=[180])
    mode: Literal["queue", "slots"] = "queue"
    slot_minutes: int = Field(default=20, ge=5, le=240)
    capacity: int | None = Field(default=None, ge=1, le=500)


class RepairBookingIn(Body):
    item: str = Field(default="", max_length=200, examples=["裤脚改短"])
    slot_at: Moment | None = None


class TicketBookingIn(Body):
    ticket_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")
    session_id: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.:\-]+$")
    user: str = Field(min_length=1, max_length=128, description="the ticket's reporter", examples=["resident:li-na"])
    item: str = Field(default="", max_length=200)
    slot_at: Moment | None = None


class RoomBookingIn(Body):
    group_name: str = Field(min_length=1, max_length=100, examples=["夕阳红舞蹈队"])
    purpose: str = Field(default="", max_length=300, examples=["排练"])
    starts_at: Moment
    minutes: int = Field(ge=15, le=720, examples=[120])


class DecisionIn(Body):
    approve: bool


class ArtisanView(View):
    id: str
    community: str
    name: str
    trades: list[str]
    user: str | None = None
    active: bool


class RepairSessionView(View):
    id: str
    artisan_id: str
    artisan_name: str
    trades: list[str]
    community: str
    place: str
    starts_at: datetime
    ends_at: datetime
    mode: str
    slot_minutes: int
    capacity: int
    left: int


class RepairBookingView(View):
    id: str
    session_id: str
    artisan_id: str
    artisan_name: str
    place: str
    starts_at: datetime | None = None
    number: int
    slot_at: datetime | None = None
    item: str
    ticket_id: str | None = None
    status: str = Field(description="booked, done or cancelled")
    done_at: datetime | None = None


class RoomBookingView(View):
    id: str
    venue_id: str
    venue_name: str
    community: str
    group_name: str
    purpose: str
    starts_at: datetime
    ends_at: datetime
    status: str = Field(description="pending, approved, rejected or cancelled")
    decided_by: str | None = None
