"""``plan``: sample size, power or minimum detectable effect of a holdout design."""

from __future__ import annotations

import click

from threadlift.cli.common import (
    handle_errors,
)
from threadlift.cli.main import main


@main.command(
    epilog="Examples:\n\n"
    "  threadlift plan --baseline 0.04 --rel-effect 0.10 --holdout 10 --power 0.8   # units needed\n\n"
    "  threadlift plan --baseline 0.04 --units 20000 --holdout 10 --power 0.8      # smallest lift\n\n"
    "  threadlift plan --metric mean --baseline 12.5 --sd 40 --effect 1.0 --units 50000 --holdout 5"
)
@click.option("--metric", "metric_type", type=click.Choice(["proportion", "mean"]),
              default="proportion", show_default=True)
@click.option("--baseline", type=float, required=True,
              help="Today's conversion rate (proportion) or mean per unit, in the holdout.")
@click.option("--sd", type=float, help="Standard deviation per unit (mean metrics).")
@click.option("--effect", "effect_size", type=float, help="Absolute lift to detect.")
@click.option("--rel-effect", "rel_effect_size", type=float, help="Relative lift to detect (0.1 = +10%).")
@click.option("--units", "total_units", type=int, help="Total units (holdout + treatment) available.")
@click.option("--power", type=float, help="Desired power (e.g. 0.8).")
@click.option("--holdout", "holdout_pct", type=float, default=10.0, show_default=True,
              help="Holdout share in percent.")
@click.option("--alpha", type=float, default=0.05, show_default=True)
@click.option("--cost-per-send", type=float, help="Cost of messaging one treated unit (adds cost figures).")
@handle_errors
def plan(
    metric_type: str, baseline: float, sd: float | None, effect_size: float | None,
    rel_effect_size: float | None, total_units: int | None, power: float | None,
    holdout_pct: float, alpha: float, cost_per_send: float | None,
) -> None:
    """Sample size, power or minimum detectable effect of a holdout design.

    Give all but one of: the lift (--effect or --rel-effect), --units, --power; the missing
    one is solved for. Unequal allocation comes from --holdout.
    """
    from threadlift.core.power import plan as solve
    from threadlift.errors import InputError

    if not 0 < holdout_pct < 100:
        raise InputError(f"--holdout must be between 0 and 100 percent (got {holdout_pct})")
    ratio = (100.0 - holdout_pct) / holdout_pct
    control_units = total_units * holdout_pct / 100.0 if total_units is not None else None
    try:
        result = solve(
            metric_type,  # type: ignore[arg-type]
            baseline=baseline, sd=sd, effect_size=effect_size, rel_effect_size=rel_effect_size,
            control_units=control_units, power=power, alpha=alpha, ratio=ratio,
            cost_per_treated_unit=cost_per_send,
        )
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    click.echo(f"solved for: {result.solved_for} ({result.method}, alpha {result.alpha}, "
               f"{holdout_pct:g}% holdout)")
    click.echo(f"  baseline            {result.baseline:.6g}")
    click.echo(f"  detectable effect   {result.effect_size:+.6g} ({result.rel_effect_size:+.2%})")
    click.echo(f"  power               {result.power:.4f}")
    click.echo(f"  holdout units       {result.control_units:,}")
    click.echo(f"  treatment units     {result.treatment_units:,}")
    click.echo(f"  total units         {result.total_units:,}")
    if result.cost_per_incremental_action is not None:
        click.echo(f"  cost per incremental action  {result.cost_per_incremental_action:.4g}")
    if result.experiment_cost is not None:
        click.echo(f"  cost of the sends            {result.experiment_cost:,.2f}")
    if result.forgone_actions is not None:
        click.echo(f"  actions forgone in holdout   {result.forgone_actions:,.1f}")
