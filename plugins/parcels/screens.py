"""Kiosk screens for collecting parcels: unit + code (or a card tap) -> the waiting items ->
who is collecting -> signature -> one release -> slip (or its content on screen).

Thin: each screen collects input, calls one service function, shows the result. The signature
pad is the shared one (:mod:`kiosk.ui.widgets.signature`), 40x8 here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input

from kiosk.errors import Refused
from kiosk.i18n import N_, _
from kiosk.pii import mask_name
from kiosk.ui.desk_forms import DeskActions, Field
from kiosk.ui.screens import ServiceScreen, SignatureScreen
from kiosk.ui.widgets.signature import SignaturePad, draw_strokes
from kiosk.ui.widgets.text import Button, Checkbox, Label, Static, titled
from plugins.parcels import service
from plugins.parcels.carriers import carrier_name
from plugins.parcels.storage_rules import CATEGORY_TITLES

if TYPE_CHECKING:
    from kiosk.context import KioskContext
    from kiosk.identity import Actor


# A parcel's flags as people read them (the codes are the service's).
FLAG_LABELS = {
    "perishable": N_("Perishable"),
    "signature": N_("Needs a signature"),
    "oversize": N_("Oversize"),
    "id_check": N_("ID check"),
}


class ParcelScreen(ServiceScreen):
    """Base: a title, a message line for refusals, Escape goes back."""

    DEFAULT_CSS = """
    ParcelScreen { align: center top; }
    ParcelScreen .title { text-style: bold; padding: 1 2 0 2; }
    ParcelScreen .hint { padding: 0 2; }
    ParcelScreen Input { width: 40; max-width: 100%; }
    ParcelScreen Button { margin: 0 1; }
    ParcelScreen SignaturePad { width: 40; height: 8; }
    ParcelScreen #picker-names { height: auto; grid-size: 4; grid-rows: 3; grid-gutter: 0 1; }
    ParcelScreen #picker-names Button { width: 100%; margin: 0; }
    """


class PickupCodeScreen(ParcelScreen):
    """Unit + pickup code, for those without their card. When the lobby shell already knows
    the resident (a card tap before the tile), their items open at once."""

    async def on_mount(self) -> None:
        actor = getattr(self.app, "actor", None)
        if actor is not None and getattr(actor, "kind", "") == "resident":
            pickup = await self.attempt(service.start_pickup_by_card, self.ctx, actor)
            if pickup is not None:
                self.app.switch_screen(PickupScreen(self.ctx, pickup))

    def body(self) -> ComposeResult:
        yield Label(_("Collect parcels"), classes="title")
        from kiosk.ui.screens import pin_form

        yield from pin_form(
            _("Enter your unit and the pickup code from the message."),
            Input(placeholder=_("Your unit, e.g. 3-1205"), id="unit"),
            Input(placeholder=_("Pickup code"), id="code", password=True),
        )

    def actions(self) -> Iterable[Button]:
        button = Button(_("Next"), id="next", variant="primary")
        button.can_focus = False  # the field being typed into keeps the focus
        return [button]

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "unit":
            self.query_one("#code", Input).focus()
        else:
            await self._next()

    @on(Button.Pressed, "#next")
    async def _next(self) -> None:
        unit = self.query_one("#unit", Input).value
        code_input = self.query_one("#code", Input)
        code, code_input.value = code_input.value, ""
        pickup = await self.attempt(service.start_pickup_by_code, self.ctx, unit, code)
        if pickup is not None:
            self.app.push_screen(PickupScreen(self.ctx, pickup))


class PickupScreen(ParcelScreen, SignatureScreen):
    """The unit's waiting items, who collects, and the signature."""

    def __init__(self, ctx: KioskContext, pickup: service.Pickup) -> None:
        super().__init__(ctx)
        self.pickup = pickup
        # A code pickup: the household's people and proxies, to tap (shown masked).
        self.names = service.picker_names(ctx, pickup) if pickup.picker is None else []
        self.tapped = ""  # the name tapped, if any (typing one clears it)

    def body(self) -> ComposeResult:
        p = self.pickup
        with VerticalScroll():
            yield Label(_("Parcels waiting for {unit}").format(unit=p.unit_code), classes="title")
            # Refusals show at the top: at 80x24 the bottom of the form scrolls away.
            if not p.parcels and not p.elsewhere:
                yield Label(_("Nothing is waiting for your unit."))
            elif not p.parcels:
                yield Label(_("Nothing is waiting for your unit at this lobby."))
            desk = service.desk_only(self.ctx, p)
            for item in p.parcels:
                flags = "".join(f" [{_(FLAG_LABELS.get(f, f))}]" for f in item.flags)
                where = f" ({_('collect at the desk')})" if item.id in desk else ""
                yield Checkbox(
                    f"…{item.tracking_tail}  {_(carrier_name(item.carrier))}  {_('shelf')} {item.shelf or '-'}"
                    f"{flags}{where}",
                    value=item.id not in desk,
                    id=f"item-{item.id}",
                )
            # Items on another lobby's shelf: where they wait, never released here.
            for item in p.elsewhere:
                yield Label(
                    f"…{item.tracking_tail}  {_(carrier_name(item.carrier))}  "
                    + _("at lobby {lobby}").format(lobby=item.lobby),
                    classes="elsewhere",
                )
            if not p.parcels:  # nothing to sign for here: no name, no pad, no Confirm
                return
            if p.picker is None:
                yield Label(_("Who is collecting? Tap your name, or type it"))
                with Grid(id="picker-names"):  # four a row: a large household wraps
                    for i, name in enumerate(self.names[:8]):
                        yield Button(mask_name(name), id=f"picker-name-{i}", classes="picker-name")
                yield Input(placeholder=_("Name"), id="picker", classes="keys-name")
            yield Label(_("Sign below with your finger"))
            yield SignaturePad(id="pad")

    def actions(self) -> Iterable[Button]:
        if not self.pickup.parcels:
            return []
        # Clear in the foot, beside Confirm: under the pad it lay below the fold at 80x24.
        return [Button(_("Confirm and collect"), id="confirm", variant="primary"),
                Button(_("Clear signature"), id="clear")]  # fmt: skip

    def chosen(self) -> list[int]:
        return [
            item.id
            for item in self.pickup.parcels
            if self.query_one(f"#item-{item.id}", Checkbox).value
        ]

    @on(Button.Pressed, ".picker-name")
    def _tap_name(self, event: Button.Pressed) -> None:
        self.tapped = self.names[int((event.button.id or "").rsplit("-", 1)[1])]
        for button in self.query(".picker-name").results(Button):
            button.variant = "primary" if button is event.button else "default"
        self.query_one("#picker", Input).value = ""

    @on(Input.Changed, "#picker")
    def _typed_name(self, event: Input.Changed) -> None:
        if event.value:  # a name typed replaces the one tapped
            self.tapped = ""
            for button in self.query(".picker-name").results(Button):
                button.variant = "default"

    @on(Button.Pressed, "#confirm")
    async def confirm(self) -> None:
        pad = self.query_one(SignaturePad)
        pickup = self.pickup
        typed = self.query_one("#picker", Input).value if pickup.picker is None else ""
        picker = typed or self.tapped
        chosen, strokes = self.chosen(), pad.to_json()

        def release() -> tuple[Any, Any]:
            named = pickup if pickup.picker is not None else (
                service.identify_picker(self.ctx, pickup, picker))  # fmt: skip
            done = service.release(self.ctx, named, chosen, strokes)
            return done, service.print_slip(self.ctx, done.print_job_id, done.receipt)

        result = await self.attempt(release)
        if result is not None:
            self.app.switch_screen(PickupDoneScreen(self.ctx, *result))


