"""A plugin's settings are read one way: the defaults where a key is not set, and a bad value
refused with a message naming the key (never a traceback)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.errors import Refused
from kiosk.plugin_settings import at_least, one_of, rules_from, whole_number


@dataclass(frozen=True)
class Rules:
    hours: int = 4
    days: tuple[int, ...] = (3, 7)
    mode: str = one_of(("started", "completed"), default="started")
    roles: tuple[str, ...] = ("owner",)
    nested: object = None


@dataclass(frozen=True)
class AtLeastOne:
    hours: int = at_least(1, default=4)
    days: tuple[int, ...] = at_least(1, default=(3, 7))


def test_unset_keys_keep_the_defaults_and_set_ones_are_taken() -> None:
    assert rules_from(Rules, "demo", {}) == Rules()
    rules = rules_from(Rules, "demo", {"hours": 9, "days": [1], "roles": ["tenant", "owner"]})
    assert rules == Rules(hours=9, days=(1,), roles=("tenant", "owner"))


def test_given_fields_are_not_read_from_the_section() -> None:
    rules = rules_from(Rules, "demo", {"nested": "ignored"}, nested=["given"])
    assert rules.nested == ["given"]


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"hours": "4"}, "hours"),
        ({"hours": True}, "hours"),
        ({"hours": -1}, "hours"),
        ({"hours": 2.5}, "hours"),
        ({"days": 3}, "days"),
        ({"days": [3, "7"]}, "days"),
        ({"mode": 1}, "mode"),
        ({"mode": "up"}, "mode"),
        ({"roles": "owner"}, "roles"),
    ],
)
def test_a_bad_value_is_refused_naming_the_key(raw: dict[str, object], key: str) -> None:
    with pytest.raises(Refused) as err:
        rules_from(Rules, "demo", raw)
    assert err.value.code == "demo.config"
    assert f"plugins.demo.{key} must be" in err.value.render()


def test_a_minimum_applies_to_the_key_and_to_each_item_of_a_list() -> None:
    with pytest.raises(Refused, match="hours must be a whole number >= 1"):
        rules_from(AtLeastOne, "demo", {"hours": 0})
    with pytest.raises(Refused, match="days must be a whole number >= 1"):
        rules_from(AtLeastOne, "demo", {"days": [2, 0]})
    assert rules_from(AtLeastOne, "demo", {"hours": 1, "days": [1]}) == AtLeastOne(1, (1,))


def test_a_field_without_a_readable_default_must_be_given() -> None:
    with pytest.raises(TypeError):
        rules_from(Rules, "demo", {"nested": 1})


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_whole_number_takes_exactly_the_numbers_at_least_the_minimum(
    value: int, least: int
) -> None:
    if value >= least:
        assert whole_number("demo", {"n": value}, "n", least, least) == value
    else:
        with pytest.raises(Refused):
            whole_number("demo", {"n": value}, "n", least, least)


@given(st.one_of(st.text(), st.booleans(), st.floats(), st.none(), st.lists(st.integers())))
def test_whole_number_refuses_anything_but_an_integer(value: object) -> None:
    with pytest.raises(Refused) as err:
        whole_number("demo", {"n": value}, "n", 1)
    assert "plugins.demo.n" in err.value.render()
