"""Pass and invite codes are read from whatever a scanner or a person types: the parser says
"not ours" (None, and a refusal in the service) for anything but a genuine code, and never
raises."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.errors import Refused
from plugins.visitors import passes, service

KEY = b"test-key"
KINDS = st.sampled_from(["pass", "invite"])
# Arbitrary text, and text shaped like a code (prefix, dots, hex-ish tails) to reach the MAC.
SHAPED = st.builds(
    lambda prefix, ident, mac: f"{prefix}.{ident}.{mac}",
    st.sampled_from(["KP1", "KI1", "kp1", "KX1", ""]),
    st.text(max_size=12),
    st.one_of(st.text(max_size=30), st.text("0123456789abcdefABCDEF", min_size=24, max_size=24)),
)
ANY_TEXT = st.one_of(st.text(), SHAPED, st.text(alphabet=st.characters(codec="utf-8")))


@given(kind=KINDS, payload=ANY_TEXT)
def test_verify_never_raises_and_accepts_nothing_forged(kind: str, payload: str) -> None:
    ident = passes.verify(KEY, kind, payload)
    if ident is not None:  # only a payload we signed ourselves gets through
        assert payload.strip().upper() == passes.sign(KEY, kind, ident).upper()


@given(kind=KINDS, ident=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1))
def test_a_genuine_code_verifies_and_any_change_to_its_mac_does_not(kind: str, ident: str) -> None:
    ident = ident.replace(".", "-")
    payload = passes.sign(KEY, kind, ident)
    mac = payload[-passes.MAC_HEX :]
    assert passes.verify(KEY, kind, payload) == ident
    assert passes.verify(KEY, kind, f"  {payload[: -len(mac)]}{mac.upper()}\n") == ident
    flipped = payload[: -len(mac)] + ("0" if mac[0] != "0" else "1") + mac[1:]
    assert passes.verify(KEY, kind, flipped) is None
    assert passes.verify(KEY, "invite" if kind == "pass" else "pass", payload) is None


@pytest.mark.parametrize("payload", ["KP1.x.é", "KI1.1.é", "KP1.\ud800.abc", "KP1.é.é" * 2])
def test_the_codes_that_used_to_raise_are_just_not_ours(payload: str) -> None:
    for kind in ("pass", "invite"):
        assert passes.verify(KEY, kind, payload) is None


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=ANY_TEXT)
def test_sign_out_and_invite_refuse_any_text_that_is_not_a_code(ctx, payload: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Refused):
        service.sign_out(ctx, payload)
    with contextlib.suppress(Refused):  # a typed code may by chance be a real invite's
        service.redeem_invite(ctx, payload)
