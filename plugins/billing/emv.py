"""EMVCo merchant-presented QR (MPM): encoder and decoder, pure functions.

The payload is text: each data object is a 2-digit id, a 2-digit length counted in
*characters* (a Chinese merchant name in tag 64 counts one per character) and the value.
Templates (26-51 merchant account information, 62 additional data, 64 alternate language,
80-99 unreserved) nest the same TLV form. Tag 63 comes last; its value is CRC-16/CCITT-FALSE
(poly 0x1021, init 0xFFFF) over the UTF-8 bytes of the whole payload up to and including the
literal ``6304``, as four upper-case hex digits.

Mandatory here: 00 (payload format, first), at least one merchant account (02-51),
53 (currency), 58 (country) and 63 (CRC, last). EMVCo also lists 52, 59 and 60 as mandatory,
but national schemes (PromptPay among them) omit them; the decoder reports them as warnings,
and ``strict=True`` refuses them like the others.

Every refusal is an :class:`EMVError` naming the tag, e.g. ``tag 63: CRC 09BC does not match
the payload (computed 09BB)``.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from kiosk.errors import Refused

TEMPLATE_TAGS = frozenset({*(f"{i:02d}" for i in range(26, 52)), "62", "64"}) | frozenset(
    f"{i:02d}" for i in range(80, 100)
)
ACCOUNT_TAGS = tuple(f"{i:02d}" for i in range(2, 52))
MANDATORY = {"00": "payload format indicator", "53": "transaction currency", "58": "country code"}
EMVCO_MANDATORY = {"52": "merchant category code", "59": "merchant name", "60": "merchant city"}
STATIC, DYNAMIC = "11", "12"

ADDITIONAL_FIELDS = {
    "01": "bill_number",
    "02": "mobile_number",
    "03": "store_label",
    "04": "loyalty_number",
    "05": "reference_label",
    "06": "customer_label",
    "07": "terminal_label",
    "08": "purpose",
    "09": "consumer_data_request",
}
_ADDITIONAL_TAGS = {v: k for k, v in ADDITIONAL_FIELDS.items()}
_AMOUNT_RE = re.compile(r"^(?:\d+(?:\.\d*)?|\.\d+)$")


class EMVError(Refused):
    """An EMV payload that cannot be read or written; ``tag`` names the data object at fault."""

    def __init__(self, tag: str, reason: str) -> None:
        self.tag = tag
        self.reason = reason
        super().__init__("emv", "Invalid payment QR: tag {tag}: {reason}", tag=tag, reason=reason)


def crc16(text: str) -> str:
    """CRC-16/CCITT-FALSE of ``text`` (UTF-8) as four upper-case hex digits."""
    return f"{binascii.crc_hqx(text.encode('utf-8'), 0xFFFF):04X}"


# -- TLV --------------------------------------------------------------------------------------


def tlv(tag: str, value: str) -> str:
    """One data object. Refuses ids that are not 2 digits and values longer than 99 chars."""
    if len(tag) != 2 or not tag.isdigit():
        raise EMVError(tag, "the id must be two digits")
    if len(value) > 99:
        raise EMVError(tag, f"value of {len(value)} characters is longer than 99")
    if not value:
        raise EMVError(tag, "empty value (leave the data object out instead)")
    return f"{tag}{len(value):02d}{value}"


def parse_tlv(text: str, where: str = "") -> list[tuple[str, str]]:
    """Split ``text`` into (id, value) pairs; ``where`` prefixes nested ids in refusals."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        head = text[i : i + 4]
        tag = where + head[:2]
        if len(head) < 4:
            raise EMVError(tag or "??", f"truncated data object header {head!r}")
        if not head[:2].isdigit() or not head[:2].isascii():
            raise EMVError(where + repr(head[:2]), "the id is not two digits")
        if not head[2:].isdigit() or not head[2:].isascii():
            raise EMVError(tag, f"the length {head[2:]!r} is not two digits")
        length = int(head[2:])
        if length == 0:
            raise EMVError(tag, "length 00 (a data object has a value)")
        if i + 4 + length > len(text):
            raise EMVError(
                tag, f"length {length} runs past the end ({len(text) - i - 4} characters left)"
            )
        out.append((head[:2], text[i + 4 : i + 4 + length]))
        i += 4 + length
    return out


# -- the model --------------------------------------------------------------------------------


@dataclass
class MerchantQR:
    """A merchant-presented QR, as the fields people care about.

    ``accounts`` maps a merchant-account id to its value: a string for the primitive ids
    02-25 (card networks), a dict of sub-ids for the templates 26-51 (sub-id ``00`` is the
    globally unique identifier of the scheme). ``amount_fen`` set means a dynamic QR.
    ``additional`` holds tag 62 by field name (``bill_number``, ``reference_label``,
    ``terminal_label``, ...). ``alt_language``/``alt_name``/``alt_city`` are tag 64.
    ``extra`` keeps any other id (55-57, 61, 65-99) so nothing is lost in a round trip.
    """

    accounts: dict[str, str | dict[str, str]]
    currency: str = "156"
    country: str = "CN"
    merchant_name: str = ""
    merchant_city: str = ""
    mcc: str = ""
    amount_fen: int | None = None
    initiation: str = STATIC
    postal_code: str = ""
    additional: dict[str, str] = field(default_factory=dict)
    alt_language: str = ""
    alt_name: str = ""
    alt_city: str = ""
    extra: dict[str, str | dict[str, str]] = field(default_factory=dict)

    @property
    def dynamic(self) -> bool:
        return self.initiation == DYNAMIC


