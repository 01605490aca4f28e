"""Configuration: the example files load; every mistake names the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.config import ConfigError, load_settings, parse_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["kiosk.toml", "demo.toml"])
def test_shipped_configs_load(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KIOSK_DATABASE_URL", raising=False)
    s = load_settings(REPO / "config" / name)
    assert s.estate.name == "阳光花园"
    assert s.language == "zh_CN"
    assert "printer" in s.devices and "card_reader" in s.devices


def test_demo_sqlite_path_is_relative_to_the_config_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KIOSK_DATABASE_URL", raising=False)
    s = load_settings(REPO / "config" / "demo.toml")
    assert s.database_url == f"sqlite:///{REPO / 'var' / 'demo.db'}"


def test_environment_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "k.toml"
    cfg.write_text('[kiosk]\nid = "k9"\n', "utf-8")
    monkeypatch.setenv("KIOSK_CONFIG", str(cfg))
    monkeypatch.setenv("KIOSK_DATABASE_URL", "postgresql+psycopg://u@h/db")
    s = load_settings()
    assert s.kiosk_id == "k9"
    assert s.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("toml", "key", "expected"),
    [
        ("[kiosk]\nidle_timeout = -5\n", "kiosk.idle_timeout", "from 1 to 3600"),
        ("[kiosk]\nidle_timeout = true\n", "kiosk.idle_timeout", "an integer"),
        ('[kiosk]\nlanguage = "fr"\n', "kiosk.language", "zh_CN, en, ja, ko"),
        ('[kiosk]\nlanguages = ["en", "fr"]\n', "kiosk.languages", "zh_CN, en, ja, ko"),
        ("[kiosk]\nlanguages = []\n", "kiosk.languages", "a list from"),
        ('[database]\nurl = "mysql://x"\n', "database.url", "sqlite:///PATH"),
        ("[devices]\nprinter = 5\n", "devices.printer", "device URL"),
        ('[devices]\nprinter = "ftp://x"\n', "devices.printer", "unknown scheme 'ftp'"),
        ('[devices]\nprinter = "sim://printer?paper=57"\n', "devices.printer", "58 or 80"),
        ('[estate]\ntimezone = "Mars/Base"\n', "estate.timezone", "IANA zone"),
        ('[kioks]\nid = "x"\n', "kioks", "unknown section"),
        ('[kiosk]\nlangauge = "en"\n', "kiosk.langauge", "unknown key (did you mean 'language'?)"),
        ("[retention]\nvisitor_day = 30\n", "retention.visitor_day", "'visitor_days'"),
        ('[database]\nurI = "sqlite:///x.db"\n', "database.urI", "did you mean 'url'?"),
        ("[staff]\nfoo = 1\n", "staff.foo", "lockout_minutes, max_attempts, pin_min_length"),
        ("[staff]\nmax_attempts = 0\n", "staff.max_attempts", "from 1 to 100"),
        ('[plugins]\ndisabled = "parking"\n', "plugins.disabled", "list of strings"),
        ("[kiosk\n", "(syntax)", "invalid TOML"),
    ],
)
def test_bad_config_names_file_key_and_expectation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, key: str, expected: str
) -> None:
    monkeypatch.delenv("KIOSK_DATABASE_URL", raising=False)
    cfg = tmp_path / "bad.toml"
    cfg.write_text(toml, "utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert err.value.source == str(cfg)
    assert err.value.key == key
    assert expected in err.value.expected


def test_the_toggle_cycles_through_the_configured_languages_the_configured_one_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kiosk.i18n import next_language

    monkeypatch.delenv("KIOSK_DATABASE_URL", raising=False)
    cfg = tmp_path / "k.toml"
    cfg.write_text('[kiosk]\nlanguage = "ko"\nlanguages = ["zh_CN", "en", "ja"]\n', "utf-8")
    s = load_settings(cfg)
    assert s.languages == ("ko", "zh_CN", "en", "ja")
    order = ["ko"]
    for _step in range(4):
        order.append(next_language(s.languages, order[-1]))
    assert order == ["ko", "zh_CN", "en", "ja", "ko"]
    assert load_settings(REPO / "config" / "kiosk.toml").languages[:2] == ("zh_CN", "en")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.toml")


_toml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["estate", "kiosk", "database", "devices", "staff", "retention", "plugins", "x"]
        ),
        st.dictionaries(st.text(max_size=12), _toml_values, max_size=4) | _toml_values,
        max_size=4,
    )
)
def test_any_parsed_document_gives_settings_or_config_error(data: dict) -> None:
    try:
        parse_settings(data, "fuzz.toml")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.toml: ")


def test_a_misspelled_key_is_refused_even_when_the_environment_sets_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIOSK_DATABASE_URL", "sqlite:///env.db")
    cfg = tmp_path / "k.toml"
    cfg.write_text('[database]\nurl = "sqlite:///file.db"\n[kiosk]\nidel_timeout = 30\n', "utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert (err.value.source, err.value.key) == (str(cfg), "kiosk.idel_timeout")
    assert "did you mean 'idle_timeout'?" in str(err.value)
    # Plugin sections and device names are not the core's to close.
    cfg.write_text('[devices]\nscale = "sim://printer"\n[plugins.x]\nanything = 1\n', "utf-8")
    assert load_settings(cfg).plugin("x") == {"anything": 1}
