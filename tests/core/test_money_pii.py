"""Money in fen with half-up rounding at the edges; personal data masked everywhere."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.errors import Refused
from kiosk.money import MoneyError, fen_of, format_fen, typed_amount, typed_fen, yuan
from kiosk.pii import find_unmasked, mask_data, mask_id_number, mask_name, mask_phone, mask_text


def test_yuan_parses_and_rounds_half_up() -> None:
    assert yuan("12.5") == 1250
    assert yuan("￥1,234.50") == 123450
    assert yuan("0.005") == 1
    assert yuan("0.004") == 0
    assert yuan(3) == 300
    assert fen_of(Decimal("2.5")) == 3


@pytest.mark.parametrize("bad", ["abc", "", "NaN", "1.2.3"])
def test_yuan_refuses_non_amounts(bad: str) -> None:
    with pytest.raises(MoneyError):
        yuan(bad)


@pytest.mark.parametrize(
    ("typed", "fen"),
    [("120", 12000), ("120.50", 12050), (" ￥1,234.5 ", 123450), ("¥0.01", 1), ("35", 3500)],
)
def test_a_typed_amount_is_read_in_yuan(typed: str, fen: int) -> None:
    assert typed_fen(typed) == fen
    assert typed_amount(typed) == fen


@pytest.mark.parametrize("typed", ["12.345", "0", "-5", "lots", "", "NaN", "Infinity", "1e20"])
def test_a_typed_amount_is_never_rounded_or_guessed(typed: str) -> None:
    # A cashier's "12.345" is a slip to show, not ￥12.35 to take.
    assert typed_fen(typed) is None
    with pytest.raises(Refused) as refused:
        typed_amount(typed)
    assert refused.value.code == "money.amount"
    assert refused.value.render().startswith(f"{typed} is not an amount of money")


def test_a_typed_amount_has_a_ceiling() -> None:
    assert typed_fen("100000", most=10**7) == 10**7
    assert typed_fen("100000.01", most=10**7) is None


def test_floats_are_refused() -> None:
    with pytest.raises(MoneyError):
        yuan(1.5)  # type: ignore[arg-type]


def test_format() -> None:
    assert format_fen(123450) == "￥1,234.50"
    assert format_fen(5) == "￥0.05"
    assert format_fen(-200) == "-￥2.00"


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_format_then_parse_round_trips(amount: int) -> None:
    assert yuan(format_fen(amount).replace("-￥", "-")) == amount


def test_masks() -> None:
    assert mask_phone("13800000000") == "138****0000"
    assert mask_id_number("310101199001011234") == "3101**********1234"
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("李四") == "李*"
    assert mask_name("Emily Wang") == "E**** W***"
    assert (
        mask_text("call 13912345678, ID 31010119900101123X")
        == "call 139****5678, ID 3101**********123X"
    )
    assert mask_data({"phone": "13912345678", "note": "x"}) == {"phone": "139****5678", "note": "x"}


@given(st.from_regex(r"1[3-9]\d{9}", fullmatch=True))
def test_masked_phone_is_never_found_unmasked(phone: str) -> None:
    assert find_unmasked(phone) == [phone]
    assert find_unmasked(mask_phone(phone)) == []


def test_a_mobile_with_the_country_code_is_found_and_masked() -> None:
    for written in ("+8613712345678", "8613712345678", "+86 13712345678", "0086-13712345678"):
        assert find_unmasked(f"tel {written}.") == [written], written
        masked = mask_text(f"tel {written}.")
        assert masked.endswith("137****5678.") and find_unmasked(masked) == [], masked
    # Longer digit runs are not phone numbers.
    assert find_unmasked("order 186137123456789") == []


SPACED_MOBILES = (
    ("138 0013 8000", "138 **** 8000"),
    ("138-0013-8000", "138-****-8000"),
    ("+86 138 0013 8000", "+86 138 **** 8000"),
    ("+86-138-0013-8000", "+86-138-****-8000"),
    ("0086 138 0013 8000", "0086 138 **** 8000"),
    ("+86 13800138000", "+86 138****8000"),
)


@pytest.mark.parametrize(("written", "masked"), SPACED_MOBILES)
def test_a_mobile_written_with_spaces_or_dashes_is_found_and_masked(
    written: str, masked: str
) -> None:
    text = f"请联系 {written}，谢谢"
    assert find_unmasked(text) == [written]
    assert mask_text(text) == f"请联系 {masked}，谢谢"
    assert find_unmasked(mask_text(text)) == []
    assert mask_phone(written) == masked
    assert mask_data({"phone": written}) == {"phone": masked}


def test_an_old_15_digit_id_number_is_found_and_masked() -> None:
    text = "身份证 310101900101123 已核验"
    assert find_unmasked(text) == ["310101900101123"]
    assert mask_text(text) == "身份证 3101*******1123 已核验"
    assert find_unmasked(mask_text(text)) == []
    assert mask_data({"id_number": "310101900101123"}) == {"id_number": "3101*******1123"}
    # Other 15-digit numbers (no birth date inside) are not taken for ID numbers.
    assert find_unmasked("运单 773012345678901") == []
    assert find_unmasked("SF100000000000123") == []


def test_digits_inside_a_token_are_no_phone_number() -> None:
    """A random hex token (a visitor pass's QR) may hold eleven digits in a row that read like
    a mobile: inside a word of letters and digits they are no number, and stay as they are;
    beside Chinese text or punctuation a mobile is still found and masked."""
    token = "KP1.b336d14945971178.5798518979cb6aaa305943b4"
    assert find_unmasked(token) == []
    assert mask_text(token) == token
    assert mask_text("王先生13800138000转前台") == "王先生138****8000转前台"
    assert mask_text("Tel:13800138000.") == "Tel:138****8000."


@given(
    st.from_regex(r"1[3-9]\d", fullmatch=True),
    st.from_regex(r"\d{4}", fullmatch=True),
    st.from_regex(r"\d{4}", fullmatch=True),
    st.sampled_from(["", " ", "-"]),
    st.sampled_from(["", "+86 ", "+86-", "0086 ", "+86"]),
)
def test_every_grouping_of_a_mobile_is_masked(
    head: str, mid: str, tail: str, sep: str, cc: str
) -> None:
    written = f"{cc}{head}{sep}{mid}{sep}{tail}"
    assert find_unmasked(f"tel {written} ok") == [written]
    masked = mask_text(f"tel {written} ok")
    assert find_unmasked(masked) == []
    assert masked == f"tel {cc}{head}{sep}****{sep}{tail} ok"