class PickupDoneScreen(ParcelScreen):
    """Collected: the slip printed, or (printer out of paper...) its content on screen."""

    def __init__(
        self, ctx: KioskContext, done: service.ReleaseResult, slip: service.SlipOutcome
    ) -> None:
        super().__init__(ctx)
        self.done = done
        self.slip = slip

    def body(self) -> ComposeResult:
        with VerticalScroll():
            count = len(self.done.parcel_ids)
            collected = _("Collected {count} items. Thank you!").format(count=count)
            yield Label(_("Collected 1 item. Thank you!") if count == 1 else collected,
                        classes="title")  # fmt: skip
            if self.slip.printed:
                yield Label(_("Please take your slip."))
            else:
                yield Label(_("The printer cannot print now; here is your slip:"), id="noslip")
                yield Static(self.slip.text, id="slip")

    def actions(self) -> Iterable[Button]:
        return [Button(_("Done"), id="done", variant="primary")]

    @on(Button.Pressed, "#done")
    def _done(self) -> None:
        self.app.pop_screen()


def entry_screen(ctx: KioskContext, actor: Actor | None = None) -> Screen[None]:
    """What the tile opens: after a card tap the resident's items (the resident collects),
    else unit + code first."""
    if actor is not None and actor.kind == "resident":
        return PickupScreen(ctx, service.start_pickup_by_card(ctx, actor))
    return PickupCodeScreen(ctx)


