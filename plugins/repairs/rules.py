"""Repair configuration: the category tree, the price list, SLA clocks (``[plugins.repairs]``).

Defaults follow the estate standards: "5341" for repairs (003: respond on site within 5 minutes,
ordinary problems solved within 30 minutes, otherwise explained and finally solved within 4 hours,
work needing an outside party committed within 1 day) and the complaint time limits (000: minor
within half a day, important within 1 day, major answered within 2 days and resolved within 15).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kiosk.i18n import N_
from kiosk.plugin_settings import at_least, rules_from

if TYPE_CHECKING:
    from kiosk.context import KioskContext


@dataclass(frozen=True)
class Category:
    """A node of the category tree; ``code`` is dotted (``plumbing.burst_pipe``)."""

    code: str
    title: str
    kind: str = "repair"
    emergency: bool = False
    price_fen: int = 0  # > 0: a paid repair at this list price

    @property
    def parent(self) -> str:
        return self.code.rpartition(".")[0]


DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category("plumbing", N_("Water and drains")),
    Category("plumbing.burst_pipe", N_("Burst pipe"), emergency=True),
    Category("plumbing.no_water", N_("No water"), emergency=True),
    Category("plumbing.leak", N_("Leaking tap or pipe")),
    Category("plumbing.blocked_drain", N_("Blocked drain"), price_fen=8000),
    Category("electrical", N_("Power and lights")),
    Category("electrical.no_power", N_("No power"), emergency=True),
    Category("electrical.smoking_appliance", N_("Appliance smoking"), emergency=True),
    Category("electrical.socket", N_("Socket or switch"), price_fen=5000),
    Category("electrical.lighting", N_("Lights")),
    Category("doors", N_("Doors and windows")),
    Category("doors.lock", N_("Door lock"), price_fen=12000),
    Category("doors.window", N_("Window")),
    Category("common", N_("Common areas")),
    Category("common.elevator", N_("Lift")),
    Category("common.lighting", N_("Corridor lights")),
    Category("common.cleaning", N_("Cleaning")),
    Category("complaint", N_("Complaint"), kind="complaint"),
    Category("complaint.service", N_("Staff service"), kind="complaint"),
    Category("complaint.noise", N_("Noise"), kind="complaint"),
    Category("complaint.environment", N_("Environment and hygiene"), kind="complaint"),
    Category("complaint.security", N_("Security"), kind="complaint"),
    Category("complaint.fees", N_("Fees"), kind="complaint"),
    Category("suggestion", N_("Suggestion"), kind="suggestion"),
)

# What makes a request an emergency however the resident words it (000: burst pipe, smoking
# appliance, sudden loss of water or power; 003: people trapped, electricity or gas leaking).
# One list, read by file_ticket; a word right after a negation ("没有冒烟", "no smoke") does
# not count, and notices about planned work ("停水通知") are not emergencies.
# fmt: off
EMERGENCY_WORDS: dict[str, tuple[str, ...]] = {
    "burst_pipe": ("爆管", "水管爆", "管子爆", "爆裂", "喷水", "水管裂", "跑水", "水漫", "淹了", "漫水",
                   "burst pipe", "pipe burst", "flooding", "spraying water"),
    "smoke_fire": ("冒烟", "焦味", "烧焦", "糊味", "起火", "着火", "失火", "火花", "smoke", "smoking",
                   "burning smell", "fire", "sparks"),
    "no_water": ("停水", "没水", "没有水", "断水", "no water", "water is off", "water cut"),
    "no_power": ("停电", "没电", "断电", "跳闸", "no power", "power cut", "power outage",
                 "blackout", "power is off"),
    "lift_trapped": ("电梯困人", "困在电梯", "被困电梯", "电梯里被困", "关在电梯", "电梯关人",
                     "trapped in the lift", "stuck in the lift", "trapped in the elevator",
                     "stuck in the elevator"),
    "electric_leak": ("漏电", "触电", "电到人", "electric shock", "live wire"),
    "gas": ("燃气味", "煤气味", "天然气味", "漏气", "燃气泄漏", "煤气泄漏", "燃气泄露", "煤气泄露",
            "smell of gas", "smell gas", "gas leak", "gas smell"),
}
NEGATIONS = ("没有", "没", "不是", "不", "无", "未", "并未", "no ", "not ", "without ", "isn't ")
NOT_EMERGENCY = ("停水通知", "停电通知", "计划停水", "计划停电", "预计停水", "预计停电", "fire door",
                 "fire extinguisher", "灭火器", "防火门", "smoke detector", "烟感")
# fmt: on


def emergency_signs(description: str) -> list[str]:
    """The emergency kinds a description reveals (``[]`` for an ordinary request)."""
    text = " ".join(description.casefold().split())
    for phrase in NOT_EMERGENCY:
        text = text.replace(phrase.casefold(), " ")
    found = []
    for kind, words in EMERGENCY_WORDS.items():
        for word in words:
            start = text.find(word.casefold())
            while start != -1:
                before = text[max(0, start - 8) : start]
                ascii_word = word.isascii()
                inside_word = ascii_word and start > 0 and text[start - 1].isalpha()
                if not inside_word and not before.endswith(NEGATIONS):
                    found.append(kind)
                    break
                start = text.find(word.casefold(), start + 1)
            if found and found[-1] == kind:
                break
    return found


# Minutes per clock. "solve" is the 30-minute target of 5341: missing it is shown, but the
# ticket's SLA is met when it responds and resolves in time.
DEFAULT_SLA: dict[str, dict[str, int]] = {
    "repair": {"respond": 5, "solve": 30, "resolve": 240, "external": 1440},
    "complaint.minor": {"respond": 720, "resolve": 720},
    "complaint.important": {"respond": 1440, "resolve": 1440},
    "complaint.major": {"respond": 2880, "resolve": 21600},
    "suggestion": {"respond": 1440, "resolve": 10080},
}


# Complaints (000 投诉). Five or more customers about one event make every complaint about it
# major: "one event" is the same complaint category in the same area (the unit's building, or
# the building named for a common area; a common area without a building groups by floor)
# within ``event_window_minutes``. A sudden wide outage is ``outage_threshold`` or more repairs
# reporting no water or no power (the category, or the words of the description) in one
# building within ``outage_window_minutes``: the open complaints from that building filed
# since shortly before it (one outage window) become major. A complaint not judged invalid and
# still unresolved ``major_after_days`` after filing becomes major too.
OUTAGE_CATEGORIES = ("plumbing.no_water", "electrical.no_power")
OUTAGE_SIGNS = ("no_water", "no_power")


@dataclass(frozen=True)
class ComplaintRules:
    forward_minutes: int = 10
    event_threshold: int = at_least(2, default=5)
    event_window_minutes: int = 1440
    outage_threshold: int = at_least(2, default=3)
    outage_window_minutes: int = 60
    major_after_days: int = 7
    superior: str = "manager"  # who important and major complaints are reported to

    @classmethod
    def of(cls, raw: dict[str, Any]) -> ComplaintRules:
        """``[plugins.repairs.complaints]``; an event or an outage takes at least 2 reports."""
        return rules_from(cls, "repairs.complaints", raw)


@dataclass(frozen=True)
class RepairRules:
    categories: dict[str, Category]
    sla: dict[str, dict[str, int]]
    renotify_minutes: int = 10
    low_rating: int = 2  # a rating at or below this reopens a repair / escalates a complaint
    daily_check_hour: int = 17
    slots: tuple[str, ...] = ("09:00", "11:00", "14:00", "16:00", "19:00")
    complaints: ComplaintRules = ComplaintRules()
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, ctx: KioskContext) -> RepairRules:
        raw = ctx.settings.plugin("repairs")
        cats = {c.code: c for c in DEFAULT_CATEGORIES}
        if "categories" in raw:  # a full replacement tree
            cats = {}
            for item in raw["categories"]:
                c = Category(
                    code=str(item["code"]),
                    title=str(item.get("title", item["code"])),
                    kind=str(item.get("kind", "repair")),
                    emergency=bool(item.get("emergency", False)),
                    price_fen=int(item.get("price_fen", 0)),
                )
                cats[c.code] = c
        for code, price in dict(raw.get("price_list", {})).items():
            if code in cats:
                old = cats[code]
                cats[code] = Category(old.code, old.title, old.kind, old.emergency, int(price))
        sla = {k: dict(v) for k, v in DEFAULT_SLA.items()}
        for key, clocks in dict(raw.get("sla", {})).items():
            sla.setdefault(key, {}).update({k: int(v) for k, v in dict(clocks).items()})
        return rules_from(
            cls,
            "repairs",
            raw,
            categories=cats,
            sla=sla,
            complaints=ComplaintRules.of(dict(raw.get("complaints", {}))),
        )

    def children(self, parent: str = "", kind: str | None = None) -> list[Category]:
        """The tiles under ``parent`` ("" = the top level)."""
        return [
            c
            for c in self.categories.values()
            if c.parent == parent and (kind is None or c.kind == kind)
        ]

    def clocks(self, kind: str, severity: str = "", external: bool = False) -> dict[str, int]:
        key = f"{kind}.{severity or 'minor'}" if kind == "complaint" else kind
        clocks = dict(self.sla.get(key, self.sla.get(kind, {"respond": 1440, "resolve": 10080})))
        if external and "external" in clocks:
            clocks["resolve"] = clocks["external"]
        return clocks

    def price_list(self) -> list[Category]:
        return [c for c in self.categories.values() if c.price_fen > 0]
