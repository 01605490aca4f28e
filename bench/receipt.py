"""Receipt benchmark: a pickup slip with Chinese text and a QR code, native vs image QR.

Targets: the native-QR slip is <= 1.5 KB and native QR is >= 10x fewer bytes than the image QR
(so a slip takes about a second at 9600 baud instead of several).
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from devices.printer import Column, Receipt, render_escpos
from devices.qr import QRCode
from devices.receipt_decode import decode_escpos

BAUD = 9600
PAYLOAD = "https://kiosk.example/p/8F3K2?estate=SG&t=1700000000"


def pickup_slip() -> Receipt:
    """A realistic parcel pickup slip."""
    return (
        Receipt()
        .title("阳光花园 包裹取件凭条")
        .row("取件码", "8F3K2")
        .row("快递公司", "顺丰速运")
        .row("运单号", "SF1234567890123")
        .row("到件时间", "2024-11-23 09:41")
        .row("存放位置", "一楼大堂 B-03 格口")
        .table([Column("项目"), Column("金额", 10, "right")], [["超时保管费", "¥2.00"]])
        .text("请凭取件码或扫码在七天内取件，逾期将退回。", align="left")
        .qr(PAYLOAD)
        .text("Pickup within 7 days. 谢谢！", align="center")
        .cut()
    )


def _wire_seconds(size: int) -> float:
    return size * 10 / BAUD


def _median_ms(fn: Any, repeat: int = 50) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times) * 1000, 3)


def run() -> dict[str, Any]:
    """Measure and return JSON-serialisable figures."""
    slip = pickup_slip()
    native = render_escpos(slip, 58, "native")
    image = render_escpos(slip, 58, "image")
    qr = QRCode(PAYLOAD)
    qr_native = len(qr.to_escpos_native())
    qr_image = len(qr.to_escpos_raster(6, 384))
    decoded = decode_escpos(native)
    return {
        "paper_mm": 58,
        "slip_bytes_native_qr": len(native),
        "slip_bytes_image_qr": len(image),
        "qr_bytes_native": qr_native,
        "qr_bytes_image": qr_image,
        "qr_ratio_image_over_native": round(qr_image / qr_native, 1),
        "slip_ratio_image_over_native": round(len(image) / len(native), 1),
        "seconds_at_9600_native": round(_wire_seconds(len(native)), 3),
        "seconds_at_9600_image": round(_wire_seconds(len(image)), 3),
        "encode_ms_native": _median_ms(lambda: render_escpos(slip, 58, "native")),
        "encode_ms_image": _median_ms(lambda: render_escpos(slip, 58, "image"), 10),
        "decode_ms": _median_ms(lambda: decode_escpos(native)),
        "decoded_lines": len(decoded.lines),
        "target_slip_le_1536_bytes": len(native) <= 1536,
        "target_native_10x_fewer": qr_image >= 10 * qr_native,
    }


if __name__ == "__main__":
    print(json.dumps(run(), ensure_ascii=False, indent=2))
