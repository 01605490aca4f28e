"""Every hook a plugin can implement. Each hook is documented here and in docs/plugins.md;
a test fails when one is not.

A plugin is a module with ``@hookimpl`` functions registered through the ``kiosk.plugins``
entry-point group (built-ins use the same group). Hooks receive ``ctx``, a
:class:`kiosk.context.KioskContext`: settings, database, clock, printing, alerts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pluggy

if TYPE_CHECKING:
    from kiosk.context import KioskContext
    from kiosk.identity import Actor

PROJECT = "kiosk"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Audience = Literal["resident", "staff", "all"]


@dataclass(frozen=True)
class Tile:
    """A large button on the lobby home screen.

    ``title`` is an English msgid translated at render time; ``screen`` builds the Textual
    screen to push (called lazily, so the plugin's screens module is imported only on use).
    ``needs_resident`` tiles ask for a card tap or unit + PIN first.
    """

    id: str
    title: str
    screen: Callable[[KioskContext], Any]
    order: int = 100
    audience: Audience = "resident"
    icon: str = ""
    needs_resident: bool = False


@dataclass(frozen=True)
class DeskPanel:
    """A panel on the butler desk: ``widget`` builds a Textual widget for the logged-in staff."""

    id: str
    title: str
    widget: Callable[[KioskContext], Any]
    order: int = 100
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Register:
    """A register the desk keeps (来访人员登记表, 邮件签收登记表 ...): ``read(ctx, actor)`` gives
    it as the CSV its command prints (personal data masked), and the desk shows it as a table
    to the staff whose ``roles`` it names (every staff member when empty); ``title`` is a
    msgid."""

    id: str
    title: str
    read: Callable[[KioskContext, Any], str]
    order: int = 100
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class HouseholdSection:
    """A plugin's part of a unit's household file (一户一档) at the desk: a title (a msgid)
    and lines already in the reader's language, personal data masked."""

    title: str
    lines: tuple[str, ...]
    order: int = 100


@dataclass(frozen=True)
class HomeNotice:
    """A short line on the lobby home screen's notice strip (a current notice, an open survey).

    ``text`` is shown as plain text, as given (already in the reader's language, or an English
    msgid translated at render time); ``until`` (UTC) takes it down by itself at that time,
    with no job to run; ``screen(ctx)``, when set, opens what the line is about on a tap."""

    id: str
    text: str
    until: dt.datetime | None = None
    screen: Callable[[KioskContext], Any] | None = None
    order: int = 100


@dataclass(frozen=True)
class CardOutcome:
    """What a card tap means, as decided by a plugin (first non-None answer wins)."""

    kind: str
    message: str
    screen: Callable[[KioskContext], Any] | None = None
    refused: bool = False
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """A scripted run of the real app for ``kiosk simulate``.

    ``run`` receives a :class:`kiosk.simulate.ScenarioRun` (the app under Pilot, simulated
    devices, a transcript) and raises AssertionError when the scenario does not hold.
    """

    name: str
    description: str
    run: Callable[[Any], Awaitable[None]]


@dataclass(frozen=True)
class WorkloadOp:
    """One kind of operation for ``kiosk bench concurrency``.

    ``run(ctx, rng)`` performs one operation as a simulated kiosk (its own engine) and returns
    True when it changed state, False when it was refused as expected (e.g. the parcel was
    already released by another kiosk). ``check(ctx)`` runs once at the end and returns the
    invariant violations it finds (e.g. "parcel 12 released twice"); an empty list is good.
    ``setup(ctx)`` prepares data before the run. ``after(ctx, rng)``, when given, runs right
    after each ``run`` outside the meters: it restores what the race needs to go on (e.g. a
    household whose parking card was returned rents again) and is another operation, not a
    part of this one's latency, CPU or round trips.
    """

    name: str
    run: Callable[[KioskContext, Any], bool]
    weight: int = 1
    setup: Callable[[KioskContext], None] | None = None
    check: Callable[[KioskContext], list[str]] | None = None
    faults: tuple[WorkloadFault, ...] = ()
    after: Callable[[KioskContext, Any], None] | None = None


@dataclass(frozen=True)
class WorkloadFault:
    """A fault a plugin injects into ``kiosk simulate --soak --faults`` (e.g. a payment
    provider delivering a notification again).

    ``ready(ctx)`` says whether it can be injected now (there is something to act on);
    ``inject(ctx, rng)`` injects it and returns the problems it found (empty: survived).
    """

    name: str
    ready: Callable[[KioskContext], bool]
    inject: Callable[[KioskContext, Any], list[str]]


@dataclass(frozen=True)
class Charge:
    """Money a unit owes for a service (a paid repair, an umbrella fee, parking rent), as the
    core helper :func:`kiosk.charges.charge` hands it to ``kiosk_charge``.

    ``reference`` names the source (``"repair:R2026..."``): a charge with the same reference
    lands once. ``kind`` is one of ``property_fee parking_rent utilities repair umbrella
    other``; ``period`` (``YYYY-MM``) puts it on that month's account, None on the current one.
    """

    unit_id: int
    kind: str
    amount_fen: int
    reference: str
    description: str
    actor: Any
    period: str | None = None


@dataclass(frozen=True)
class ChargeTaken:
    """A plugin's answer to ``kiosk_charge``: it recorded the charge under ``reference``;
    ``record_id`` is its own id for it (billing: the bill line)."""

    plugin: str
    reference: str
    record_id: int


@dataclass(frozen=True)
class LinkPage:
    """What a notification link shows: ``title`` and ``paragraphs`` as plain text already in
    the reader's language (the core escapes them), a ``qr`` content to draw after them and
    ``footer`` paragraphs below it, ``choices``
    (value, label) posted back as ``answer``; ``use`` marks the link used with that outcome
    (a page shown once); ``found`` False shows the core's "not valid" page."""

    title: str = ""
    paragraphs: tuple[str, ...] = ()
    qr: str = ""
    footer: tuple[str, ...] = ()
    choices: tuple[tuple[str, str], ...] = ()
    use: str = ""
    found: bool = True


@dataclass(frozen=True)
class LinkAction:
    """What a notification link of ``purpose`` does (``kiosk serve --links``).

    ``show(ctx, subject, unit_id, t)`` answers the GET; ``answer(ctx, subject, unit_id,
    choice, t)`` the POST after the core marked the link used with ``choice``. ``t``
    translates a msgid into the link's language."""

    purpose: str
    show: Callable[[KioskContext, str, int | None, Callable[[str], str]], LinkPage]
    answer: (
        Callable[[KioskContext, str, int | None, str, Callable[[str], str]], LinkPage] | None
    ) = None


@dataclass(frozen=True)
class DoctorWarning:
    """A setting ``kiosk doctor`` warns about: ``key`` (``plugins.visitors.pass_key``) and why."""

    key: str
    message: str


@dataclass(frozen=True)
class PurgeCount:
    """What a retention purge did to one kind of record (or would do, on a dry run).

    ``plugin`` and ``kind`` name it (``"visitors"``, ``"visitor_visit"``); ``count`` is how many
    records were anonymised; ``before`` is the cutoff: records closed before it are purged;
    ``days`` the retention setting it came from. Counts only -- never personal data.
    """

    plugin: str
    kind: str
    count: int
    before: dt.datetime
    days: int


@dataclass(frozen=True)
class ReportPeriod:
    """The month a manager's report covers (``kiosk report month --month 2026-11``): ``month``
    as ``YYYY-MM``, its local calendar days ``first_day``..``last_day``, their UTC bounds
    ``start`` (inclusive) and ``end`` (exclusive), and ``as_of``, the report's "now" (the end of
    a past month, the clock's time in the current one). Built by
    :func:`kiosk.reports.report_period`; its ``weeks()`` and ``months_back(n)`` give the
    buckets most figures are drawn over."""

    month: str
    first_day: dt.date
    last_day: dt.date
    start: dt.datetime
    end: dt.datetime
    as_of: dt.datetime
    zone: Any = None

    def weeks(self) -> list[tuple[str, dt.datetime, dt.datetime]]:
        """The month cut into Monday-to-Sunday weeks (the first and last clipped to the month):
        ``(label "MM-DD", start, end)`` in UTC, labelled by each week's first day."""
        out = []
        day = self.first_day
        while day <= self.last_day:
            nxt = min(day + dt.timedelta(days=7 - day.weekday()), self.last_day + dt.timedelta(1))
            out.append((day.strftime("%m-%d"), self._utc(day), self._utc(nxt)))
            day = nxt
        return out

    def months_back(self, n: int) -> list[tuple[str, dt.datetime, dt.datetime]]:
        """The ``n`` months ending with this one, oldest first: ``(YYYY-MM, start, end)`` UTC."""
        out = []
        year, mon = self.first_day.year, self.first_day.month
        for _ in range(n):
            first = dt.date(year, mon, 1)
            nxt = dt.date(year + (mon == 12), mon % 12 + 1, 1)
            out.append((first.strftime("%Y-%m"), self._utc(first), self._utc(nxt)))
            year, mon = (year - 1, 12) if mon == 1 else (year, mon - 1)
        return out[::-1]

    def _utc(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), self.zone).astimezone(dt.UTC)


