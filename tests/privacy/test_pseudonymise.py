"""Pseudonymous identities: a workspace created with a key stores no address in clear."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
from datetime import datetime
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from click.testing import CliRunner

from experiments import CONVERSION, two_arm_toml
from threadlift.api.exposures import Exposure, ExposureLog
from threadlift.api.settings import ApiSettings
from threadlift.api.snapshot import build_snapshot
from threadlift.cli import main
from threadlift.errors import WorkspaceError
from threadlift.ingest import ingest_files, rebuild
from threadlift.loading import load_files
from threadlift.privacy.pseudonyms import (
    CHECK_LABEL,
    ENV_KEY,
    ENV_KEY_FILE,
    FLAT_FIELDS,
    WHATSAPP_FIELDS,
    Pseudonymiser,
    enable,
)
from threadlift.workspace import CANONICAL_TABLES, Workspace
from webhooks import meta_body, meta_echo, meta_receipt, whatsapp_body

KEY_HEX = "0f" * 16 + "a5" * 16
KEY = bytes.fromhex(KEY_HEX)

US = [f"1650555{1000 + i}" for i in range(12)]
"""People reached on WhatsApp (international digits, as wa_id carries them)."""
DE = "4915112345678"
SMS_TO = "+44 7700 900123"
EMAIL = "Ann.Example@Shop.TEST"
PSID = "7340001112223334"
APPLE_USER = "urn:mbid:AQAAY1Example"
BSUID = "US.13491208655302741918"


def _mac(text: str) -> str:
    """HMAC-SHA256 written here, not taken from threadlift."""
    return hmac.new(KEY, text.encode(), hashlib.sha256).hexdigest()


def _region(e164: str) -> str:
    number = phonenumbers.parse(e164, None)
    return phonenumbers.region_code_for_country_code(number.country_code)


def _clear_forms() -> list[str]:
    """Every loaded or ingested phone number in the forms it could leak in."""
    forms = []
    for digits in [*US, DE, "447700900123"]:
        national = str(phonenumbers.parse("+" + digits, None).national_number)
        forms += [digits, "+" + digits, national]
    return [*forms, SMS_TO, EMAIL, EMAIL.lower(), PSID, APPLE_USER, BSUID.split(".")[1]]


@pytest.fixture
def no_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_KEY, raising=False)
    monkeypatch.delenv(ENV_KEY_FILE, raising=False)


def test_tokens_are_the_hmac_of_the_normalised_address() -> None:
    p = Pseudonymiser(KEY)
    assert p.phone("+1 650-555-1000") == f"tl~US~{_mac('+16505551000')}"
    assert p.phone("16505551000") == p.phone("+1 (650) 555 1000")
    assert p.phone(DE) == f"tl~DE~{_mac('+' + DE)}"
    assert p.phone("+80012345678") == f"tl~~{_mac('+80012345678')}"  # non-geographic
    assert p.phone("12") == f"tl~!~{_mac('12')}"  # not a possible number: no identity
    assert p.email(f"  {EMAIL} ") == f"tl~~{_mac(EMAIL.lower())}"
    assert p.opaque(BSUID) == f"US.tl~~{_mac(BSUID)}"
    assert p.opaque(PSID) == f"tl~~{_mac(PSID)}"
    # a token given again stays itself: no double hashing
    for token in (p.phone(DE), p.email(EMAIL), p.opaque(BSUID)):
        assert p.phone(token) == p.email(token) == p.opaque(token) == p.address(token) == token
    assert Pseudonymiser(b"\x01" * 32).phone(DE) != p.phone(DE)


def _unix(hour: int) -> str:
    return str(1_790_000_000 + hour * 3600)


def _write_stream(tmp: Path) -> dict[str, Path]:
    """Bodies of every platform, each naming people by their addresses."""
    wa = []
    for i, digits in enumerate(US):
        for n, status in enumerate(("sent", "delivered", "read")):
            wa.append(whatsapp_body({"statuses": [{
                "id": f"wamid.out.{i}", "status": status, "timestamp": _unix(i + n),
                "recipient_id": digits,
                "pricing": {"billable": True, "category": "marketing"}}]}))
    wa.append(whatsapp_body({
        "contacts": [{"profile": {"name": "Person DE"}, "wa_id": DE, "user_id": BSUID}],
        "messages": [{"from": DE, "from_user_id": BSUID, "id": "wamid.in.de", "timestamp": _unix(30),
                      "type": "text", "text": {"body": "hello"}}]}))
    files = {"whatsapp": tmp / "wa.jsonl", "messenger": tmp / "fb.jsonl", "apple": tmp / "apple.jsonl",
             "sms": tmp / "sms.csv", "email": tmp / "email.csv"}
    lines = [json.dumps(b) for b in wa]
    # the same number with JSON escapes: the SQL rewrite of status-only bodies cannot see it,
    # the Python path must
    escaped = f'"recipient_id": "\\u0031\\u0036{US[-1][2:]}"'
    lines[-2] = lines[-2].replace(f'"recipient_id": "{US[-1]}"', escaped)
    assert escaped in lines[-2]
    # and as a JSON number, which the mappers read as its digits
    lines[-3] = lines[-3].replace(f'"recipient_id": "{US[-1]}"', f'"recipient_id": {US[-1]}')
    assert f'"recipient_id": {US[-1]}' in lines[-3]
    files["whatsapp"].write_text("".join(line + "\n" for line in lines))
    fb = [meta_body([meta_echo("m.1", 1_790_000_000_000, user=PSID)]),
          meta_body([meta_receipt("delivery", 1_790_000_100_000, user=PSID, mids=["m.1"])])]
    files["messenger"].write_text("".join(json.dumps(b) + "\n" for b in fb))
    apple = [
        {"direction": "outbound", "id": "a.1", "source_id": "biz-1", "destination_id": APPLE_USER,
         "timestamp": "2026-09-21T10:00:00Z", "type": "text", "status": "submitted"},
        {"direction": "inbound", "id": "a.2", "source_id": APPLE_USER, "destination_id": "biz-1",
         "timestamp": "2026-09-21T11:00:00Z", "type": "text"},
    ]
    files["apple"].write_text("".join(json.dumps(b) + "\n" for b in apple))
    files["sms"].write_text(
        "message_id,event,ts,to,sender_id\n"
        f"s.1,send,2026-09-21T10:00:00Z,{SMS_TO},shop\ns.1,delivered,2026-09-21T10:01:00Z,,shop\n"
        "s.2,send,2026-09-21T10:02:00Z,,shop\n"  # quarantined: a send without an address
    )
    files["email"].write_text(
        f"message_id,event,ts,to,sender_id\ne.1,send,2026-09-21T10:00:00Z,{EMAIL},shop\n"
    )
    return files


def _ingest_all(ws: Workspace, files: dict[str, Path], key_file: Path | None = None) -> None:
    for platform, path in files.items():
        ingest_files(ws, platform, [path], key_file=key_file)


def _rows(ws: Workspace, table: str) -> list[tuple[Any, ...]]:
    # a rebuild quarantines again, at its own time
    columns = "* EXCLUDE (ingested_at)" if table == "quarantine" else "*"
    return sorted(ws.con.execute(f'SELECT {columns} FROM "{table}"').fetchall(), key=repr)


def _text_values(ws: Workspace) -> list[str]:
    """Every value of every VARCHAR column of every table in the workspace."""
    columns = ws.con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE data_type = 'VARCHAR' AND table_schema = 'main'"
    ).fetchall()
    values: list[str] = []
    for table, column in columns:
        values += [str(v) for (v,) in ws.con.execute(
            f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL').fetchall()]
    return values


def _assert_no_clear(values: list[str], files: list[Path]) -> None:
    forms = _clear_forms()
    leaks = sorted({f for f in forms for v in values if f in v})
    assert leaks == []
    for path in files:
        data = path.read_bytes()
        assert [f for f in forms if f.encode() in data] == [], path


def _expected_token(address: str) -> str:
    """The token of a plain workspace's address, by the rule in docs/privacy.md."""
    if address.startswith("+"):
        return f"tl~{_region(address)}~{_mac(address)}"
    if "@" in address:
        return f"tl~~{_mac(address.lower())}"
    if address == BSUID:
        return f"US.tl~~{_mac(address)}"
    return f"tl~~{_mac(address)}"


