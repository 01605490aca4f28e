"""Every QR code a snapshot shows scans from a picture of the screen, as a person checks it:
the snapshot SVG turned into a PNG with ``rsvg-convert`` (in the font the SVG names, Fira
Code) and read with ``zbarimg``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import missing

TESTS = Path(__file__).resolve().parents[1]
# A QR on screen is a field of full blocks (its light modules are white blocks too); a border or
# a signature pad has a few dozen at most.
QR_BLOCKS = 100


def _snapshots_with_a_qr() -> list[Path]:
    return sorted(
        svg
        for svg in TESTS.rglob("__snapshots__/**/*.svg")
        if svg.read_text("utf-8").count("█") > QR_BLOCKS
    )


SHOWN = _snapshots_with_a_qr()


def test_the_snapshots_show_the_qr_screens() -> None:
    names = " ".join(svg.name for svg in SHOWN)
    for screen in ("[qr-", "[arrears-qr-", "[paid-", "[pass-"):
        assert screen in names, f"no snapshot of a {screen} screen with its QR"


@pytest.mark.parametrize("svg", SHOWN, ids=[svg.stem for svg in SHOWN])
def test_a_qr_on_screen_scans_from_a_png_of_it(svg: Path, tmp_path: Path) -> None:
    tools = (
        ("rsvg-convert", "librsvg2-bin"),
        ("zbarimg", "zbar-tools"),
        ("fc-match", "fontconfig"),
    )
    for tool, package in tools:
        if shutil.which(tool) is None:
            missing(f"{tool} (Debian package {package}) not installed; `make venv` does as root")
    font = subprocess.run(
        ["fc-match", "-f", "%{family}", "Fira Code"], capture_output=True, text=True, timeout=30
    )
    if "Fira Code" not in font.stdout:
        missing("the Fira Code font the snapshots name is not installed (fonts-firacode)")
    png = tmp_path / "screen.png"
    subprocess.run(["rsvg-convert", str(svg), "-o", str(png)], check=True, timeout=60)
    scanned = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(png)], capture_output=True, text=True, timeout=60
    )
    assert scanned.returncode == 0, f"{svg.name}: no QR read ({scanned.stderr.strip()})"
    payload = scanned.stdout.strip()
    assert payload.startswith(("weixin://", "https://", "KP1.")), payload