@dataclass(frozen=True)
class ReportSeries:
    """One row of numbers of a :class:`ReportFigure`: its label (the legend) and one value per
    category (None: nothing to measure, drawn as a gap and shown as "-")."""

    label: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class ReportFigure:
    """A figure of the manager's report, as data: the core draws it (a chart in ``kiosk report
    ... --html``, a table on the desk's Reports tab); plugins never draw.

    ``key`` is stable (``repairs.timeliness_weekly``) for scripts and tests; ``report`` the
    report it belongs to (the plugin's name: ``kiosk report repairs --html``). ``title``,
    ``categories``, the series' labels, ``unit`` and ``note`` are texts already in the
    reader's language (the core sets it before calling the hook). ``kind`` is ``bar``,
    ``line`` or ``stacked`` (bars of the series stacked); ``unit`` is ``%`` for a rate
    (drawn on a 0-100 axis) or a word for counts."""

    key: str
    report: str
    title: str
    kind: Literal["bar", "line", "stacked"]
    categories: tuple[str, ...]
    series: tuple[ReportSeries, ...]
    unit: str = ""
    note: str = ""
    order: int = 100


@hookspec
def kiosk_tiles(ctx: KioskContext) -> list[Tile]:  # type: ignore[empty-body]
    """Return the home-screen tiles this plugin offers (a list; may be empty)."""