def _translated(rows: list[tuple[Any, ...]], addresses: list[str]) -> list[tuple[Any, ...]]:
    """``rows`` of a plain workspace with every address (alone or inside a contact id)
    replaced by its token."""
    def swap(value: object) -> object:
        if not isinstance(value, str):
            return value
        for address in sorted(addresses, key=len, reverse=True):
            if value == address or value.endswith(":" + address):
                return value[: len(value) - len(address)] + _expected_token(address)
        return value

    return sorted((tuple(swap(v) for v in row) for row in rows), key=repr)


def test_ingest_stores_tokens_and_maps_as_a_plain_workspace(
    tmp_path: Path, no_key_env: None
) -> None:
    files = _write_stream(tmp_path)
    key_file = tmp_path / "ws.key"
    key_file.write_text(KEY_HEX + "\n")
    with Workspace.create(tmp_path / "plain.duckdb") as plain:
        _ingest_all(plain, files)
        addresses = [a for (a,) in plain.con.execute("SELECT address FROM identities").fetchall()]
        assert len(addresses) == len(US) + 6
        expected = {t: _translated(_rows(plain, t), addresses)
                    for t in (*CANONICAL_TABLES, "read_watermarks")}
        plain_quarantine = plain.con.execute("SELECT count(*) FROM quarantine").fetchall()
    path = tmp_path / "pseudo.duckdb"
    with Workspace.create(path) as ws:
        enable(ws.con, KEY, key_file)
        _ingest_all(ws, files, key_file)
        for table in ("contacts", "identities", "messages", "message_events", "inbound",
                      "consents", "read_watermarks"):
            assert _rows(ws, table) == expected[table], table
        assert ws.con.execute("SELECT count(*) FROM quarantine").fetchall() == plain_quarantine
        identities = {a for (a,) in ws.con.execute("SELECT address FROM identities").fetchall()}
        assert f"tl~US~{_mac('+' + US[0])}" in identities
        assert f"US.tl~~{_mac(BSUID)}" in identities
        assert ws.con.execute(
            "SELECT DISTINCT market FROM contacts WHERE contact_id LIKE 'whatsapp:%' ORDER BY 1"
        ).fetchall() == [("DE",), ("US",)]
        _assert_no_clear(_text_values(ws), [])
        assert not [v for v in _text_values(ws) if "\\u0031" in v or US[-1][2:] in v]
        before = {t: _rows(ws, t) for t in (*CANONICAL_TABLES, "read_watermarks")}
        rebuild(ws)  # the stored bodies carry tokens: the same rows, nothing hashed twice
        for table, rows in before.items():
            assert _rows(ws, table) == rows, table
        ws.con.execute("CHECKPOINT")
    _assert_no_clear([], [path])


