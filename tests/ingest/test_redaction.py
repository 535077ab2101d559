"""The minimal raw store: content redacted before storing, facts and rebuilds unchanged."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threadlift.cli import main
from threadlift.ingest import ingest_files, rebuild
from threadlift.ingest.redaction import KEPT_FIELDS, REDACTED_PATHS, redact
from threadlift.workspace import CANONICAL_TABLES, Workspace
from webhooks import meta_body, meta_echo, whatsapp_body

FIXTURES = Path(__file__).parents[1] / "fixtures" / "webhooks"
DOCS = Path(__file__).parents[2] / "docs" / "privacy.md"

SECRETS = ("Maria Lopes", "my card is 4111", "photo of my passport", "Rua Augusta 10", "😡")


def _by_platform() -> dict[str, list[Path]]:
    files = sorted(p for p in FIXTURES.rglob("*") if p.suffix in {".json", ".jsonl", ".csv"})
    groups: dict[str, list[Path]] = {}
    for path in files:
        name = path.name
        platform = ("messenger" if name.startswith(("fb_", "messenger")) else
                    "instagram" if name.startswith("ig_") else
                    "apple" if name.startswith("apple") else
                    "sms" if path.suffix == ".csv" else "whatsapp")
        groups.setdefault(platform, []).append(path)
    return groups


def _tables(ws: Workspace) -> dict[str, list[tuple[object, ...]]]:
    """Every canonical table's rows, sorted (quarantine without the time it was written)."""
    tables = {}
    for table in CANONICAL_TABLES:
        columns = "* EXCLUDE (ingested_at)" if table == "quarantine" else "*"
        rows = ws.con.execute(f'SELECT {columns} FROM "{table}"').fetchall()
        tables[table] = sorted(rows, key=lambda row: [str(v) for v in row])
    return tables