@hookspec
def kiosk_home_notices(ctx: KioskContext, lobby: str) -> list[HomeNotice]:  # type: ignore[empty-body]
    """Return short lines for the home screen's notice strip of ``lobby`` (a current notice,
    an open survey): :class:`HomeNotice` items, each taken down at its ``until``. Called off
    the UI thread when the kiosk starts, returns home and every minute while idle: keep it
    to one quick query and import nothing heavy."""


@hookspec
def kiosk_tile_badges(ctx: KioskContext, actor: Actor) -> dict[str, str]:  # type: ignore[empty-body]
    """What waits for the resident just identified, as short marks on this plugin's home
    tiles: ``{tile id: text}`` ("2" parcels waiting here, "￥656.25" owed), shown after the
    tile's title as plain text. Called off the UI thread once per identification, after the
    greeting is shown; keep it to one quick query. Nothing waiting: leave the tile out."""


@hookspec(firstresult=True)
def kiosk_card_presented(card: Any, ctx: KioskContext) -> CardOutcome | None:  # type: ignore[empty-body]
    """Claim a card tap. ``card`` is a :class:`kiosk.identity.CardTapResult`; return a
    :class:`CardOutcome` to take it (e.g. a parking card), or None to let the core treat it as a
    resident or staff card. The first non-None answer wins."""


@hookspec
def kiosk_desk_panels(ctx: KioskContext) -> list[DeskPanel]:  # type: ignore[empty-body]
    """Return the butler-desk panels this plugin offers (queues, today's work, SLA timers)."""


@hookspec
def kiosk_registers(ctx: KioskContext) -> list[Register]:  # type: ignore[empty-body]
    """Return the registers this plugin keeps, for the desk's *Registers* (the butler reads
    the day's visitor log or parcel register where the procedure wants a paper one)."""


@hookspec
def kiosk_alert_kinds() -> dict[str, str]:  # type: ignore[empty-body]
    """Name the desk-alert kinds this plugin raises: ``{kind: N_("Title")}``. The desk shows
    the translated title in its alert list (an unnamed kind shows as "Alert", never raw)."""


@hookspec
def kiosk_household_sections(ctx: KioskContext, unit_code: str) -> list[HouseholdSection]:  # type: ignore[empty-body]
    """Return this plugin's sections of the household file of ``unit_code`` (normalised):
    its repairs, visits, parcels, loans, bills. Called after the core checked the role."""


@hookspec
def kiosk_payment_providers() -> list[Any]:  # type: ignore[empty-body]
    """Return payment providers (create order, QR content, verify notification, ...)."""


@hookspec
def kiosk_register_commands(cli: Any) -> None:
    """Add typer sub-commands. ``cli`` is a :class:`kiosk.cli.CommandRegistry` with ``app``
    (the root typer app) and ``report`` (the ``kiosk report`` group)."""


