"""The per-contact eligibility state that ``assign`` reads instead of the event logs.

Eligibility at a time (docs/architecture.md, "Eligibility") depends on a contact's consent
events, its 131050 marketing-stop failures and its block / report / opt-out feedback.
Computing it from the logs means grouping every event by contact on every ``assign``
run; ``eligibility_state`` (``sql/workspace/005_eligibility_state.sql``, ``006``) keeps those
events already grouped, one row per contact: the first consent grant in columns, the other
events in lists, and whether there are any (``eventful``; rebuilt rows come plain first,
eventful last, so either kind is scanned without the other). It holds the events themselves, not a
summary (which events count is ``sql/assign/_eligibility_events.sql``, the same rows the
log path reads), so eligibility at *any* time, for any channel, sender and category, is
computed from the row by the rule fragments ``sql/assign/evaluate.sql`` applies to the logs
(``sql/assign/_eligibility_*.sql``, included by ``sql/assign/eligibility/verdicts.sql``):
the rules are written once; ``tests/assign/test_eligibility.py`` compares the two paths.

Keeping it current:

* ``threadlift load`` rebuilds the rows of the contacts each file touched
  (:class:`LoadSync`), inside the load's transaction (and the whole state first, when
  the tables were changed some other way since it was last current);
* every source of the state has a recorded row count and checksum (a sum of ``hash()`` of
  its eligibility columns, ``sql/assign/eligibility/checksums.sql``). ``assign`` compares
  them with the tables first (:func:`ensure_current`) and rebuilds the whole state when
  they differ, so rows written any other way (platform ingest and its rebuild, SQL run by
  hand, tests) are never missed: the state is exact up to a 64-bit hash collision.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from threadlift.engines.sqlfiles import sql_text

SOURCE_TABLES = frozenset({"contacts", "consents", "feedback", "messages", "message_events"})
"""Canonical tables the state is derived from."""

_CONTACT_KEYED = frozenset({"contacts", "consents", "feedback", "messages"})


def stale_sources(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Sources whose checksum differs from the one the state was built with ([] when current)."""
    con.execute(sql_text("assign/eligibility/checksums#current"))
    return [str(row[0]) for row in con.execute(sql_text("assign/eligibility/checksums#stale")).fetchall()]


def _record_checksums(con: duckdb.DuckDBPyConnection) -> None:
    """Record the checksums in ``_tl_state_checksums`` as the ones the state matches."""
    con.execute(sql_text("assign/eligibility/checksums#forget"))
    con.execute(sql_text("assign/eligibility/checksums#record"))


def rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the whole state from the canonical tables and record their checksums.

    Runs in the caller's transaction when there is one.
    """
    con.execute(sql_text("assign/eligibility/refresh#dirty_new"))
    con.execute(sql_text("assign/eligibility/refresh#delete_all"))
    con.execute(sql_text("assign/eligibility/insert_rows"), {"all": True})
    con.execute(sql_text("assign/eligibility/checksums#current"))
    _record_checksums(con)


def ensure_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Rebuild the state when any source changed since it was built; return whether it did."""
    if not stale_sources(con):
        return False
    rebuild(con)
    return True


@dataclass
class LoadSync:
    """Keeps the state current across one file of ``threadlift load``.

    :meth:`start` runs before the file's rows are inserted: it brings the state up to date
    with the tables as they are (a full rebuild only when they were changed some other
    way since, e.g. on the first load into a workspace created before the state existed).
    :meth:`finish` runs after the insert, while the loader's staged rows (temp table
    ``_typed``) still exist, and rebuilds the rows of the contacts they name.
    """

    table: str
    tracked: bool

    @classmethod
    def start(cls, con: duckdb.DuckDBPyConnection, table: str) -> LoadSync:
        """Make the state current before ``table`` receives a file's rows."""
        tracked = table in SOURCE_TABLES
        if tracked:
            ensure_current(con)
        return cls(table, tracked)

    def finish(self, con: duckdb.DuckDBPyConnection) -> None:
        """Rebuild the state rows of the contacts the staged rows touch; record checksums."""
        if not self.tracked:
            return
        con.execute(sql_text("assign/eligibility/refresh#dirty_new"))
        if self.table in _CONTACT_KEYED:
            con.execute(sql_text("assign/eligibility/refresh#dirty_loaded_rows"))
        else:
            con.execute(sql_text("assign/eligibility/refresh#dirty_loaded_events"))
        con.execute(sql_text("assign/eligibility/refresh#delete_dirty"))
        con.execute(sql_text("assign/eligibility/insert_rows"), {"all": False})
        con.execute(sql_text("assign/eligibility/checksums#current"))
        _record_checksums(con)


__all__ = ["SOURCE_TABLES", "LoadSync", "ensure_current", "rebuild", "stale_sources"]
