"""Receipts: the model's JSON form, width-aware layout, our ESC/POS bytes, decoding back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.printer import (
    Column,
    Receipt,
    ReceiptError,
    encode_text,
    open_printer,
    render_escpos,
    render_text,
)
from devices.printer.text import text_width, wrap
from devices.qr import QRCode
from devices.receipt_decode import decode_escpos, to_png

PAYLOAD = "https://kiosk.example/p/8F3K2"


def pickup_slip(reprint: bool = False) -> Receipt:
    r = (
        Receipt()
        .title("包裹取件凭条")
        .row("取件码", "8F3K2")
        .row("快递", "顺丰速运 SF1234567890")
        .row("寄存费", "¥2.00")
        .table([Column("项目"), Column("数量", 4, "right"), Column("金额", 8, "right")],
               [["雨伞押金", "1", "¥50.00"]])
        .text("请凭此码在一楼大堂快递柜取件，七天内有效。", align="left")
        .qr(PAYLOAD)
        .barcode("8F3K2")
        .feed(2)
        .cut()
    )  # fmt: skip
    return r.as_reprint() if reprint else r


def test_a_receipt_survives_the_database_as_json() -> None:
    r = pickup_slip(reprint=True)
    stored = json.loads(json.dumps(r.to_dict()))
    assert Receipt.from_dict(stored) == r


def test_a_malformed_stored_receipt_is_refused_clearly() -> None:
    with pytest.raises(ReceiptError):
        Receipt.from_dict({"blocks": [{"type": "hologram"}]})
    with pytest.raises(ReceiptError):
        Receipt.from_dict({"blocks": [{"type": "row"}]})


@pytest.mark.parametrize(("paper", "cols"), [(58, 32), (80, 48)])
def test_every_printed_line_fits_the_paper(paper: int, cols: int) -> None:
    decoded = decode_escpos(render_escpos(pickup_slip(), paper))
    assert decoded.lines
    for line in decoded.lines:
        assert text_width(line) <= cols, line
    for line in render_text(pickup_slip(), cols, qr="payload").splitlines():
        assert text_width(line) <= cols, line


def test_chinese_text_goes_in_chinese_mode_as_gb18030() -> None:
    assert encode_text("取件码 A1") == b"\x1c&" + "取件码".encode("gb18030") + b"\x1c. A1"
    assert encode_text("¥5") == b"\x1c&\xa3\xa4\x1c.5"  # ¥ is sent as ￥ (A3 A4)
    assert encode_text("ok😀") == b"ok?"  # not in the printer's two-byte font


def test_native_qr_uses_gs_k_functions_165_to_181() -> None:
    data = QRCode(PAYLOAD, "M").to_escpos_native(module_size=6)
    assert data.startswith(b"\x1d(k\x04\x001A2\x00")  # fn 165: model 2
    assert b"\x1d(k\x03\x001C\x06" in data  # fn 167: module size 6
    assert b"\x1d(k\x03\x001E1" in data  # fn 169: level M
    store = b"\x1d(k" + bytes([len(PAYLOAD) + 3, 0]) + b"1P0" + PAYLOAD.encode()
    assert store in data  # fn 180
    assert data.endswith(b"\x1d(k\x03\x001Q0")  # fn 181


def test_escpos_stream_starts_with_init_and_ends_with_a_cut() -> None:
    data = render_escpos(pickup_slip(), 58)
    assert data.startswith(b"\x1b@")
    assert data.endswith(b"\x1dVB\x03")


def test_reprint_banner_is_printed_and_detected() -> None:
    assert decode_escpos(render_escpos(pickup_slip(reprint=True))).reprint
    assert not decode_escpos(render_escpos(pickup_slip())).reprint
    assert "补打 / REPRINT" in render_text(pickup_slip(reprint=True), 32)


def test_native_qr_is_ten_times_smaller_than_the_image_qr() -> None:
    native = render_escpos(pickup_slip(), 58, "native")
    assert len(native) <= 1536
    qr = QRCode(PAYLOAD)
    assert len(qr.to_escpos_raster()) >= 10 * len(qr.to_escpos_native())


def test_the_on_screen_qr_uses_half_blocks_with_the_quiet_zone() -> None:
    qr = QRCode(PAYLOAD)
    rows = qr.halfblock_rows()
    assert len(rows) == (len(qr.matrix) + 1) // 2
    assert all(len(r) == len(qr.matrix) for r in rows)
    assert set("".join(rows)) <= set(" ▀▄█")
    assert rows[0].strip() == "" and rows[1].strip() == ""  # 4 light module rows on top
    assert [r.text for r in zxingcpp.read_barcodes(qr.to_image(4))] == [PAYLOAD]


@pytest.mark.parametrize("qr_mode", ["native", "image"])
def test_a_receipt_printed_to_a_file_decodes_back_to_its_text_and_qr(
    tmp_path: Path, qr_mode: str
) -> None:
    target = tmp_path / "receipts.bin"
    printer = open_printer(f"file://{target}?paper=58&qr={qr_mode}")
    assert printer.status().ready
    result = printer.print_receipt(pickup_slip())
    assert result.confirmed and result.bytes_sent == target.stat().st_size
    decoded = decode_escpos(target.read_bytes())
    assert "包裹取件凭条" in decoded.lines
    assert any("顺丰速运" in line for line in decoded.lines)
    assert any("￥50.00" in line for line in decoded.lines)
    assert "请凭此码在一楼大堂快递柜取件，七天内有效。" in "".join(decoded.lines)
    assert decoded.cuts == 1 and decoded.barcodes == ["8F3K2"]
    if qr_mode == "native":
        assert decoded.qr_codes == [PAYLOAD]
    else:
        assert len(decoded.images) == 1
    png = to_png(decoded)
    assert [r.text for r in zxingcpp.read_barcodes(png)] == [PAYLOAD]


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300))
def test_the_decoder_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    decoded = decode_escpos(data)
    assert decoded.size == len(data)


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("取件码包裹 abcXYZ¥0123,.，。"), max_size=80))
def test_any_text_round_trips_through_the_printer(text: str) -> None:
    r = Receipt().text(text)
    decoded = decode_escpos(render_escpos(r, 58))
    assert "".join(decoded.lines).replace(" ", "") == text.replace("¥", "￥").replace(" ", "")


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=60), width=st.integers(min_value=2, max_value=48))
def test_wrapped_lines_never_exceed_the_width(text: str, width: int) -> None:
    for line in wrap(text.replace("\n", " "), width):
        assert text_width(line) <= width