@hookspec
def kiosk_scenarios() -> list[Scenario]:  # type: ignore[empty-body]
    """Return scenarios for ``kiosk simulate``."""


@hookspec
def kiosk_migrations() -> list[str]:  # type: ignore[empty-body]
    """Return the paths of this plugin's Alembic version folders (one branch per plugin)."""


@hookspec
def kiosk_models() -> list[Any]:  # type: ignore[empty-body]
    """Return the modules defining this plugin's SQLAlchemy models, so they join the metadata."""


@hookspec
def kiosk_startup(ctx: KioskContext) -> None:
    """Called once the database and plugins are loaded (start background work here)."""


@hookspec
def kiosk_idle_reset(ctx: KioskContext) -> None:
    """Called when the kiosk returns to home after the idle timeout: forget any half-entered data."""


@hookspec
def kiosk_notify(event: dict[str, Any]) -> None:
    """Observe an event the core publishes (``{"kind": ..., ...}``), e.g. to send a message.

    Each outbox message is published once, as ``{"kind": "notification", "id", "channel",
    "template", "unit_id", "recipient", "payload"}``, at its first delivery attempt; the core
    delivers it through the ``[notify]`` channels as well (docs/notify.md). The payload may hold
    a pickup or invite code: deliver it, never store or log it."""


@hookspec
def kiosk_seed_demo(session: Any, ctx: KioskContext) -> list[str] | None:
    """Add this plugin's demo data to a fresh demo estate inside ``session``; return lines to
    print after ``kiosk init --demo`` (e.g. demo card numbers), or None."""


@hookspec
def kiosk_workload(ctx: KioskContext) -> list[WorkloadOp] | None:
    """Return operations this plugin adds to the mixed workload of ``kiosk bench concurrency``
    (taps, pickups, lends, payments...), each with the invariant check that proves no
    transaction was lost or applied twice."""


@hookspec
def kiosk_purge(
    ctx: KioskContext, session: Any, now: dt.datetime, dry_run: bool
) -> list[PurgeCount] | None:
    """Retention (``kiosk purge``): anonymise this plugin's personal data -- names, phones, ID
    numbers, plates, signatures, photos -- in records that were closed (visit ended, parcel
    collected or returned, item released) before ``now`` minus the configured retention
    (``ctx.settings.retention``). Keep the rows and their non-personal facts (units, times,
    counts, amounts) so reports stay right; never touch open records; a second run finds
    nothing. Work inside ``session``, the caller's one transaction, which also records the
    single audit event; do not commit. With ``dry_run`` only count (the caller rolls back
    anyway). Return one :class:`PurgeCount` per kind of record."""


@hookspec(firstresult=True)
def kiosk_charge(ctx: KioskContext, session: Any, charge: Charge) -> ChargeTaken | None:
    """Record ``charge`` (a :class:`Charge`) on the unit's account inside ``session``, the
    caller's transaction (so the charge and the caller's change commit together; do not
    commit), and return a :class:`ChargeTaken`; the same ``reference`` charged again returns
    the first record. Return None to leave it. Call it through :func:`kiosk.charges.charge`,
    which raises a desk alert for the butler to collect by hand when no plugin takes it."""


@hookspec
def kiosk_link_actions(ctx: KioskContext) -> list[LinkAction]:  # type: ignore[empty-body]
    """Return what this plugin's notification links do (a :class:`LinkAction` per purpose,
    e.g. ``visit``: approve or decline; ``bill``: a payment QR)."""


@hookspec
def kiosk_doctor_checks(settings: Any, sim: bool) -> list[DoctorWarning]:  # type: ignore[empty-body]
    """Return warnings about this plugin's settings for ``kiosk doctor`` (e.g. a development
    key or a simulated gateway left in production). ``settings`` is the
    :class:`kiosk.config.Settings` checked; ``sim`` says simulated devices and payments are
    intended (a demo)."""


@hookspec
def kiosk_report_figures(ctx: KioskContext, period: ReportPeriod) -> list[ReportFigure]:  # type: ignore[empty-body]
    """Return this plugin's figures for the manager's report of ``period`` (a
    :class:`ReportPeriod`) as data (:class:`ReportFigure`): counts and rates, never drawings
    or personal data. Texts in the current language (set by the caller). Called by
    ``kiosk report month|<plugin> --html`` and the desk's Reports tab, after the core checked
    the staff member is a manager."""
