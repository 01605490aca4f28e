"""What each kind of outbox message says, in the recipient's language.

A template picks the few payload fields its recipient needs (the pickup code goes only into
the message to that unit; a visitor's name arrives masked as the plugin queued it). Unknown
templates fall back to the payload's ``message`` (desk notifications carry one) or the
template's name: a plugin's new message kind is still delivered, if plainly.
Catalog: ``kiosk/i18n/notify_locale/<lang>/LC_MESSAGES/notify.po``.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk import i18n
from kiosk.i18n import N_

i18n.register_catalog(Path(__file__).parent / "i18n" / "notify_locale", "notify")


@dataclass(frozen=True)
class Template:
    title: str
    body: str
    urgent: bool = False  # sent during quiet hours too
    # Payload values that are msgids (a carrier's name), put in the recipient's language.
    translated: tuple[str, ...] = ()


TEMPLATES: dict[str, Template] = {
    "parcel.arrived": Template(
        N_("Parcel for {unit}"),
        N_(
            "A parcel ({carrier}) is waiting for {unit} at the lobby {lobby} desk. Pickup code: {code}"
        ),
        translated=("carrier",),
    ),
    "parcel.code_renewed": Template(
        N_("New pickup code for {unit}"),
        N_("{waiting} item(s) still wait for {unit} at the desk. New pickup code: {code}"),
    ),
    "parcel.reminder": Template(
        N_("Parcels waiting for {unit}"),
        N_("{count} item(s) for {unit} have waited {days} days at the desk. Please collect them."),
    ),
    "parcel.returned": Template(
        N_("Parcel returned for {unit}"),
        N_(
            "The item ending {tracking_tail} ({carrier}) for {unit} went back to the carrier: "
            "{reason}"
        ),
        translated=("carrier",),
    ),
    "visitor.ask_host": Template(
        N_("Visitor for {unit}"),
        N_(
            "{visitor} (party of {party_size}) is at the lobby to visit {unit}: {purpose}. "
            "Please answer within {answer_within_minutes} minutes."
        ),
        urgent=True,
    ),
    "visitor.invited": Template(
        N_("Your visit to {unit}"),
        N_(
            "You are invited to {unit} from {from} until {until}. Show this code at the kiosk: {code}"
        ),
    ),
    "bill.issued": Template(
        N_("New bill for {unit}"),
        N_("A bill of {amount} for {unit} ({period}) is due on {due}."),
    ),
    "parking.expiring": Template(
        N_("Parking rental ending"),
        N_("The parking rental for {plate} ends on {end_date} (monthly rent {rent})."),
    ),
    "repair_deferred": Template(
        N_("Repair {number}"),
        N_("Work on repair {number} is deferred until {until}."),
    ),
    "repair_emergency": Template(
        N_("EMERGENCY repair {number}"),
        N_("{category_title} at {where}. Respond now."),
        urgent=True,
        translated=("category_title",),
    ),
    "repair_dispatched": Template(
        N_("Repair {number} dispatched"),
        N_("Repair {number} ({category_title}) is yours."),
        urgent=True,
        translated=("category_title",),
    ),
    "repair_unclaimed": Template(
        N_("Repair {number} not started"),
        N_("Repair {number} was dispatched but nobody has started it."),
        urgent=True,
    ),
    "umbrella_overdue": Template(
        N_("Umbrella overdue"), N_("Umbrella {tag} was due back at the lobby on {due}.")
    ),
    "notify.test": Template(
        N_("Test message"), N_("A test message for {unit} from the lobby kiosk."), urgent=True
    ),
}
# Desk notifications carry their own text in ``message``; the desk is there at night too.
DESK_URGENT = True
LINK_LINE = {
    "visit": N_("Approve or decline: {link}"),
    "parcel": N_("Your code, once: {link}"),
    "bill": N_("Pay: {link}"),
}


def translate(msgid: str, language: str) -> str:
    """``msgid`` in ``language`` without switching the process's language (the kiosk's UI)."""
    return i18n.translate(language, msgid)


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def _format(text: str, values: Mapping[str, Any]) -> str:
    return string.Formatter().vformat(text, (), _Blank(values))


def is_urgent(template: str, channel: str) -> bool:
    if channel == "desk":
        return DESK_URGENT
    t = TEMPLATES.get(template)
    return bool(t and t.urgent)


def render(
    template: str, payload: Mapping[str, Any], language: str, link: str = "", link_kind: str = ""
) -> tuple[str, str]:
    """(title, body) for one recipient."""
    t = TEMPLATES.get(template)
    if t is None:
        text = str(payload.get("message") or template)
        return template, text
    values = {k: v for k, v in payload.items() if isinstance(v, str | int | float)}
    for key in t.translated:
        value = values.get(key)
        if isinstance(value, str):
            values[key] = translate(value, language)
    title = _format(translate(t.title, language), values)
    body = _format(translate(t.body, language), values)
    if link and link_kind in LINK_LINE:
        body += "\n" + _format(translate(LINK_LINE[link_kind], language), {"link": link})
    return title, body
