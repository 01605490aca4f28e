"""Standalone simulators for ``kiosk devices sim``: start them, print their serial paths,
then take simple commands on stdin (Enter = tap a card) until EOF or ``quit``.

Another process (the kiosk) uses them through ``serial://<path>`` URLs, so the whole serial
path runs exactly as with hardware.
"""

from __future__ import annotations

import shlex
from typing import TextIO

from devices.receipt_decode import decode_escpos
from devices.sim.cardreader import SimCardReader
from devices.sim.printer import SimPrinter
from devices.sim.pty import PtyDevice

HELP = """commands:
  <Enter> | tap [NAME] [UID]     present a card (sample UID if none)
  garbled [NAME]                 send a corrupted frame
  unplug NAME | plug NAME        pull / reinsert the cable
  fault NAME FAULT [off]         printer: paper_out paper_near_end cover_open error offline slow
  clear NAME                     printer: clear all faults
  show NAME                      printer: decode what it received since the last show
  quit"""


def start_sims(printers: list[str], cards: dict[str, str]) -> dict[str, PtyDevice]:
    """Start printers (by name) and card readers (name -> protocol); returns them by name."""
    sims: dict[str, PtyDevice] = {}
    for name in printers:
        sims[name] = SimPrinter(name).start()
    for name, protocol in cards.items():
        sims[name] = SimCardReader(protocol, name).start()
    return sims


def describe(sims: dict[str, PtyDevice]) -> list[str]:
    """One line per simulator: name, kind and the URL to configure."""
    lines = []
    for name, sim in sims.items():
        if isinstance(sim, SimCardReader):
            lines.append(
                f"{name:10} card/{sim.protocol:8} serial://{sim.path}?protocol={sim.protocol}"
            )
        else:
            lines.append(f"{name:10} printer          serial://{sim.path}")
    return lines


def run_console(sims: dict[str, PtyDevice], stdin: TextIO, stdout: TextIO) -> None:
    """Serve commands from ``stdin`` until EOF or ``quit``; simulators keep running meanwhile."""

    def say(text: str) -> None:
        stdout.write(text + "\n")
        stdout.flush()

    cards = [n for n, s in sims.items() if isinstance(s, SimCardReader)]
    for line in describe(sims):
        say(line)
    say(HELP)
    for raw in stdin:
        try:
            words = shlex.split(raw)
        except ValueError:
            words = raw.split()
        if not words:
            words = ["tap"]
        cmd, args = words[0], words[1:]
        if cmd in ("quit", "exit", "q"):
            break
        target = args[0] if args and args[0] in sims else (cards[0] if cards else "")
        sim = sims.get(target)
        rest = args[1:] if args and args[0] in sims else args
        try:
            if cmd == "tap" and isinstance(sim, SimCardReader):
                sim.tap(rest[0] if rest else None)
                say(f"{target}: tap")
            elif cmd == "garbled" and isinstance(sim, SimCardReader):
                sim.garbled()
                say(f"{target}: garbled frame sent")
            elif cmd == "unplug" and sim:
                sim.unplug()
                say(f"{target}: unplugged")
            elif cmd in ("plug", "replug") and sim:
                sim.plug()
                say(f"{target}: plugged in at {sim.path}")
            elif cmd == "fault" and isinstance(sim, SimPrinter) and rest:
                on = not (len(rest) > 1 and rest[1] == "off")
                sim.set_fault(rest[0], on)
                say(f"{target}: {rest[0]} {'on' if on else 'off'}")
            elif cmd == "clear" and isinstance(sim, SimPrinter):
                sim.clear_faults()
                sim.slow = False
                say(f"{target}: faults cleared")
            elif cmd == "show" and isinstance(sim, SimPrinter):
                decoded = decode_escpos(sim.take())
                for text in decoded.lines:
                    say("  | " + text)
                for payload in decoded.qr_codes:
                    say(f"  | [QR] {payload}")
                say(f"  ({decoded.size} bytes, {decoded.cuts} cut(s))")
            else:
                say(f"? {raw.strip()}\n{HELP}")
        except ValueError as exc:
            say(f"error: {exc}")