def format_amount(fen: int) -> str:
    """Fen -> the tag 54 form (``1250`` -> ``12.50``)."""
    if fen <= 0:
        raise EMVError("54", "the amount must be positive")
    text = f"{fen // 100}.{fen % 100:02d}"
    if len(text) > 13:
        raise EMVError("54", "the amount is longer than 13 characters")
    return text


def parse_amount(text: str) -> int:
    """The tag 54 form -> fen; more than two decimals is refused, not rounded."""
    if len(text) > 13 or not text.isascii() or not _AMOUNT_RE.match(text):
        raise EMVError("54", f"{text!r} is not an amount")
    try:
        value = Decimal(text) * 100
    except InvalidOperation:  # pragma: no cover - the regex already says it is a number
        raise EMVError("54", f"{text!r} is not an amount") from None
    if value != value.to_integral_value():
        raise EMVError("54", f"{text!r} has more than two decimals")
    if value <= 0:
        raise EMVError("54", "the amount must be positive")
    return int(value)


def _template(tag: str, items: dict[str, str]) -> str:
    body = "".join(tlv(k, v) for k, v in sorted(items.items()) if v)
    return tlv(tag, body) if body else ""


def encode(qr: MerchantQR) -> str:
    """The payload string of ``qr``, ids in ascending order, CRC appended."""
    if not qr.accounts:
        raise EMVError("26", "at least one merchant account (02-51) is needed")
    if qr.initiation not in (STATIC, DYNAMIC):
        raise EMVError("01", f"point of initiation {qr.initiation!r} (expected 11 or 12)")
    parts = [tlv("00", "01"), tlv("01", qr.initiation)]
    objects: dict[str, str] = {}
    for tag, value in qr.accounts.items():
        if tag not in ACCOUNT_TAGS:
            raise EMVError(tag, "not a merchant account id (02-51)")
        objects[tag] = _template(tag, value) if isinstance(value, dict) else tlv(tag, value)
    for tag, value in qr.extra.items():
        if tag in ACCOUNT_TAGS or tag in {"00", "01", "52", "53", "54", "58", "59", "60"}:
            raise EMVError(tag, "set through its own field, not extra")
        if tag in {"62", "63", "64"}:
            raise EMVError(tag, "set through its own field, not extra")
        objects[tag] = _template(tag, value) if isinstance(value, dict) else tlv(tag, value)
    if qr.mcc:
        objects["52"] = tlv("52", qr.mcc)
    objects["53"] = tlv("53", qr.currency)
    if qr.amount_fen is not None:
        objects["54"] = tlv("54", format_amount(qr.amount_fen))
    objects["58"] = tlv("58", qr.country)
    if qr.merchant_name:
        objects["59"] = tlv("59", qr.merchant_name)
    if qr.merchant_city:
        objects["60"] = tlv("60", qr.merchant_city)
    if qr.postal_code:
        objects["61"] = tlv("61", qr.postal_code)
    unknown = set(qr.additional) - set(_ADDITIONAL_TAGS)
    if unknown:
        raise EMVError("62", f"unknown additional data field {sorted(unknown)[0]!r}")
    add = _template("62", {_ADDITIONAL_TAGS[k]: v for k, v in qr.additional.items()})
    if add:
        objects["62"] = add
    if qr.alt_name or qr.alt_city:
        if not qr.alt_language or not qr.alt_name:
            raise EMVError("64", "the language (00) and merchant name (01) are both needed")
        objects["64"] = _template(
            "64", {"00": qr.alt_language, "01": qr.alt_name, "02": qr.alt_city}
        )
    parts += [objects[t] for t in sorted(objects) if objects[t]]
    body = "".join(parts) + "6304"
    return body + crc16(body)


def decode(payload: str, *, strict: bool = False) -> MerchantQR:
    """Read and check a payload; :class:`EMVError` names the tag of the first problem."""
    qr, _ = decode_with_warnings(payload, strict=strict)
    return qr