def _content_stream(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Bodies full of content on each platform, as JSON lines (and a CSV for SMS)."""
    wa = tmp_path / "wa.jsonl"
    wa.write_text("\n".join(json.dumps(b) for b in [
        whatsapp_body({"contacts": [{"profile": {"name": "Maria Lopes"}, "wa_id": "5511987654321"}],
                       "messages": [{"from": "5511987654321", "id": "wamid.A", "timestamp": "1762160400",
                                     "type": "text", "text": {"body": "my card is 4111"}},
                                    {"from": "5511987654321", "id": "wamid.B", "timestamp": "1762160460",
                                     "type": "image", "image": {"caption": "photo of my passport",
                                                                "id": "media-1", "mime_type": "image/jpeg"}},
                                    {"from": "5511987654321", "id": "wamid.C", "timestamp": "1762160520",
                                     "type": "location", "location": {"latitude": -23.5, "longitude": -46.6,
                                                                      "address": "Rua Augusta 10"}},
                                    {"from": "5511987654321", "id": "wamid.D", "timestamp": "1762160580",
                                     "type": "reaction", "reaction": {"message_id": "wamid.X", "emoji": "😡"},
                                     "context": {"from": "15550783881", "id": "wamid.X"}}]}),
        whatsapp_body({"statuses": [{"id": "wamid.X", "status": "read", "timestamp": "1762160300",
                                     "recipient_id": "5511987654321"}]}),
    ]) + "\n", encoding="utf-8")
    messenger = tmp_path / "messenger.jsonl"
    messenger.write_text(json.dumps(meta_body([
        meta_echo("m1", 1762160000000, user="2222"),
        {"sender": {"id": "2222"}, "recipient": {"id": "1111"}, "timestamp": 1762160100000,
         "message": {"mid": "m2", "text": "my card is 4111",
                     "attachments": [{"type": "image", "payload": {"url": "https://x/passport.jpg",
                                                                   "title": "photo of my passport"}}]}},
    ])) + "\n", encoding="utf-8")
    sms = tmp_path / "sms.csv"
    sms.write_text("message_id,event,ts,to,sender_id,body,customer_name\n"
                   "s1,send,2026-11-03T09:00:00Z,+5511987654321,BRAND,my card is 4111,Maria Lopes\n",
                   encoding="utf-8")
    return wa, messenger, sms


def test_content_is_redacted_after_hashing_and_retries_are_still_duplicates(
    workspace: Workspace, tmp_path: Path
) -> None:
    wa, messenger, sms = _content_stream(tmp_path)
    ingest_files(workspace, "whatsapp", [wa])
    ingest_files(workspace, "messenger", [messenger])
    ingest_files(workspace, "sms", [sms])
    bodies = [str(b) for (b,) in workspace.con.execute("SELECT body FROM raw_bodies").fetchall()]
    assert len(bodies) == 4
    for secret in SECRETS:
        assert not any(secret in body for body in bodies), secret
    # the facts are all there
    assert workspace.con.execute("SELECT message_id, type FROM inbound ORDER BY 1").fetchall() == [
        ("m2", "image"), ("wamid.A", "text"), ("wamid.B", "image"), ("wamid.C", "location"),
        ("wamid.D", "reaction")]
    # the hash is that of the body as received, so a retry is recognised
    first_line = wa.read_text(encoding="utf-8").splitlines()[0]
    expected = int.from_bytes(hashlib.md5(first_line.encode()).digest(), "little")
    assert workspace.con.execute(
        "SELECT count(*) FROM raw_bodies WHERE body_hash = $h", {"h": expected}).fetchall() == [(1,)]
    again = ingest_files(workspace, "whatsapp", [wa])
    assert (again.bodies, again.duplicates) == (0, 2)
    # an SMS row keeps only the columns a fact reads
    (row,) = workspace.con.execute("SELECT body FROM raw_bodies WHERE platform = 'sms'").fetchall()
    assert set(json.loads(row[0])) <= set(KEPT_FIELDS["sms"])


def test_keep_content_stores_bodies_as_received(tmp_path: Path) -> None:
    wa, _, _ = _content_stream(tmp_path)
    ws = tmp_path / "ws.duckdb"
    done = CliRunner().invoke(main, ["ingest", "--platform", "whatsapp", "--keep-content", str(wa),
                                     "-w", str(ws)])
    assert done.exit_code == 0, done.output
    with Workspace.open(ws, read_only=True) as w:
        stored = {str(b) for (b,) in w.con.execute("SELECT body FROM raw_bodies").fetchall()}
    assert stored == set(wa.read_text(encoding="utf-8").splitlines())


def test_the_redacted_store_rebuilds_every_canonical_table(tmp_path: Path) -> None:
    """Ingest every fixture with and without content; the facts are the same, and a rebuild
    from the redacted store reproduces every canonical table."""
    wa, messenger, sms = _content_stream(tmp_path)
    groups = _by_platform()
    groups["whatsapp"].append(wa)
    groups["messenger"].append(messenger)
    groups["sms"].append(sms)
    with Workspace.create(tmp_path / "redacted.duckdb") as redacted, \
            Workspace.create(tmp_path / "kept.duckdb") as kept:
        for platform, paths in groups.items():
            ingest_files(redacted, platform, paths)
            ingest_files(kept, platform, paths, keep_content=True)
        # the same bodies (by the hash of the body as received), many of them redacted
        stored = {name: dict(w.con.execute("SELECT body_hash, body FROM raw_bodies").fetchall())
                  for name, w in (("redacted", redacted), ("kept", kept))}
        assert stored["redacted"].keys() == stored["kept"].keys()
        assert sum(stored["redacted"][h] != body for h, body in stored["kept"].items()) > 20
        before = _tables(redacted)
        facts = {t: rows for t, rows in _tables(kept).items() if t != "quarantine"}
        assert {t: rows for t, rows in before.items() if t != "quarantine"} == facts
        assert sum(len(rows) for rows in facts.values()) > 80
        rebuild(redacted)
        assert _tables(redacted) == before


def test_docs_list_every_redacted_path_and_kept_field() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for platform, paths in REDACTED_PATHS.items():
        for path in paths:
            assert f"`{path}`" in text, (platform, path)
    for platform, fields in KEPT_FIELDS.items():
        for field in fields:
            assert f"`{field}`" in text, (platform, field)


def test_a_body_too_deep_to_redact_is_quarantined_not_stored(workspace: Workspace, tmp_path: Path) -> None:
    deep = whatsapp_body({"messages": [{"from": "5511987654321", "id": "wamid.Z", "timestamp": "1762160400",
                                        "type": "text", "text": "DEEP"}]})
    line = json.dumps(deep).replace('"DEEP"', "[" * 3000 + "]" * 3000)
    path = tmp_path / "deep.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    result = ingest_files(workspace, "whatsapp", [path])
    assert (result.bodies, result.quarantined) == (0, 1)
    assert workspace.con.execute("SELECT count(*) FROM raw_bodies").fetchall() == [(0,)]
    ((location, reason),) = workspace.con.execute("SELECT location, reason FROM quarantine").fetchall()
    assert location == "line 1"
    assert reason.startswith("nested too deeply to redact its content")


_STATUS = {"id": "wamid.R1", "status": "sent", "timestamp": "1750000000",
           "recipient_id": "16505550100"}
_BESIDE_A_STATUS = {
    "message_echoes": [{"from": "15550783881", "to": "16505550100", "id": "wamid.E1",
                        "timestamp": "1750000001", "type": "text",
                        "text": {"body": "my card is 4111"}}],
    "contacts": [{"profile": {"name": "Maria Lopes"}, "wa_id": "16505550100"}],
    "messages": [{"from": "16505550100", "id": "wamid.I1", "timestamp": "1750000002",
                  "type": "text", "text": {"body": "Rua Augusta 10"}}],
}


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(beside=st.lists(st.sampled_from(sorted(_BESIDE_A_STATUS)), unique=True, max_size=2),
       statuses=st.integers(1, 2))
def test_status_only_bodies_skip_redaction_because_they_hold_nothing_to_redact(
    tmp_path_factory: pytest.TempPathFactory, beside: list[str], statuses: int
) -> None:
    """Status-only bodies (parsed while staging, mapped by the status-only path) are not
    handed to the redaction: whatever a status body carries beside its statuses, the
    stored body is what redact() makes of it, so skipping them loses nothing."""
    root = tmp_path_factory.mktemp("status-redaction")
    value: dict[str, object] = {"statuses": [_STATUS] * statuses,
                                **{k: _BESIDE_A_STATUS[k] for k in beside}}
    body = whatsapp_body(value)
    path = root / "bodies.jsonl"
    path.write_text(json.dumps(body) + "\n")
    with Workspace.create(root / "ws.duckdb") as ws:
        ingest_files(ws, "whatsapp", [path])
        stored = [json.loads(b) for (b,) in ws.con.execute("SELECT body FROM raw_bodies").fetchall()]
    assert stored == [redact("whatsapp", body)]
    assert not any(secret in json.dumps(stored, ensure_ascii=False) for secret in SECRETS)