def test_cli_world_api_state_and_forget_hold_no_number(
    tmp_path: Path, no_key_env: None
) -> None:
    """init --pseudonymise, ingest, assign, the API's snapshot and exposure log (the API
    receives contact ids, never addresses), then forget --address by the clear number."""
    files = _write_stream(tmp_path)
    ws, key_file = tmp_path / "ws.duckdb", tmp_path / "keys" / "ws.key"
    experiments = tmp_path / "experiments"
    experiments.mkdir()
    experiment = experiments / "spring.toml"
    experiment.write_text(two_arm_toml("spring", keys="[eligibility]\nrequire_consent = false\n",
                                       tables=CONVERSION, weights=(50, 50)), encoding="utf-8")
    runner = CliRunner()
    made = runner.invoke(main, ["init", "--pseudonymise", "--key-file", str(key_file), "-w", str(ws)])
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = bytes.fromhex(key_file.read_text().strip())
    assert len(key) == 32
    for platform, path in files.items():
        done = runner.invoke(main, ["ingest", "--platform", platform, str(path), "-w", str(ws)])
        assert done.exit_code == 0, done.output  # the key file recorded at init is found
    assert runner.invoke(main, ["assign", str(experiment), "-w", str(ws)]).exit_code == 0
    with Workspace.open(ws, read_only=True) as opened:
        contacts = [c for (c,) in opened.con.execute(
            "SELECT contact_id FROM assignments ORDER BY contact_id").fetchall()]
        gone = hmac.new(key, f"+{US[0]}".encode(), hashlib.sha256).hexdigest()
        assert f"whatsapp:tl~US~{gone}" in contacts
    state = tmp_path / "ws.duckdb.api"
    ExposureLog(state).record([
        Exposure(f"x-{i}", "spring", contact, None, datetime(2026, 11, 3, 9), "crm")
        for i, contact in enumerate(contacts)
    ])
    build_snapshot(ApiSettings(experiments_dir=experiments, workspace=ws, state_dir=state))
    state_files = [p for p in state.iterdir() if p.is_file()]
    assert state_files
    _assert_no_clear([], [ws, *state_files])

    erased = runner.invoke(main, ["forget", "--address", f"+{US[0]}", "-w", str(ws)])
    assert erased.exit_code == 0, erased.output
    assert "erased 1 contact(s)" in erased.output
    with Workspace.open(ws, read_only=True) as opened:
        left = _text_values(opened)
    assert not [v for v in left if gone in v]
    assert [v for v in left if _mac_with(key, f"+{US[1]}") in v]  # the others stay


