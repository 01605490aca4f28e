"""Simulated devices on real ptys, and the in-process registry behind ``sim://`` URLs.

``ensure_sim(name, url)`` starts (once) the simulator a ``sim://printer`` or
``sim://card?protocol=...`` URL names and returns the serial path the adapter opens;
``get_sim(name)`` gives tests the simulator to inject faults into.
"""

from __future__ import annotations

import threading

from devices.sim.cardreader import SimCardReader
from devices.sim.printer import FAULTS, PrinterModel, SimPrinter, SimTcpPrinter
from devices.sim.pty import PtyDevice, sim_dir
from devices.urls import DeviceURL, as_device_url

_REGISTRY: dict[str, PtyDevice] = {}
_LOCK = threading.Lock()


def ensure_sim(name: str | DeviceURL, url: str | None = None) -> str:
    """Start the simulator for a ``sim://`` URL (once per device name); its serial path.

    Call as ``ensure_sim("printer", "sim://printer")`` or ``ensure_sim(device_url)``.
    """
    dev = name if isinstance(name, DeviceURL) else as_device_url(url or "", name)
    if dev.scheme != "sim":
        raise ValueError(f"device {dev.name!r}: {dev.url} is not a sim:// URL")
    with _LOCK:
        sim = _REGISTRY.get(dev.name)
        wanted = "printer" if dev.kind == "printer" else dev.protocol
        current = "printer" if isinstance(sim, SimPrinter) else getattr(sim, "protocol", None)
        if sim is not None and current != wanted:
            sim.stop()
            sim = None
        if sim is None:
            if dev.kind == "printer":
                sim = SimPrinter(dev.name)
            else:
                sim = SimCardReader(dev.protocol, dev.name)
            _REGISTRY[dev.name] = sim
        sim.start()
        return sim.path


def get_sim(name: str) -> PtyDevice:
    """The running simulator of device ``name`` (KeyError if none was started)."""
    with _LOCK:
        return _REGISTRY[name]


def stop_all() -> None:
    """Stop every registered simulator (tests, shutdown)."""
    with _LOCK:
        sims = list(_REGISTRY.values())
        _REGISTRY.clear()
    for sim in sims:
        sim.stop()


__all__ = [
    "FAULTS",
    "PrinterModel",
    "PtyDevice",
    "SimCardReader",
    "SimPrinter",
    "SimTcpPrinter",
    "ensure_sim",
    "get_sim",
    "sim_dir",
    "stop_all",
]
