"""The audit log is append-only and hash-chained; tampering with any row is detected."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import Table, delete, select, update

from kiosk import audit
from kiosk.db import Database
from kiosk.db.models import AuditEvent, PrintJob

T0 = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)


def _fill(db: Database, n: int) -> None:
    for i in range(n):
        with db.write() as s:
            audit.record(
                s,
                actor="staff:1",
                action="test.step",
                subject=f"x:{i}",
                data={"i": i},
                at=T0 + dt.timedelta(seconds=i),
            )


def test_chain_verifies_and_links(db_url: str) -> None:
    db = Database(db_url)
    _fill(db, 5)
    with db.read() as s:
        result = audit.verify(s)
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert result.ok and result.events == 5
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    db.dispose()


def test_a_corrupted_row_is_detected_at_its_seq(db_url: str) -> None:
    db = Database(db_url)
    _fill(db, 6)
    with db.write() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(data=json.dumps({"i": 99})))
    with db.read() as s:
        result = audit.verify(s)
    assert not result.ok
    assert result.broken_seq == 4
    assert result.events == 3
    assert "does not match its hash" in result.reason
    db.dispose()


def test_a_deleted_row_is_detected(db_url: str) -> None:
    db = Database(db_url)
    _fill(db, 4)
    with db.write() as s:
        s.query(AuditEvent).filter(AuditEvent.seq == 2).delete()
    with db.read() as s:
        result = audit.verify(s)
    assert not result.ok and result.broken_seq == 3 and "missing" in result.reason
    db.dispose()


def test_pii_in_event_data_is_masked(db_url: str) -> None:
    db = Database(db_url)
    with db.write() as s:
        audit.record(
            s,
            actor="system",
            action="resident.added",
            data={"phone": "13812345678", "note": "ID 310101199001011234"},
            at=T0,
        )
    with db.read() as s:
        row = s.scalars(select(AuditEvent)).one()
    assert "13812345678" not in row.data and "138****5678" in row.data
    assert "310101199001011234" not in row.data
    db.dispose()


def test_events_are_chained_at_commit_in_order_and_seq_can_be_read_before(db_url: str) -> None:
    db = Database(db_url)
    _fill(db, 2)
    with db.write() as s:
        first = audit.record(s, actor="system", action="test.a", at=T0)
        second = audit.record(s, actor="system", action="test.b", at=T0)
        assert first.seq == 3  # reading seq chains the transaction's events now
        third = audit.record(s, actor="system", action="test.c", at=T0)
    assert (second.seq, third.seq) == (4, 5)  # the rest were chained by the commit
    with db.read() as s:
        assert audit.verify(s).events == 5
        actions = s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert actions[2:] == ["test.a", "test.b", "test.c"]
    db.dispose()


def test_a_rolled_back_transaction_leaves_no_event_and_no_gap(db_url: str) -> None:
    db = Database(db_url)
    _fill(db, 1)
    try:
        with db.write() as s:
            audit.record(s, actor="system", action="test.lost", at=T0)
            raise RuntimeError("the change failed")
    except RuntimeError:
        pass
    _fill(db, 1)
    with db.read() as s:
        result = audit.verify(s)
        actions = s.scalars(select(AuditEvent.action)).all()
    assert result.ok and result.events == 2 and "test.lost" not in actions
    db.dispose()


def _jobs(db: Database) -> list[tuple[str, str]]:
    with db.read() as s:
        return [(j.kind, j.kiosk_id) for j in s.scalars(select(PrintJob).order_by(PrintJob.id))]


def _job(kind: str) -> dict[str, object]:
    return {"printer": "printer", "kiosk_id": "k1", "kind": kind, "document": {"lines": []},
            "state": "queued", "reason": "", "attempts": 0, "reprint_of": None,
            "created_at": T0, "updated_at": T0, "next_attempt_at": T0}  # fmt: skip


def test_rows_written_with_the_chain_land_with_the_events_or_alone(db_url: str) -> None:
    """A row nothing reads back rides with the transaction's events; without events it is
    still written at the commit, and a rolled-back transaction takes it with the rest."""
    db = Database(db_url)
    jobs = cast(Table, PrintJob.__table__)
    with db.write() as s:
        audit.record(s, actor="system", action="test.with", at=T0)
        audit.write_with_chain(s, jobs, _job("with-event"))
        audit.write_with_chain(s, jobs, _job("second") | {"kiosk_id": "k2"})
        assert _jobs(db) == []  # not before the commit
    with db.write() as s:
        audit.write_with_chain(s, jobs, _job("alone"))
    try:
        with db.write() as s:
            audit.record(s, actor="system", action="test.lost", at=T0)
            audit.write_with_chain(s, jobs, _job("lost"))
            raise RuntimeError("the change failed")
    except RuntimeError:
        pass
    assert _jobs(db) == [("with-event", "k1"), ("second", "k2"), ("alone", "k1")]
    with db.read() as s:
        assert audit.verify(s).events == 1
    db.dispose()


def test_a_row_written_with_the_chain_must_name_every_column(db_url: str) -> None:
    db = Database(db_url)
    values = _job("short")
    del values["reason"]
    with db.write() as s, pytest.raises(ValueError, match="print_job takes exactly"):
        audit.write_with_chain(s, cast(Table, PrintJob.__table__), values)
    db.dispose()


# -- keyed chain and checkpoints: someone with write access to the database, not the key ------


def _keyed(db_url: str, tmp_path: Path, every: int = 100) -> tuple[Database, audit.AuditKey]:
    key = audit.create_key(tmp_path / "keys" / "audit.key", checkpoint_every=every)
    return Database(db_url, audit_key=key), key


def _anchor(db: Database, key: audit.AuditKey) -> audit.VerifyResult:
    with db.read() as s:
        return audit.anchor(s, key, T0, "test-kiosk")


def _verify(db: Database) -> audit.VerifyResult:
    with db.read() as s:
        return audit.verify(s)


def _rehash_from(attacker: Database, start: int, key: audit.AuditKey | None) -> None:
    """Re-link and re-hash events ``start``.. as the attacker can: unkeyed, or a guessed key."""
    with attacker.write() as s:
        prev = s.scalar(select(AuditEvent.hash).where(AuditEvent.seq == start - 1))
        prev = prev or audit.GENESIS
        for ev in s.scalars(select(AuditEvent).where(AuditEvent.seq >= start).order_by("seq")):
            ev.prev_hash = prev
            ev.hash = prev = audit.event_hash(
                prev, ev.seq, ev.at, ev.actor, ev.action, ev.subject, ev.data, ev.kiosk_id, key
            )


def _forge_next(attacker: Database, key: audit.AuditKey | None) -> int:
    """Append one event linked to the head, hashed unkeyed or with a guessed key."""
    with attacker.write() as s:
        seq, prev = s.execute(
            select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
        ).one()
        at = T0 + dt.timedelta(hours=1)
        fields = ("staff:1", "card.issued", "card:999", "{}", "kiosk-1")
        s.add(
            AuditEvent(
                seq=seq + 1,
                at=at,
                actor=fields[0],
                action=fields[1],
                subject=fields[2],
                data=fields[3],
                kiosk_id=fields[4],
                prev_hash=prev,
                hash=audit.event_hash(prev, seq + 1, at, *fields, key),
            )
        )
    return int(seq + 1)


def test_an_untouched_keyed_chain_verifies_against_its_checkpoint(
    db_url: str, tmp_path: Path
) -> None:
    db, key = _keyed(db_url, tmp_path)
    _fill(db, 5)
    assert _anchor(db, key).ok
    _fill(db, 3)
    result = _verify(db)
    assert (result.ok, result.kind, result.events) == (True, "", 8)
    assert result.keyed and result.legacy == 0 and result.checkpoint == 5
    with db.read() as s:
        first = s.scalars(select(AuditEvent).where(AuditEvent.seq == 1)).one()
    # The stored link is the keyed one, not plain SHA-256.
    assert first.hash == audit.event_hash(
        first.prev_hash, 1, first.at, first.actor, first.action, first.subject, first.data,
        first.kiosk_id, key,
    )  # fmt: skip
    assert first.hash != audit.event_hash(
        first.prev_hash, 1, first.at, first.actor, first.action, first.subject, first.data,
        first.kiosk_id,
    )  # fmt: skip
    db.dispose()


def test_the_key_file_is_owner_only_and_never_overwritten(tmp_path: Path) -> None:
    key = audit.create_key(tmp_path / "audit.key")
    assert stat.S_IMODE(key.path.stat().st_mode) == 0o600
    assert audit.load_key(key.path).secret == key.secret  # type: ignore[union-attr]
    with pytest.raises(FileExistsError):
        audit.create_key(key.path)
    assert audit.load_key(tmp_path / "absent.key") is None
    (tmp_path / "bad.key").write_text("not a key\n")
    with pytest.raises(audit.AuditKeyError, match="not a key"):
        audit.load_key(tmp_path / "bad.key")


def test_truncating_the_tail_is_detected(db_url: str, tmp_path: Path) -> None:
    db, key = _keyed(db_url, tmp_path)
    _fill(db, 6)
    _anchor(db, key)
    attacker = Database(db_url)
    with attacker.write() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq >= 4))
    result = _verify(db)
    assert not result.ok and result.kind == "truncated" and result.broken_seq == 4
    assert "holds 3 events" in result.reason and "recorded 6" in result.reason
    assert "events 4-6 were deleted" in result.reason
    attacker.dispose()
    db.dispose()


def test_deleting_every_event_is_detected(db_url: str, tmp_path: Path) -> None:
    db, key = _keyed(db_url, tmp_path)
    _fill(db, 4)
    _anchor(db, key)
    attacker = Database(db_url)
    with attacker.write() as s:
        s.execute(delete(AuditEvent))
    result = _verify(db)
    assert not result.ok and result.kind == "truncated" and result.events == 0
    assert "every event was deleted" in result.reason
    attacker.dispose()
    db.dispose()


@pytest.mark.parametrize("attacker_key", ["unkeyed", "guessed"])
def test_a_rewritten_and_rehashed_chain_is_detected(
    db_url: str, tmp_path: Path, attacker_key: str
) -> None:
    db, key = _keyed(db_url, tmp_path)
    _fill(db, 5)
    _anchor(db, key)
    _fill(db, 2)
    guess = audit.AuditKey(b"\x00" * 32, tmp_path / "guess.key")
    attacker = Database(db_url)
    with attacker.write() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="someone-else"))
    # The whole chain re-hashed, as the old unkeyed scheme allowed (and its verify passed).
    _rehash_from(attacker, 1, None if attacker_key == "unkeyed" else guess)
    with attacker.read() as s:
        assert audit.verify(s, key=None).ok is (attacker_key == "unkeyed")
    result = _verify(db)
    assert not result.ok and result.broken_seq == 1 and result.events == 0
    if attacker_key == "unkeyed":
        assert result.kind == "unkeyed" and "without the audit key" in result.reason
    else:
        assert result.kind == "altered" and "does not verify with the audit key" in result.reason
    attacker.dispose()
    db.dispose()


@pytest.mark.parametrize("attacker_key", ["unkeyed", "guessed"])
def test_an_appended_forged_event_is_detected(
    db_url: str, tmp_path: Path, attacker_key: str
) -> None:
    db, key = _keyed(db_url, tmp_path)
    _fill(db, 3)
    _anchor(db, key)
    attacker = Database(db_url)
    guess = audit.AuditKey(b"kiosk-audit-key!" * 2, tmp_path / "guess.key")
    seq = _forge_next(attacker, None if attacker_key == "unkeyed" else guess)
    result = _verify(db)
    assert not result.ok and result.broken_seq == seq == 4 and result.events == 3
    assert result.kind == ("unkeyed" if attacker_key == "unkeyed" else "altered")
    attacker.dispose()
    db.dispose()


def test_a_deleted_checkpoint_file_means_not_anchored(db_url: str, tmp_path: Path) -> None:
    db, key = _keyed(db_url, tmp_path)
    _fill(db, 3)
    _anchor(db, key)
    key.checkpoints.unlink()
    result = _verify(db)
    assert not result.ok and result.kind == "no-checkpoint" and result.events == 3
    assert "no checkpoint" in result.reason and str(key.checkpoints) in result.reason
    # Periodic checkpoints never recreate the file: it stays missing until an operator anchors.
    _fill(db, 1)
    assert not key.checkpoints.exists()
    db.dispose()


def test_a_forged_checkpoint_line_is_refused(db_url: str, tmp_path: Path) -> None:
    db, key = _keyed(db_url, tmp_path)
    _fill(db, 2)
    _anchor(db, key)
    line = json.loads(key.checkpoints.read_text().splitlines()[0])
    line["count"] = 1
    with key.checkpoints.open("a") as f:
        f.write(json.dumps(line) + "\n")
    result = _verify(db)
    assert not result.ok and result.kind == "bad-checkpoint"
    assert "line 2" in result.reason and "not signed with the audit key" in result.reason
    db.dispose()


def test_checkpoints_are_written_every_n_events_after_commit(db_url: str, tmp_path: Path) -> None:
    db, key = _keyed(db_url, tmp_path, every=3)
    _anchor(db, key)  # count 0: a fresh estate after kiosk init
    _fill(db, 7)
    try:
        with db.write() as s:
            for _ in range(5):
                audit.record(s, actor="system", action="test.lost", at=T0)
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    with db.read() as s:
        checkpoints = audit.read_checkpoints(key)
        heads = {seq: h for seq, h in s.execute(select(AuditEvent.seq, AuditEvent.hash))}
    assert checkpoints is not None
    assert [c.count for c in checkpoints] == [0, 3, 6]  # none for the rolled-back events
    assert all(c.head == heads[c.count] for c in checkpoints if c.count)
    assert stat.S_IMODE(key.checkpoints.stat().st_mode) == 0o600
    db.dispose()


def test_a_truncation_followed_by_new_events_does_not_launder_the_checkpoint(
    db_url: str, tmp_path: Path
) -> None:
    db, key = _keyed(db_url, tmp_path, every=3)
    _anchor(db, key)
    _fill(db, 6)  # checkpoints at 3 and 6
    attacker = Database(db_url)
    with attacker.write() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq >= 5))
    _fill(db, 2)  # the kiosk carries on: new events 5 and 6, and a new checkpoint at 6
    result = _verify(db)
    assert not result.ok and result.kind == "rewritten" and result.broken_seq == 6
    assert "differs from the checkpoint" in result.reason
    attacker.dispose()
    db.dispose()


def test_a_chain_from_before_the_key_stays_verifiable_and_its_prefix_anchored(
    db_url: str, tmp_path: Path
) -> None:
    legacy_db = Database(db_url)
    _fill(legacy_db, 4)  # written by the kiosk before the upgrade: plain SHA-256
    db, key = _keyed(db_url, tmp_path)
    anchored = _anchor(db, key)
    assert anchored.ok and anchored.legacy == 4 and anchored.checkpoint == 4
    _fill(db, 2)
    result = _verify(db)
    assert result.ok and result.legacy == 4 and result.events == 6
    # A kiosk still without the key appends an unkeyed event: flagged, not accepted as legacy.
    _fill(legacy_db, 1)
    late = _verify(db)
    assert not late.ok and late.kind == "unkeyed" and late.broken_seq == 7
    with legacy_db.write() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 7))
    # Rewriting the legacy prefix (legal-looking SHA-256 links) changes the anchored head.
    with legacy_db.write() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq >= 5))
        s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="someone-else"))
    _rehash_from(legacy_db, 2, None)
    rewritten = _verify(db)
    assert not rewritten.ok and rewritten.kind == "rewritten" and rewritten.broken_seq == 4
    legacy_db.dispose()
    db.dispose()


def _kiosk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", "from kiosk.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


def test_the_command_line_makes_the_key_checkpoints_and_names_each_attack(
    db_url: str, tmp_path: Path
) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[audit]\nkey_file = "keys/audit.key"\n', "utf-8")
    env = {"KIOSK_DATABASE_URL": db_url}
    init = _kiosk("init", "-c", str(cfg), env=env)
    assert init.returncode == 0, init.stderr
    key_path = tmp_path / "keys" / "audit.key"
    assert f"audit key created: {key_path}" in init.stdout
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert "audit checkpoint: 0 events" in init.stdout
    key = audit.load_key(key_path)
    assert key is not None
    db = Database(db_url, audit_key=key)
    _fill(db, 3)
    db.dispose()

    cp = _kiosk("audit", "checkpoint", "-c", str(cfg), env=env)
    assert cp.returncode == 0 and "audit checkpoint: 3 events" in cp.stdout, cp.stderr
    ok = _kiosk("audit", "verify", "-c", str(cfg), env=env)
    assert ok.returncode == 0
    assert ok.stdout.strip() == "audit chain intact: 3 events (keyed, checkpoint at 3)"

    attacker = Database(db_url)
    with attacker.write() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 3))
    attacker.dispose()
    cut = _kiosk("audit", "verify", "-c", str(cfg), env=env)
    assert cut.returncode == 1 and cut.stdout.count("\n") == 1
    assert cut.stdout.startswith("audit chain BROKEN at event 3: the log holds 2 events")
    assert "the tail was truncated" in cut.stdout
    refused = _kiosk("audit", "checkpoint", "-c", str(cfg), env=env)
    assert refused.returncode == 1 and "not checkpointed" in refused.stderr
    assert len(key.checkpoints.read_text().splitlines()) == 2  # nothing appended

    other = audit.create_key(tmp_path / "other.key")
    wrong = _kiosk("audit", "verify", env={**env, "KIOSK_AUDIT_KEY_FILE": str(other.path)})
    assert wrong.returncode == 1
    assert "BROKEN at event 1: event does not verify with the audit key" in wrong.stdout

    key.checkpoints.unlink()
    lost = _kiosk("audit", "verify", "-c", str(cfg), env=env)
    assert lost.returncode == 1 and lost.stdout.startswith(
        "audit chain NOT ANCHORED: no checkpoint"
    )


def test_the_write_path_costs_one_hmac_per_event(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, key = _keyed(db_url, tmp_path, every=1000)
    calls: list[int] = []
    real_mac = audit.AuditKey.mac

    def counting_mac(self: audit.AuditKey, body: bytes) -> str:
        calls.append(len(body))
        return real_mac(self, body)

    monkeypatch.setattr(audit.AuditKey, "mac", counting_mac)
    _fill(db, 4)
    with db.write() as s:
        for i in range(3):
            audit.record(s, actor="system", action="test.batch", data={"i": i}, at=T0)
    assert len(calls) == 7
    db.dispose()


def test_the_key_file_comes_from_config_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kiosk.config import load_settings

    monkeypatch.delenv("KIOSK_AUDIT_KEY_FILE", raising=False)
    monkeypatch.delenv("KIOSK_DATABASE_URL", raising=False)
    cfg = tmp_path / "etc" / "kiosk.toml"
    cfg.parent.mkdir()
    cfg.write_text(
        '[database]\nurl = "postgresql+psycopg://kiosk@db/kiosk"\n'
        '[audit]\nkey_file = "../keys/audit.key"\ncheckpoint_every = 50\n',
        "utf-8",
    )
    settings = load_settings(cfg)
    assert settings.audit.key_file == str(tmp_path / "keys" / "audit.key")
    assert settings.audit.checkpoint_every == 50
    monkeypatch.setenv("KIOSK_AUDIT_KEY_FILE", str(tmp_path / "elsewhere.key"))
    assert load_settings(cfg).audit.key_file == str(tmp_path / "elsewhere.key")
    monkeypatch.delenv("KIOSK_AUDIT_KEY_FILE")
    cfg.write_text('[database]\nurl = "sqlite:///../var/kiosk.db"\n', "utf-8")
    assert load_settings(cfg).audit.key_file == str(tmp_path / "var" / "audit.key")