def _mac_with(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def test_a_missing_or_wrong_key_is_refused_before_anything_is_written(
    tmp_path: Path, no_key_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _write_stream(tmp_path)
    ws, key_file, other = tmp_path / "ws.duckdb", tmp_path / "ws.key", tmp_path / "other.key"
    runner = CliRunner()
    keyless = runner.invoke(main, ["init", "--pseudonymise", "-w", str(ws)])
    assert keyless.exit_code == 2
    assert "needs a key kept outside the workspace" in keyless.output
    assert not ws.exists()
    assert runner.invoke(
        main, ["init", "--pseudonymise", "--key-file", str(key_file), "-w", str(ws)]
    ).exit_code == 0
    other.write_text(KEY_HEX + "\n")
    other.chmod(0o600)
    wrong = runner.invoke(main, ["ingest", "--platform", "whatsapp", str(files["whatsapp"]),
                                 "--key-file", str(other), "-w", str(ws)])
    assert wrong.exit_code == 2
    assert "is not this workspace's pseudonym key" in wrong.output
    assert str(key_file.resolve()) in wrong.output  # where the expected key was
    monkeypatch.setenv(ENV_KEY, KEY_HEX)
    wrong_env = runner.invoke(main, ["ingest", "--platform", "whatsapp", str(files["whatsapp"]),
                                     "-w", str(ws)])
    assert wrong_env.exit_code == 2
    assert "$THREADLIFT_KEY is not this workspace's pseudonym key" in wrong_env.output
    monkeypatch.delenv(ENV_KEY)
    key_file.rename(tmp_path / "moved.key")
    missing = runner.invoke(main, ["load", "identities", str(tmp_path / "ids.csv"), "-w", str(ws)])
    assert missing.exit_code == 2
    assert "needs its key, which was not found" in missing.output
    assert "--key-file" in missing.output
    assert ENV_KEY_FILE in missing.output
    with Workspace.open(ws, read_only=True) as opened:
        assert sum(opened.counts().values()) == 0
        assert opened.con.execute("SELECT count(*) FROM raw_bodies").fetchall() == [(0,)]
    monkeypatch.setenv(ENV_KEY_FILE, str(tmp_path / "moved.key"))
    found = runner.invoke(main, ["ingest", "--platform", "whatsapp", str(files["whatsapp"]),
                                 "-w", str(ws)])
    assert found.exit_code == 0, found.output
    kept = runner.invoke(main, ["ingest", "--platform", "whatsapp", str(files["whatsapp"]),
                                "--keep-content", "-w", str(ws)])
    assert kept.exit_code == 2
    assert "--keep-content" in kept.output
    plain = tmp_path / "plain.duckdb"
    assert runner.invoke(main, ["init", "-w", str(plain)]).exit_code == 0
    monkeypatch.delenv(ENV_KEY_FILE)
    stray = runner.invoke(main, ["ingest", "--platform", "whatsapp", str(files["whatsapp"]),
                                 "--key-file", str(other), "-w", str(plain)])
    assert stray.exit_code == 2
    assert "not pseudonymised" in stray.output
    late = runner.invoke(main, ["ingest", "--platform", "whatsapp", str(files["whatsapp"]),
                                "-w", str(plain)])
    assert late.exit_code == 0
    again = runner.invoke(main, ["init", "--pseudonymise", "--key-file", str(other), "-w", str(plain)])
    assert again.exit_code == 2
    assert "in clear" in again.output


def test_loaded_identities_and_their_quarantine_hold_tokens(
    tmp_path: Path, no_key_env: None
) -> None:
    ids = tmp_path / "ids.csv"
    ids.write_text(
        "contact_id,channel,address,sender_id,phone\n"
        f"c1,whatsapp,+{US[0]},s1,+{US[0]}\n"
        f"c2,whatsapp,{US[1]},s1,{US[1]}\n"  # digits only: the same E.164 token
        f",whatsapp,+{US[2]},s1,+{US[2]}\n"  # no contact id: quarantined
        f"c4,email,{EMAIL},,\n"
        "c5,whatsapp\n"  # a line that is not a row
    )
    with Workspace.create(tmp_path / "ws.duckdb") as ws:
        enable(ws.con, KEY, None)
        with pytest.raises(WorkspaceError, match="needs its key"):
            load_files(ws, "identities", [ids])
        key_file = tmp_path / "ws.key"
        key_file.write_text(KEY_HEX)
        result = load_files(ws, "identities", [ids], key_file=key_file)
        assert (result.inserted, result.quarantined) == (3, 2)
        assert sorted(ws.con.execute("SELECT contact_id, address FROM identities").fetchall()) == [
            ("c1", f"tl~US~{_mac('+' + US[0])}"), ("c2", f"tl~US~{_mac('+' + US[1])}"),
            ("c4", f"tl~~{_mac(EMAIL.lower())}"),
        ]
        quarantined = dict(ws.con.execute("SELECT location, raw FROM quarantine").fetchall())
        assert json.loads(quarantined["line 4"]) == {
            "contact_id": None, "channel": "whatsapp", "address": f"tl~US~{_mac('+' + US[2])}",
            "sender_id": "s1"}  # the ignored column "phone" is not kept
        assert quarantined["line 6"] is None
        _assert_no_clear(_text_values(ws), [])


def test_info_warns_about_a_key_file_others_can_read(tmp_path: Path, no_key_env: None) -> None:
    ws, key_file = tmp_path / "ws.duckdb", tmp_path / "ws.key"
    runner = CliRunner()
    assert runner.invoke(
        main, ["init", "--pseudonymise", "--key-file", str(key_file), "-w", str(ws)]
    ).exit_code == 0
    quiet = runner.invoke(main, ["info", "-w", str(ws)])
    assert quiet.exit_code == 0
    assert "Warning" not in quiet.output
    check = hmac.new(bytes.fromhex(key_file.read_text().strip()), CHECK_LABEL, hashlib.sha256)
    assert f"key check {check.hexdigest()[:12]}" in quiet.output
    key_file.chmod(0o644)
    warned = runner.invoke(main, ["info", "-w", str(ws)])
    assert f"Warning: {key_file.resolve()} is readable by others (mode 0644)" in warned.output
    assert "pseudonym key" in warned.output


def test_the_pseudonymised_demo_reports_the_plain_demos_numbers_and_holds_no_number(
    tmp_path: Path, no_key_env: None
) -> None:
    import pandas as pd

    from threadlift.datasets.demo import run_demo

    plain = run_demo(tmp_path / "plain", n_contacts=2_000, seed=4)
    pseudo = run_demo(tmp_path / "pseudo", n_contacts=2_000, seed=4, pseudonymise=True)
    key_file = tmp_path / "pseudo" / "demo.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    plain_report = json.loads((tmp_path / "plain" / "report" / "report.json").read_text())
    pseudo_report = json.loads((tmp_path / "pseudo" / "report" / "report.json").read_text())
    assert pseudo_report == plain_report  # every metric, guardrail, cost and check
    assert plain_report["metrics"]
    assert pseudo.estimate == plain.estimate

    numbers = pd.read_parquet(tmp_path / "pseudo" / "data" / "identities.parquet")["address"]
    assert len(numbers) == 2_000
    forms = {form for e164 in numbers for form in (e164, e164[1:])}
    key = bytes.fromhex(key_file.read_text().strip())
    with Workspace.open(pseudo.workspace, read_only=True) as ws:
        values = _text_values(ws)
        stored = {a for (a,) in ws.con.execute("SELECT address FROM identities").fetchall()}
        bodies = ws.con.execute("SELECT count(*) FROM raw_bodies").fetchall()[0][0]
    assert bodies > 0
    assert stored == {
        f"tl~{_region(e164)}~{hmac.new(key, e164.encode(), hashlib.sha256).hexdigest()}"
        for e164 in numbers
    }
    text = "\n".join(values)
    assert [form for form in forms if form in text] == []
    files = [pseudo.workspace, *pseudo.workspace.parent.glob("demo.duckdb.*")]
    data = b"".join(path.read_bytes() for path in files if path.is_file())
    assert [form for form in forms if form.encode() in data] == []


def test_docs_list_every_pseudonymised_field() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "privacy.md").read_text(encoding="utf-8")
    section = doc.split("## Pseudonymous identities", 1)[1]
    for name in [*WHATSAPP_FIELDS, *(f for fields in FLAT_FIELDS.values() for f in fields)]:
        assert f"`{name}`" in section, name
    for name in ("sender.id", "recipient.id", "source_id", "destination_id"):
        assert name in section, name
