"""WhatsApp wa_id phones are checked in SQL; phonenumbers, called here, is the reference."""

from __future__ import annotations

import json
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from threadlift.ingest import ingest_files
from threadlift.workspace import Workspace
from webhooks import whatsapp_body


def _status_body(message_id: str, recipient: str) -> str:
    status = {"id": message_id, "status": "sent", "timestamp": "1750000000",
              "recipient_id": recipient}
    return json.dumps(whatsapp_body({"statuses": [status]}))


def _candidates() -> dict[str, tuple[str | None, str | None]]:
    """International digits → (E.164, region) as phonenumbers sees them: the example mobile
    number of every region, one digit short and one digit long (None when not possible).

    The SQL check knows the possible lengths of a calling code's main region, so a number
    counts as possible when phonenumbers says IS_POSSIBLE and its E.164 form is the digits
    as given (phonenumbers reads "+241 0603…" leniently as "+241 603…"; a wa_id is taken
    as written); its market is the main region.
    """
    out: dict[str, tuple[str | None, str | None]] = {}
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
        if example is None:
            continue
        digits = phonenumbers.format_number(example, PhoneNumberFormat.E164)[1:]
        code = str(example.country_code)
        main = phonenumbers.region_code_for_country_code(example.country_code)
        for candidate in (digits, digits[:-1], digits + "7"):
            number = phonenumbers.parse("+" + candidate, None)
            reason = phonenumbers.is_possible_number_with_reason(number)
            possible = (reason == phonenumbers.ValidationResult.IS_POSSIBLE
                        and phonenumbers.format_number(number, PhoneNumberFormat.E164)
                        == "+" + candidate)
            assert candidate.startswith(code)
            out[candidate] = ("+" + candidate, main) if possible else (None, None)
    return out


def test_phone_identities_agree_with_phonenumbers(workspace: Workspace, tmp_path: Path) -> None:
    expected = _candidates()
    assert sum(e164 is not None for e164, _ in expected.values()) > 200
    assert sum(e164 is None for e164, _ in expected.values()) > 200
    path = tmp_path / "phones.jsonl"
    path.write_text("\n".join(_status_body(f"wamid.P{i}", digits)
                              for i, digits in enumerate(expected)) + "\n")
    ingest_files(workspace, "whatsapp", [path])
    identities = {str(a) for (a,) in workspace.con.execute(
        "SELECT address FROM identities WHERE channel = 'whatsapp'").fetchall()}
    assert identities == {e164 for e164, _ in expected.values() if e164 is not None}
    markets = dict(workspace.con.execute(
        "SELECT i.address, c.market FROM identities AS i JOIN contacts AS c USING (contact_id)"
    ).fetchall())
    assert markets == {e164: region for e164, region in expected.values() if e164 is not None}
    # a send to a number that is not possible has no contact: it is quarantined, not lost
    impossible = sum(e164 is None for e164, _ in expected.values())
    assert workspace.con.execute(
        "SELECT count(*) FROM quarantine WHERE target_table = 'messages'").fetchall() == [(impossible,)]


def test_a_number_written_with_spaces_and_dashes_gets_the_same_identity_and_market(
    workspace: Workspace, tmp_path: Path
) -> None:
    """The SMS / e-mail CSV's ``to`` may be formatted (``+1 201-555-0123``), which
    phonenumbers parses in Python; the same numbers as digits take the SQL path."""
    expected = {digits: e164_region for digits, e164_region in _candidates().items()
                if e164_region[0] is not None}
    formatted = {
        digits: phonenumbers.format_number(phonenumbers.parse("+" + digits, None),
                                           PhoneNumberFormat.INTERNATIONAL)
        for digits in expected
    }
    assert all(" " in text for text in formatted.values())
    rows = ["message_id,event,ts,to,sender_id"]
    for i, digits in enumerate(expected):
        rows.append(f"f{i},send,1750000000,{formatted[digits]},BRAND")
        rows.append(f"d{i},send,1750000000,{digits},BRAND")
    path = tmp_path / "sends.csv"
    path.write_text("\n".join(rows) + "\n")
    ingest_files(workspace, "sms", [path])
    markets = dict(workspace.con.execute(
        "SELECT i.address, c.market FROM identities AS i JOIN contacts AS c USING (contact_id)"
    ).fetchall())
    assert markets == dict(expected.values())
    # both spellings of each number reached the same contact
    assert workspace.con.execute(
        "SELECT count(*), count(DISTINCT contact_id) FROM messages").fetchall() == [
        (2 * len(expected), len(expected))]