def give_out_form(
    prefix: str, what: tuple[str, str], collector: str, note: tuple[str, str], button: str
) -> ComposeResult:
    """The desk's form for giving items out against a signature (a release, a stored item
    given back): ``#<prefix>-<what>`` (which items: a unit, a ticket), who collects them
    (``#<prefix>-<collector>``) and the last 4 of their ID (``#<prefix>-id``), a note
    (``#<prefix>-<note>``) beside the button ``#<prefix>-release``, then the collector's
    signature ``#<prefix>-pad``. ``what`` and ``note`` are (id, placeholder msgid)."""
    yield Horizontal(
        Input(placeholder=_(what[1]), id=f"{prefix}-{what[0]}"),
        Input(placeholder=_("Collected by"), id=f"{prefix}-{collector}"),
        Input(placeholder=_("ID last 4"), id=f"{prefix}-id", max_length=4),
    )
    yield Horizontal(
        Input(placeholder=_(note[1]), id=f"{prefix}-{note[0]}"),
        Button(_(button), id=f"{prefix}-release"),
    )
    yield SignaturePad(id=f"{prefix}-pad")


def _proxy_line(row: dict[str, Any]) -> str:
    """A proxy as the desk lists it: name, for whom, phone (masked), until."""
    whose = _("the household") if row["for"] == "household" else row["for"]
    until = row["until"] or _("no end")
    return _("{name}, for {whose}, {phone}, until {until}").format(
        name=row["name"], whose=whose, phone=row["phone"] or "-", until=until
    )