def decode_with_warnings(payload: str, *, strict: bool = False) -> tuple[MerchantQR, list[str]]:
    """Like :func:`decode`, also returning what EMVCo requires but this payload omits."""
    if not isinstance(payload, str):
        raise EMVError("--", "the payload must be text")
    if not payload.startswith("000201"):
        raise EMVError("00", "the payload must start with the format indicator 000201")
    if payload[-8:-4] != "6304":
        raise EMVError("63", "the CRC (6304 + 4 hex digits) must be the last data object")
    objects = parse_tlv(payload)
    ids = [t for t, _ in objects]
    if ids[-1] != "63" or len(objects[-1][1]) != 4:
        raise EMVError("63", "the CRC (6304 + 4 hex digits) must be the last data object")
    given, computed = payload[-4:], crc16(payload[:-4])
    if given != computed:
        raise EMVError("63", f"CRC {given} does not match the payload (computed {computed})")
    seen: set[str] = set()
    for tag in ids:
        if tag in seen:
            raise EMVError(tag, "appears twice")
        seen.add(tag)
    values = dict(objects)
    if values["00"] != "01":
        raise EMVError("00", f"payload format {values['00']!r} (expected 01)")
    for tag, name in MANDATORY.items():
        if tag not in values:
            raise EMVError(tag, f"{name} is missing")
    accounts: dict[str, str | dict[str, str]] = {}
    for tag in ids:
        if tag in ACCOUNT_TAGS:
            accounts[tag] = (
                _read_template(tag, values[tag]) if tag in TEMPLATE_TAGS else values[tag]
            )
    if not accounts:
        raise EMVError("26", "merchant account information (02-51) is missing")
    warnings = [f"tag {t}: {n} is missing" for t, n in EMVCO_MANDATORY.items() if t not in values]
    if strict and warnings:
        missing = next(t for t in EMVCO_MANDATORY if t not in values)
        raise EMVError(missing, f"{EMVCO_MANDATORY[missing]} is missing")
    initiation = values.get("01", STATIC)
    if initiation not in (STATIC, DYNAMIC):
        raise EMVError("01", f"point of initiation {initiation!r} (expected 11 or 12)")
    currency = values["53"]
    if len(currency) != 3 or not currency.isdigit():
        raise EMVError("53", f"currency {currency!r} is not a 3-digit ISO 4217 code")
    country = values["58"]
    if len(country) != 2:
        raise EMVError("58", f"country {country!r} is not a 2-letter ISO 3166 code")
    mcc = values.get("52", "")
    if mcc and (len(mcc) != 4 or not mcc.isdigit()):
        raise EMVError("52", f"merchant category code {mcc!r} is not 4 digits")
    amount = parse_amount(values["54"]) if "54" in values else None
    additional: dict[str, str] = {}
    if "62" in values:
        for sub, value in _read_template("62", values["62"]).items():
            if sub not in ADDITIONAL_FIELDS:
                raise EMVError(f"62.{sub}", "not an additional data field this kiosk knows")
            additional[ADDITIONAL_FIELDS[sub]] = value
    alt: dict[str, str] = {}
    if "64" in values:
        alt = _read_template("64", values["64"])
        for sub in ("00", "01"):
            if sub not in alt:
                raise EMVError(f"64.{sub}", "language and merchant name are both required")
        if set(alt) - {"00", "01", "02"}:
            raise EMVError(f"64.{sorted(set(alt) - {'00', '01', '02'})[0]}", "unknown field")
    known = {"00", "01", "52", "53", "54", "58", "59", "60", "61", "62", "63", "64"}
    extra: dict[str, str | dict[str, str]] = {}
    for tag in ids:
        if tag in known or tag in ACCOUNT_TAGS:
            continue
        extra[tag] = _read_template(tag, values[tag]) if tag in TEMPLATE_TAGS else values[tag]
    qr = MerchantQR(
        accounts=accounts,
        currency=currency,
        country=country,
        merchant_name=values.get("59", ""),
        merchant_city=values.get("60", ""),
        mcc=mcc,
        amount_fen=amount,
        initiation=initiation,
        postal_code=values.get("61", ""),
        additional=additional,
        alt_language=alt.get("00", ""),
        alt_name=alt.get("01", ""),
        alt_city=alt.get("02", ""),
        extra=extra,
    )
    return qr, warnings


def _read_template(tag: str, value: str) -> dict[str, str]:
    items = parse_tlv(value, where=f"{tag}.")
    out: dict[str, str] = {}
    for sub, v in items:
        if sub in out:
            raise EMVError(f"{tag}.{sub}", "appears twice")
        out[sub] = v
    if tag in ACCOUNT_TAGS and "00" not in out:
        raise EMVError(f"{tag}.00", "the scheme's globally unique identifier is missing")
    return out


def as_dict(qr: MerchantQR, warnings: list[str] | None = None) -> dict[str, object]:
    """A JSON-friendly view of a decoded payload (``kiosk emv decode --json``)."""
    return {
        "valid": True,
        "dynamic": qr.dynamic,
        "accounts": qr.accounts,
        "mcc": qr.mcc,
        "currency": qr.currency,
        "amount_fen": qr.amount_fen,
        "country": qr.country,
        "merchant_name": qr.merchant_name,
        "merchant_city": qr.merchant_city,
        "postal_code": qr.postal_code,
        "additional": qr.additional,
        "alternate_language": (
            {"language": qr.alt_language, "merchant_name": qr.alt_name, "city": qr.alt_city}
            if qr.alt_name
            else None
        ),
        "extra": qr.extra,
        "warnings": warnings or [],
    }
