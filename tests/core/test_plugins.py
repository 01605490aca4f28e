"""Plugins: every hook documented; third-party plugins install and show; broken ones are isolated."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk import hookspecs
from kiosk.hookspecs import Tile, hookimpl
from kiosk.plugins import load_plugins

REPO = Path(__file__).resolve().parents[2]
HOOKS = [
    name
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
    if name.startswith("kiosk_")
]


def test_there_are_hooks() -> None:
    assert {"kiosk_tiles", "kiosk_card_presented", "kiosk_desk_panels", "kiosk_scenarios"} <= set(
        HOOKS
    )


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_docstring_and_a_docs_entry(hook: str) -> None:
    fn = getattr(hookspecs, hook)
    assert fn.__doc__ and len(fn.__doc__.strip()) > 20, f"{hook} needs a docstring"
    docs = (REPO / "docs" / "plugins.md").read_text("utf-8")
    assert f"### `{hook}" in docs, f"docs/plugins.md lacks a section for {hook}"


def _callers_source() -> str:
    """The core's and the built-in plugins' code, without the hook declarations."""
    files = [*(REPO / "kiosk").rglob("*.py"), *(REPO / "plugins").rglob("*.py")]
    return "\n".join(f.read_text("utf-8") for f in files if f != REPO / "kiosk" / "hookspecs.py")


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_called_somewhere(hook: str) -> None:
    """A hook nothing calls is a promise to plugin authors that nothing keeps: the core (or a
    plugin) must call it by name, through ``KioskPlugins.call`` / ``call_flat`` / ``first`` (or
    pluggy's ``pm.hook.<name>(...)`` where a hook runs inside the caller's transaction)."""
    source = _callers_source()
    called = f'"{hook}"' in source or f"hook.{hook}(" in source
    assert called, f"nothing calls {hook}: call it or remove it"


class Good:
    @hookimpl
    def kiosk_tiles(self, ctx):
        return [Tile(id="good", title="Good", screen=lambda c: None)]


class RaisesInHook:
    @hookimpl
    def kiosk_tiles(self, ctx):
        raise RuntimeError("boom in tiles")


class UnknownHook:
    @hookimpl
    def kiosk_tiels(self, ctx):  # a typo: must be rejected at load time
        return []


def test_disabling_a_plugin_records_why_and_takes_its_hooks_away() -> None:
    plugins = load_plugins(extra={"good": Good()})
    plugins.disable("good", "screen", RuntimeError("a bug in its screen"))
    assert plugins.pm.get_plugin("good") is None
    assert "good" not in [t.id for t in plugins.call_flat("kiosk_tiles", ctx=None)]
    (failure,) = [f for f in plugins.failures if f.plugin == "good"]
    assert failure.stage == "screen" and "a bug in its screen" in failure.error


def test_a_hook_that_raises_disables_only_its_plugin() -> None:
    plugins = load_plugins(extra={"good": Good(), "bad": RaisesInHook()})
    tiles = plugins.call_flat("kiosk_tiles", ctx=None)
    assert [t.id for t in tiles if t.id in ("good",)] == ["good"]
    (failure,) = [f for f in plugins.failures if f.plugin == "bad"]
    assert failure.stage == "kiosk_tiles" and "boom in tiles" in failure.error
    # Disabled after failing: the next call does not reach it again.
    assert plugins.pm.get_plugin("bad") is None
    plugins.call_flat("kiosk_tiles", ctx=None)
    assert len([f for f in plugins.failures if f.plugin == "bad"]) == 1


def test_an_unknown_hook_is_rejected_at_load_time() -> None:
    plugins = load_plugins(extra={"typo": UnknownHook()})
    (failure,) = [f for f in plugins.failures if f.plugin == "typo"]
    assert failure.stage == "validate" and "kiosk_tiels" in failure.error
    assert plugins.pm.get_plugin("typo") is None


def test_firstresult_isolation() -> None:
    class Claims:
        @hookimpl
        def kiosk_card_presented(self, card, ctx):
            return "claimed"

    class Breaks:
        @hookimpl
        def kiosk_card_presented(self, card, ctx):
            raise ValueError("bad card logic")

    plugins = load_plugins(extra={"claims": Claims(), "breaks": Breaks()})
    assert plugins.first("kiosk_card_presented", card=None, ctx=None) == "claimed"
    assert any(f.plugin == "breaks" for f in plugins.failures)


@pytest.fixture(scope="module")
def installed_hello(tmp_path_factory: pytest.TempPathFactory):
    """Really install tests/fixtures/kiosk-hello (pip, into a private target dir)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(REPO / "tests" / "fixtures" / "kiosk-hello"),
        ],
        check=True,
        capture_output=True,
    )
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    yield target
    sys.path.remove(str(target))
    for name in [m for m in sys.modules if m.startswith("kiosk_hello")]:
        del sys.modules[name]
    importlib.invalidate_caches()


