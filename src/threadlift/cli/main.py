"""The ``threadlift`` command group; each command lives in the module named after its concept."""

from __future__ import annotations

import click

from threadlift.cli.common import EPILOG_EXIT_CODES, State


@click.group(epilog=EPILOG_EXIT_CODES)
@click.version_option(package_name="threadlift")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def main(debug: bool) -> None:
    """Measure what conversational messaging really adds, with stable holdouts.

    \b
    Start here:
      threadlift demo --out demo-out        # seeded workspace + full report
    Then with your own data:
      threadlift init -w my.duckdb
      threadlift load contacts contacts.csv -w my.duckdb
      threadlift assign experiment.toml -w my.duckdb --out assignments.csv
      threadlift report experiment.toml -w my.duckdb --out reports/
    """
    State.debug = debug
