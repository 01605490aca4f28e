"""EMV merchant-presented QR: published vectors, tamper detection, refusals naming the tag,
and round trips of anything the encoder can write."""

from __future__ import annotations

import json
import string
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.billing import emv

# /work/shared/VECTORS.md (PromptPay static, Thailand; kiosk-style static CNY, template 26).
PROMPTPAY = "00020101021129370016A000000677010111011300668012345675802TH530376463046197"
KIOSK_STATIC = (
    "00020101021126330017COM.EXAMPLE.KIOSK0108PM0000015204651353031565802CN"
    "5918SUNSHINE GARDEN PM6008SHANGHAI630409BB"
)
# EMVCo, "EMV QR Code Specification for Payment Systems: Merchant-Presented Mode" v1.1,
# Appendix A (example payload with a Chinese alternate-language template 64 and a template 91).
EMVCO_APPENDIX_A = (
    "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678"
    "520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京"
    "540523.7253031565502016233030412340603***0708A60086670902ME"
    "91320016A0112233449988770708123456786304A13A"
)
VECTORS = [PROMPTPAY, KIOSK_STATIC, EMVCO_APPENDIX_A]


def test_crc_is_ccitt_false_over_utf8_including_6304() -> None:
    assert emv.crc16("123456789") == "29B1"  # the CRC catalogue's check value
    assert emv.crc16(KIOSK_STATIC[:-4]) == "09BB"
    assert emv.crc16(EMVCO_APPENDIX_A[:-4]) == "A13A"


def test_the_promptpay_vector_decodes_with_warnings_for_what_emvco_also_requires() -> None:
    qr, warnings = emv.decode_with_warnings(PROMPTPAY)
    assert qr.accounts == {"29": {"00": "A000000677010111", "01": "0066801234567"}}
    assert (qr.currency, qr.country, qr.amount_fen, qr.dynamic) == ("764", "TH", None, False)
    assert warnings == [
        "tag 52: merchant category code is missing",
        "tag 59: merchant name is missing",
        "tag 60: merchant city is missing",
    ]
    with pytest.raises(emv.EMVError) as refused:
        emv.decode(PROMPTPAY, strict=True)
    assert refused.value.tag == "52"


def test_the_kiosk_static_vector_decodes_and_encodes_back_byte_for_byte() -> None:
    qr = emv.decode(KIOSK_STATIC, strict=True)
    assert qr.accounts == {"26": {"00": "COM.EXAMPLE.KIOSK", "01": "PM000001"}}
    assert (qr.mcc, qr.currency, qr.country) == ("6513", "156", "CN")
    assert (qr.merchant_name, qr.merchant_city) == ("SUNSHINE GARDEN PM", "SHANGHAI")
    assert emv.encode(qr) == KIOSK_STATIC


def test_the_emvco_example_counts_chinese_characters_not_bytes() -> None:
    qr = emv.decode(EMVCO_APPENDIX_A, strict=True)
    assert (qr.alt_language, qr.alt_name, qr.alt_city) == ("ZH", "最佳运输", "北京")
    assert qr.amount_fen == 2372 and qr.dynamic
    assert qr.additional == {
        "store_label": "1234",
        "customer_label": "***",
        "terminal_label": "A6008667",
        "consumer_data_request": "ME",
    }
    assert qr.extra == {"55": "01", "91": {"00": "A011223344998877", "07": "12345678"}}
    # Our encoder writes ids in ascending order; the content survives the trip.
    assert emv.decode(emv.encode(qr)) == qr


@pytest.mark.parametrize("payload", VECTORS, ids=["promptpay", "kiosk", "emvco"])
def test_any_single_character_change_is_rejected(payload: str) -> None:
    alphabet = string.ascii_letters + string.digits + " .*-最"
    changed = 0
    for i, original in enumerate(payload):
        for c in alphabet:
            if c == original:
                continue
            tampered = payload[:i] + c + payload[i + 1 :]
            with pytest.raises(emv.EMVError):
                emv.decode(tampered)
            changed += 1
    assert changed > 60 * len(payload)


def test_a_bad_crc_is_refused_naming_tag_63() -> None:
    with pytest.raises(emv.EMVError) as refused:
        emv.decode(KIOSK_STATIC[:-4] + "09BC")
    assert refused.value.tag == "63"
    assert "09BC" in str(refused.value) and "09BB" in str(refused.value)


def _with_crc(body: str) -> str:
    return body + "6304" + emv.crc16(body + "6304")


def test_a_length_running_past_the_end_is_refused_naming_the_tag() -> None:
    # Tag 60 claims 30 characters where 8 follow before the CRC.
    body = KIOSK_STATIC[:-8].replace("6008SHANGHAI", "6030SHANGHAI")
    with pytest.raises(emv.EMVError) as refused:
        emv.decode(_with_crc(body))
    assert refused.value.tag == "60"
    assert "runs past the end" in refused.value.reason


def test_a_nested_length_running_past_its_template_names_the_sub_tag() -> None:
    body = KIOSK_STATIC[:-8].replace("0108PM000001", "0109PM000001")
    with pytest.raises(emv.EMVError) as refused:
        emv.decode(_with_crc(body))
    assert refused.value.tag == "26.01"