class ParcelsDeskPanel(DeskActions, Widget):
    """Desk: check in an item (the scanner types the number and Enter), items waiting by age
    bucket with the ones to chase (15+ days), and what is in storage; name a proxy for a
    household, hand an item back to the carrier."""

    rel_listed = ""  # the unit whose items "Release at the desk" lists now

    DEFAULT_CSS = """
    ParcelsDeskPanel { height: auto; }
    ParcelsDeskPanel #rel-items { height: auto; }
    ParcelsDeskPanel Input { width: 1fr; max-width: 30; }
    ParcelsDeskPanel #carrier { width: auto; padding: 1 1; }
    ParcelsDeskPanel Horizontal { height: auto; }
    ParcelsDeskPanel #flags { margin: 0 1; }
    ParcelsDeskPanel #flags Checkbox { margin-right: 3; }
    ParcelsDeskPanel .message { color: $warning; }
    ParcelsDeskPanel SignaturePad { width: 40; height: 8; }
    """

    def compose(self) -> ComposeResult:
        yield Label(_("Check in a parcel"), classes="title")
        yield Horizontal(
            Input(placeholder=_("Scan the tracking number"), id="tracking"),
            Label("", id="carrier"),
            Button(_("Check in"), id="checkin", variant="primary"),
        )
        yield Horizontal(
            Input(placeholder=_("Unit, e.g. 3-1205"), id="unit"),
            Input(placeholder=_("Recipient"), id="recipient"),
            Input(placeholder=_("Shelf"), id="shelf"),
        )
        # One line, no frames: the four flags fit 80 columns in either language.
        yield Horizontal(
            *(Checkbox(_(label), id=flag, compact=True) for flag, label in FLAG_LABELS.items()),
            id="flags",
        )
        yield Label("", id="message", classes="message")
        with Horizontal(id="parcel-actions"):
            for bid, title in (("proxy-add", N_("Name a proxy")),
                               ("proxy-list", N_("Proxies of a unit")),
                               ("return-sender", N_("Return to sender"))):  # fmt: skip
                button = Button(_(title), id=bid)
                button.compact = True
                yield button
        # Release at the desk: ID-check items, proxies, pickers the kiosk sent here.
        yield Label(_("Release at the desk"), classes="title")
        # The unit's items waiting here, listed once its code is typed: the butler sees what
        # goes and unticks what is not collected now.
        yield Vertical(id="rel-items")
        yield from give_out_form("rel", ("unit", N_("Unit, e.g. 3-1205")), "picker",
                                 ("override", N_("Override reason (butler)")), N_("Release"))  # fmt: skip
        yield Label("", id="rel-message", classes="message")
        yield Static("", id="report")

    def on_mount(self) -> None:
        self.refresh_report()

    def desk_watch(self) -> list[Any]:
        """For the desk's live poll: the newest parcel and how many are waiting."""
        from sqlalchemy import func, select

        from plugins.parcels.models import Parcel

        return [
            select(func.max(Parcel.id)),
            select(func.count(Parcel.id)).where(Parcel.status == "waiting"),
        ]

    def desk_changed(self, old: tuple[Any, ...], new: tuple[Any, ...]) -> None:
        self.refresh_report()

    @on(Input.Blurred, "#rel-unit")
    async def _unit_left(self, event: Input.Blurred) -> None:
        await self.list_release_items(event.value)

    async def list_release_items(self, typed: str) -> None:
        """List the unit's items waiting at this desk, each ticked, under "Release at the
        desk" (listed again only when the unit changes: unticked stays unticked)."""
        from kiosk.identity import normalise_unit_code

        if self.rel_listed and normalise_unit_code(typed) == self.rel_listed:
            return
        box = self.query_one("#rel-items", Vertical)
        await box.remove_children()
        self.rel_listed = ""
        if not typed.strip():
            return
        try:
            unit_code, here = service.waiting_here(self.ctx, typed)
        except Refused as exc:
            self.query_one("#rel-message", Label).update(exc.render(_))
            return
        self.rel_listed = unit_code
        self.query_one("#rel-message", Label).update("")
        if not here:
            await box.mount(Label(_("Nothing is waiting for {unit} here.").format(unit=unit_code)))
            return
        await box.mount(Label(_("Waiting here for {unit}: untick what is not collected now.")
                              .format(unit=unit_code)))  # fmt: skip
        await box.mount_all(
            Checkbox(f"…{p.tracking_tail}  {_(carrier_name(p.carrier))}  {_('shelf')} "
                     f"{p.shelf or '-'}", value=True, id=f"rel-item-{p.id}", compact=True)
            for p in here
        )  # fmt: skip

    def _ticked(self) -> set[int]:
        return {
            int((box.id or "").removeprefix("rel-item-"))
            for box in self.query("#rel-items Checkbox").results(Checkbox)
            if box.value
        }

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "rel-unit":
            await self.list_release_items(event.value)
            return
        if event.input.id == "tracking":
            from plugins.parcels.carriers import detect_carrier

            known = service.logged_before(self.ctx, event.value)
            if known is not None:  # the same item scanned again: say what became of it
                self.query_one("#message", Label).update(known.render(_))
                return
            self.query_one("#message", Label).update("")
            guess = detect_carrier(event.value)
            self.query_one("#carrier", Label).update(
                _(carrier_name(guess.carrier))
                if guess.carrier
                else _("carrier?") + " " + "/".join(_(carrier_name(c)) for c in guess.candidates)
            )
            self.query_one("#unit", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        asks = {"proxy-add": self.ask_proxy, "proxy-list": self.ask_proxies,
                "return-sender": self.ask_return}  # fmt: skip
        if event.button.id in asks:
            event.stop()
            if self.logged_in():
                asks[event.button.id]()
        elif event.button.id == "checkin":
            self.check_in()
        elif event.button.id == "rel-release":
            self.release_at_desk()

    async def after_action(self) -> None:
        self.refresh_report()

    def desk_commands(self) -> list[tuple[str, Any]]:
        """For the desk's command palette."""
        return [(_("Name a proxy"), self.ask_proxy), (_("Proxies of a unit"), self.ask_proxies),
                (_("Return to sender"), self.ask_return)]  # fmt: skip

    def ask_proxy(self) -> None:
        """A person the household names to collect its parcels (until a day, or for good)."""
        a = self.actor

        def add(v: dict[str, Any]) -> None:
            def call() -> None:
                until = service.proxy_until(self.ctx, v["until"])
                service.add_proxy(self.ctx, a, v["unit"], v["name"], v["phone"], until=until)

            self.desk_run(
                _("{name} may now collect for {unit}.").format(name=v["name"].strip(),
                                                               unit=v["unit"].strip()),
                call,
            )  # fmt: skip

        self.desk_form(
            _("Name a proxy"),
            [Field("unit", _("Unit, e.g. 3-1205")), Field("name", _("The proxy's name")),
             Field("phone", _("The proxy's phone")),
             Field("until", _("Last day (YYYY-MM-DD), empty: no end"))],
            add,
        )  # fmt: skip

    def ask_proxies(self) -> None:
        """A unit's proxies who may collect now; one may be withdrawn (kept on record)."""
        a = self.actor

        def listed(v: dict[str, Any]) -> None:
            unit = v["unit"].strip()
            try:
                rows = service.desk_proxies(self.ctx, a, unit)
            except Refused as exc:
                self.say(exc.render(_))
                return
            if not rows:
                self.say(_("No one may collect for {unit} but its residents.").format(unit=unit))
                return
            lines = {str(r["id"]): _proxy_line(r) for r in rows}
            choices = tuple((line, pid) for pid, line in lines.items())
            self.desk_form(
                _("Proxies of {unit}: choose one to withdraw, or Cancel").format(unit=unit),
                [Field("proxy", _("Proxy"), "choice", choices, choices[0][1])],
                lambda w: withdraw(unit, w["proxy"], lines),
                lambda w: None if w["proxy"] else _("Choose a proxy."),
            )

        def withdraw(unit: str, proxy: str, lines: dict[str, str]) -> None:
            self.desk_confirm(
                _("Withdraw {proxy}?").format(proxy=lines[proxy]),
                _("Withdrawn: they may no longer collect for {unit}.").format(unit=unit),
                lambda: service.remove_proxy(self.ctx, a, int(proxy), unit),
                danger=True,
            )

        self.desk_form(_("Proxies of a unit"), [Field("unit", _("Unit, e.g. 3-1205"))], listed)

    def ask_return(self) -> None:
        """Hand an item back to the carrier: the reason, then a confirmation."""
        a = self.actor

        def confirm(v: dict[str, Any]) -> None:
            self.desk_confirm(
                _("Return {tracking} to the carrier? The household is told.").format(
                    tracking=v["tracking"].strip()
                ),
                _("Returned to sender."),
                lambda: service.return_by_tracking(self.ctx, a, v["tracking"], v["reason"]),
                danger=True,
            )

        self.desk_form(
            _("Return to sender"),
            [Field("tracking", _("Scan the tracking number")), Field("reason", _("Reason"))],
            confirm,
        )

    def _typed(self, message: str) -> tuple[Callable[[str], None], dict[str | None, str]] | None:
        """How to say something on the message line ``message`` and what the panel's inputs
        hold (by id); None, said there, when nobody is logged in at the desk."""
        say = functools.partial(self.say, where=message)  # scrolled into view when said
        if self.actor is None:
            say(_("Log in at the desk first."))
            return None
        return say, {i.id: i.value for i in self.query(Input)}

    def release_at_desk(self) -> None:
        """Every item of the unit waiting at this desk, to the named picker, signed."""
        typed = self._typed("rel-message")
        if typed is None:
            return
        say, value = typed
        pad = self.query_one("#rel-pad", SignaturePad)
        try:
            unit_code, here = service.waiting_here(self.ctx, value["rel-unit"])
            if not here:
                raise Refused(
                    "parcels.nothing_waiting", "Nothing is waiting for {unit} here.", unit=unit_code
                )
            chosen = [p.id for p in here]
            if unit_code == self.rel_listed:  # listed: what is ticked (not what came since)
                ticked = self._ticked()
                chosen = [i for i in chosen if i in ticked]
                if not chosen:
                    raise Refused("parcels.nothing_chosen", "Choose at least one item to collect.")
            done = service.release_at_desk(
                self.ctx,
                self.actor,
                unit_code,
                chosen,
                value["rel-picker"],
                pad.to_json(),
                id_last4=value["rel-id"],
                override_reason=value["rel-override"],
            )
        except Refused as exc:
            say(exc.render(_))
            return
        pad.clear()
        for name in ("rel-picker", "rel-id", "rel-override"):
            self.query_one(f"#{name}", Input).value = ""
        self.rel_listed = ""
        self.query_one("#rel-items", Vertical).remove_children()
        say(_("Released {count} items.").format(count=len(done.parcel_ids)))
        self.refresh_report()

    def check_in(self) -> None:
        typed = self._typed("message")
        if typed is None:
            return
        say, value = typed
        flag = {c.id: c.value for c in self.query(Checkbox)}
        try:
            result = service.check_in(
                self.ctx,
                self.actor,
                tracking=value["tracking"],
                unit_code=value["unit"],
                recipient=value["recipient"],
                shelf=value["shelf"],
                perishable=bool(flag["perishable"]),
                signature_required=bool(flag["signature"]),
                oversize=bool(flag["oversize"]),
                id_check=bool(flag["id_check"]),
            )
        except Refused as exc:
            say(exc.render(_))
            return
        say(
            _("Logged {number} ({carrier}) for {unit}; the pickup code was sent.").format(
                number=result.tracking_number,
                carrier=_(carrier_name(result.carrier)),
                unit=result.unit_code,
            )
        )
        for name in ("tracking", "recipient", "shelf"):
            self.query_one(f"#{name}", Input).value = ""
        self.query_one("#tracking", Input).focus()
        self.refresh_report()

    def refresh_report(self) -> None:
        # This desk's lobby; staff of no lobby (the manager) see every lobby, with the lobby.
        scope = service.desk_lobby(self.ctx, self.actor)

        def where(row: dict[str, Any]) -> str:
            return "" if scope is not None else f"({row['lobby'] or '-'}) "

        report = service.aging_report(self.ctx, scope)
        lines = [_("Parcels waiting: {n}").format(n=report["waiting"])]
        lines += [f"  {_(label)}: {count}" for label, count in report["buckets"].items()]
        lines += [
            f"  ! {where(i)}{i['unit']} …{i['tracking'][-6:]} {_('shelf')} {i['shelf'] or '-'} "
            + _("{days} days").format(days=i["days"])
            for i in report["items"]
            if i["days"] >= 15
        ]
        stored = service.handover_checklist(self.ctx, scope)
        lines.append(_("Items in storage: {n}").format(n=len(stored)))
        lines += [
            f"  {'!' if s['overdue'] else ' '} {where(s)}{s['ticket']} {s['unit']} {s['item']}"
            for s in stored
        ]
        self.query_one("#report", Static).update("\n".join(lines))


class StorageDeskPanel(DeskActions, Widget):
    """Desk: take an item into storage, give one back against its ticket and a signature, and
    record the handover check (every item present)."""

    DEFAULT_CSS = """
    StorageDeskPanel { height: auto; }
    StorageDeskPanel Input { width: 26; }
    StorageDeskPanel Horizontal { height: auto; }
    StorageDeskPanel .message { color: $warning; }
    StorageDeskPanel SignaturePad { width: 40; height: 8; }
    """
    MESSAGE_ID = "st-message"

    def compose(self) -> ComposeResult:
        from textual.widgets import Select

        yield Label(_("Item storage"), classes="title")
        yield Horizontal(
            Input(placeholder=_("Unit, e.g. 3-1205"), id="st-unit"),
            Input(placeholder=_("Depositor"), id="st-name"),
            Input(placeholder=_("Item"), id="st-item"),
        )
        yield Horizontal(
            Select(
                [(_(CATEGORY_TITLES[c]), c) for c in service.ALLOWED_CATEGORIES], value="other",
                id="st-category",
                allow_blank=False,
            ),
            titled(Input(value="24", placeholder=_("Pickup within hours"), id="st-hours"),
                   _("Pickup within hours")),
            Button(_("Store"), id="st-store", variant="primary"),
        )  # fmt: skip
        yield from give_out_form("st", ("ticket", N_("Storage ticket")), "claimant",
                                 ("condition", N_("Condition at pickup")), N_("Give back"))  # fmt: skip
        yield Horizontal(
            Input(placeholder=_("Handed over to"), id="st-handover"),
            Button(_("Handover: all present"), id="st-check"),
        )
        yield Label("", id="st-message", classes="message")

    def _value(self, wid: str) -> str:
        return self.query_one(f"#{wid}", Input).value

    def on_button_pressed(self, event: Button.Pressed) -> None:
        import datetime as dt

        from textual.widgets import Select

        if not self.logged_in():
            return
        try:
            if event.button.id == "st-store":
                try:
                    hours = int(self._value("st-hours") or "24")
                except ValueError:
                    hours = 0
                d = service.store_item(
                    self.ctx,
                    self.actor,
                    unit_code=self._value("st-unit"),
                    depositor_name=self._value("st-name"),
                    description=self._value("st-item"),
                    category=str(self.query_one("#st-category", Select).value),
                    expected_pickup_at=self.ctx.clock.now() + dt.timedelta(hours=hours),
                )
                self.say(_("Stored: ticket {ticket}.").format(ticket=d.ticket))
            elif event.button.id == "st-release":
                pad = self.query_one("#st-pad", SignaturePad)
                service.release_stored(
                    self.ctx,
                    self.actor,
                    ticket=self._value("st-ticket"),
                    claimant_name=self._value("st-claimant"),
                    strokes=pad.to_json(),
                    id_last4=self._value("st-id"),
                    condition=self._value("st-condition"),
                )
                pad.clear()
                for wid in ("st-ticket", "st-claimant", "st-id", "st-condition"):
                    self.query_one(f"#{wid}", Input).value = ""
                self.say(_("Given back."))
            elif event.button.id == "st-check":
                items = service.handover_checklist(
                    self.ctx, service.desk_lobby(self.ctx, self.actor)
                )
                service.record_handover_check(
                    self.ctx,
                    self.actor,
                    handed_to=self._value("st-handover"),
                    results={i["id"]: "ok" for i in items},
                )
                self.say(_("Handover recorded: {n} items.").format(n=len(items)))
        except Refused as exc:
            self.say(exc.render(_))


SIGNATURE_STROKES = ([(2, 4), (5, 1), (8, 5), (11, 2), (14, 4)], [(16, 3), (22, 3)])


async def draw_signature(pilot: Any, pad: SignaturePad, strokes: Any = SIGNATURE_STROKES) -> None:
    """Sign on the pad with these test strokes (see :func:`kiosk.ui.widgets.signature.draw_strokes`)."""
    await draw_strokes(pilot, pad, strokes)