def test_an_installed_third_party_plugin_shows_its_tile(installed_hello: Path) -> None:
    plugins = load_plugins()
    info = {p.name: p for p in plugins.info()}
    assert "hello" in info and info["hello"].version == "1.0.0" and not info["hello"].builtin
    assert info["hello"].hooks == ["kiosk_idle_reset", "kiosk_tiles"]
    tiles = {t.id: t for t in plugins.call_flat("kiosk_tiles", ctx=None)}
    assert tiles["hello"].title == "Hello" and tiles["hello"].order == 900


def test_disable_list_leaves_a_plugin_off(installed_hello: Path) -> None:
    plugins = load_plugins(disabled=["hello"])
    assert "hello" in plugins.disabled
    assert "hello" not in {p.name for p in plugins.info()}


def test_a_plugin_that_fails_to_import_is_reported(
    installed_hello: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kiosk_hello

    def broken(self):  # the entry point's module raises at import
        if self.name == "hello":
            raise ImportError("No module named 'missing_dependency'")
        return real_load(self)

    from importlib.metadata import EntryPoint

    real_load = EntryPoint.load
    monkeypatch.setattr(EntryPoint, "load", broken)
    plugins = load_plugins()
    (failure,) = [f for f in plugins.failures if f.plugin == "hello"]
    assert failure.stage == "import" and "missing_dependency" in failure.error
    assert kiosk_hello  # the real module is fine; only the simulated import failed


def test_every_core_module_is_under_the_no_textual_contract() -> None:
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    contract = config["tool"]["importlinter"]["contracts"][0]
    listed = set(contract["source_modules"])
    core = {f"kiosk.{p.stem}" for p in (REPO / "kiosk").glob("*.py") if p.stem != "__init__"}
    core |= {
        f"kiosk.{p.name}"
        for p in (REPO / "kiosk").iterdir()
        if p.is_dir() and p.name not in ("ui", "__pycache__")
    }
    assert core <= listed, f"add to the import-linter contract: {sorted(core - listed)}"


def test_every_plugin_service_is_under_the_headless_contract() -> None:
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    contract = next(
        c for c in config["tool"]["importlinter"]["contracts"] if "Plugin service" in c["name"]
    )
    services = {f"plugins.{p.parent.name}.service" for p in (REPO / "plugins").glob("*/service.py")}
    assert services <= set(contract["source_modules"]), sorted(
        services - set(contract["source_modules"])
    )


def test_a_hook_failing_because_the_database_is_gone_keeps_its_plugin() -> None:
    """An outage is the caller's to handle (out of service, try again); disabled, the plugin
    would be gone until the next start although nothing is wrong with it."""
    from sqlalchemy.exc import OperationalError

    class Outage:
        @hookimpl
        def kiosk_tiles(self, ctx):
            raise OperationalError("SELECT 1", {}, ConnectionError("server closed the connection"))

    class Bug:
        @hookimpl
        def kiosk_home_notices(self, ctx, lobby):
            raise KeyError("a bug")

    plugins = load_plugins(extra={"outage": Outage(), "bug": Bug()})
    with pytest.raises(OperationalError):
        plugins.call("kiosk_tiles", ctx=None)
    assert plugins.pm.get_plugin("outage") is not None
    assert "outage" not in {f.plugin for f in plugins.failures}
    assert plugins.call("kiosk_home_notices", ctx=None, lobby="A") is not None
    assert plugins.pm.get_plugin("bug") is None and "bug" in {f.plugin for f in plugins.failures}


def _manifest_package(root: Path, name: str, manifest: str) -> None:
    """A plugin package ``name`` under ``root`` whose ``__init__`` is the one line the built-in
    plugins have, beside ``manifest`` as its ``plugin.toml``."""
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text(
        "from kiosk.plugins import plugin_hooks\nglobals().update(plugin_hooks(__name__))\n"
    )
    (package / "plugin.toml").write_text(manifest, "utf-8")


def test_a_manifest_declares_tiles_panels_registers_and_alert_kinds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _manifest_package(
        tmp_path,
        "manifest_ok",
        'hooks = ["scenarios"]\n'
        "[[tiles]]\n"
        'title = "Lockers"\nscreen = "screens:LockerScreen"\norder = 70\nicon = "柜"\n'
        "needs_resident = false\n"
        "[[desk_panels]]\n"
        'title = "Lockers"\nwidget = "desk:Panel"\nroles = ["butler", "security"]\n'
        "[[registers]]\n"
        'title = "Locker register"\nread = "records:csv"\norder = 5\nid = "locker-book"\n'
        "[alert_kinds]\n"
        '"locker.jammed" = "Locker jammed"\n',
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins = load_plugins(extra={"lockers": importlib.import_module("manifest_ok")})
    (tile,) = [t for t in plugins.call_flat("kiosk_tiles", ctx=None) if t.id == "manifest_ok"]
    assert (tile.title, tile.order, tile.icon, tile.needs_resident) == ("Lockers", 70, "柜", False)
    (panel,) = [p for p in plugins.call_flat("kiosk_desk_panels", ctx=None) if p.title == "Lockers"]
    assert panel.roles == ("butler", "security") and panel.order == 100
    registers = {r.id: r for r in plugins.call_flat("kiosk_registers", ctx=None)}
    assert registers["locker-book"].title == "Locker register"
    kinds: dict[str, str] = {}
    for answer in plugins.call("kiosk_alert_kinds"):
        kinds.update(answer)
    assert kinds["locker.jammed"] == "Locker jammed"
    assert "kiosk_scenarios" in {
        h.name for h in plugins.pm.get_hookcallers(plugins.pm.get_plugin("lockers"))
    }


@pytest.mark.parametrize(
    "manifest, said",
    [
        ('[[tiles]]\ntitle = "X"\nscreen = "s:S"\ncolour = "red"\n', "colour"),
        ('hooks = ["commands", "teleport"]\n', "hooks must list"),
        ("[[tiles]\n", "plugin.toml"),
        ("[alert_kinds]\nx = 3\n", "alert_kinds"),
        ('wormhole = "m:f"\n', "wormhole"),
        ("workload = 3\n", "module:name"),
        ('[[desk_panels]]\ntitle = "X"\nwidget = "NoColon"\n', "module:name"),
        ('[[registers]]\ntitle = 7\nread = "m:f"\n', "title"),
    ],
)
def test_a_bad_manifest_fails_its_plugin_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, manifest: str, said: str
) -> None:
    name = f"manifest_bad_{abs(hash(manifest))}"
    _manifest_package(tmp_path, name, manifest)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TypeError, match=said):
        importlib.import_module(name)


def test_a_hook_keyword_no_hook_answers_names_where_it_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kiosk.plugins import plugin_hooks

    with pytest.raises(TypeError, match=r"plugin_hooks\('plugins.umbrellas'\).*purj"):
        plugin_hooks("plugins.umbrellas", purj="service:purge_in")
    _manifest_package(tmp_path, "manifest_typo", 'purj = "service:purge_in"\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TypeError, match=r"manifest_typo.plugin\.toml: no hook is called purj"):
        importlib.import_module("manifest_typo")