@pytest.mark.parametrize(("tag", "chunk"), [("58", "5802CN"), ("53", "5303156")])
def test_a_missing_mandatory_tag_is_refused_naming_it(tag: str, chunk: str) -> None:
    body = KIOSK_STATIC[:-8].replace(chunk, "")
    with pytest.raises(emv.EMVError) as refused:
        emv.decode(_with_crc(body))
    assert refused.value.tag == tag


def test_a_payload_without_a_merchant_account_is_refused() -> None:
    body = KIOSK_STATIC[:-8].replace("26330017COM.EXAMPLE.KIOSK0108PM000001", "")
    with pytest.raises(emv.EMVError) as refused:
        emv.decode(_with_crc(body))
    assert refused.value.tag == "26"


def test_a_template_without_its_scheme_identifier_is_refused() -> None:
    body = KIOSK_STATIC[:-8].replace("26330017COM.EXAMPLE.KIOSK0108PM000001", "26120108PM000001")
    with pytest.raises(emv.EMVError) as refused:
        emv.decode(_with_crc(body))
    assert refused.value.tag == "26.00"


def test_a_dynamic_bill_qr_carries_amount_bill_reference_and_chinese_name() -> None:
    qr = emv.MerchantQR(
        accounts={"26": {"00": "COM.EXAMPLE.KIOSK", "01": "PM000001"}},
        mcc="6513",
        merchant_name="SUNSHINE GARDEN PM",
        merchant_city="SHANGHAI",
        amount_fen=123450,
        initiation=emv.DYNAMIC,
        additional={"bill_number": "B2611-0001", "reference_label": "PO-42"},
        alt_language="ZH",
        alt_name="阳光花园物业",
        alt_city="上海",
    )
    payload = emv.encode(qr)
    assert "54071234.50" in payload
    assert "64220002ZH0106阳光花园物业0202上海" in payload
    assert emv.decode(payload, strict=True) == qr


def test_amounts_with_more_than_two_decimals_are_refused_not_rounded() -> None:
    body = KIOSK_STATIC[:-8] + "540612.345"
    with pytest.raises(emv.EMVError) as refused:
        emv.decode(_with_crc(body))
    assert refused.value.tag == "54"


# -- properties -------------------------------------------------------------------------------

ascii_value = st.text(
    alphabet=string.ascii_uppercase + string.digits + " .-", min_size=1, max_size=15
)
account = st.fixed_dictionaries(
    {"00": st.text(alphabet=string.ascii_uppercase + ".", min_size=5, max_size=20)},
    optional={"01": ascii_value, "02": ascii_value},
)
merchant_qrs = st.builds(
    emv.MerchantQR,
    accounts=st.dictionaries(
        st.sampled_from([f"{i:02d}" for i in range(26, 52)]), account, min_size=1, max_size=2
    ),
    currency=st.sampled_from(["156", "764", "344"]),
    country=st.sampled_from(["CN", "TH", "HK"]),
    merchant_name=st.text(min_size=0, max_size=25),
    merchant_city=st.text(min_size=0, max_size=15),
    mcc=st.sampled_from(["", "6513", "4111"]),
    amount_fen=st.none() | st.integers(min_value=1, max_value=10**12 - 1),
    initiation=st.sampled_from([emv.STATIC, emv.DYNAMIC]),
    postal_code=st.sampled_from(["", "200000"]),
    additional=st.dictionaries(
        st.sampled_from(sorted(emv._ADDITIONAL_TAGS)), ascii_value, max_size=3
    ),
    alt_language=st.just("ZH"),
    alt_name=st.text(alphabet="阳光花园物业管理有限公司ABC ", min_size=1, max_size=20),
    alt_city=st.sampled_from(["", "上海", "北京"]),
)


@settings(max_examples=200, deadline=None)
@given(merchant_qrs)
def test_encode_then_decode_gives_back_the_same_fields(qr: emv.MerchantQR) -> None:
    payload = emv.encode(qr)
    assert emv.decode(payload) == qr
    assert emv.encode(emv.decode(payload)) == payload


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_any_text_is_either_a_payload_or_a_refusal_naming_a_tag(text: str) -> None:
    try:
        emv.decode(text)
    except emv.EMVError as exc:
        assert exc.tag


@settings(max_examples=200, deadline=None)
@given(merchant_qrs, st.data())
def test_any_single_character_change_of_an_encoded_payload_is_rejected(
    qr: emv.MerchantQR, data: st.DataObject
) -> None:
    payload = emv.encode(qr)
    i = data.draw(st.integers(0, len(payload) - 1))
    c = data.draw(st.characters(codec="utf-8").filter(lambda ch: ch != payload[i]))
    with pytest.raises(emv.EMVError):
        emv.decode(payload[:i] + c + payload[i + 1 :])


# -- the CLI ----------------------------------------------------------------------------------

KIOSK = [sys.executable, "-c", "from kiosk.cli import main; main()"]


def test_kiosk_emv_decode_exit_codes_and_json() -> None:
    ok = subprocess.run(
        [*KIOSK, "emv", "decode", EMVCO_APPENDIX_A, "--json"], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["alternate_language"]["merchant_name"] == "最佳运输"
    bad = subprocess.run(
        [*KIOSK, "emv", "decode", KIOSK_STATIC[:-1] + "C"], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0
    assert "tag 63" in bad.stderr
