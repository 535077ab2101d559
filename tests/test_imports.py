"""Start-up cost: which libraries ``import threadlift``, ``--help`` and a core report load.

Each check runs a fresh interpreter (this test process has imported everything) and lists
the modules it loaded. ``threadlift report --core`` is what a scheduler runs every day
against every experiment; scipy.stats, statsmodels, matplotlib and pandas each cost it
a second or more on a loaded machine, before any query (issue 21). A core report loads
the libraries whose tests it runs (scipy.stats' chi-square and Welch test, statsmodels'
Holm adjustment, which brings pandas), and nothing for charts or other sections.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from threadlift.datasets.demo import run_demo

SRC = Path(__file__).resolve().parents[1] / "src"

HEAVY = (
    "scipy.stats", "scipy.optimize", "statsmodels", "matplotlib", "pandas", "pyarrow",
    "jinja2", "fastapi", "starlette", "uvicorn", "pyspark", "rich", "tea_tasting",
)
"""Never loaded by ``import threadlift`` or ``threadlift --help``."""

ANY_LIBRARY = ("duckdb", "numpy", "scipy", "pydantic", "sqlglot", *HEAVY)
"""``import threadlift`` and ``--help`` load none of these either: only click."""

CORE_REPORT_USES = {
    "click": "the command line",
    "duckdb": "the workspace and its queries",
    "numpy": "the statistics",
    "scipy.special": "the normal, t and chi-square distributions of the tests",
    "scipy.stats": "the sample-ratio chi-square and the balance Welch test",
    "statsmodels.stats.multitest": "the Holm adjustment of the metrics' p-values",
    "pandas": "statsmodels.stats.multitest imports it",
    "pydantic": "validating the experiment file",
    "jinja2": "the HTML page (written without charts)",
}
"""What a core report may load beyond the standard library, and why."""

CORE_REPORT_NEVER = (
    "matplotlib", "fastapi", "starlette", "uvicorn", "pyspark", "rich", "tea_tasting",
    "threadlift.report.charts",  # a core report draws no chart
    "sqlglot",  # only an experiment with an audience or segment query needs it
    "phonenumbers",  # markets are for ingest and cost, not the core sections
)


def loaded_after(code: str) -> set[str]:
    """The module names a fresh interpreter holds after running ``code``."""
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, check=True, timeout=300)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def present(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return [name for name in names if name in modules]


def test_import_threadlift_loads_no_library() -> None:
    modules = loaded_after("import threadlift")
    assert present(modules, ANY_LIBRARY) == []
    assert "threadlift.analysis.run" not in modules


def test_help_loads_click_and_no_other_library() -> None:
    modules = loaded_after(
        "from threadlift.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as done:\n    assert done.code == 0\n"
    )
    assert "click" in modules
    assert present(modules, ANY_LIBRARY) == []


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out: Path = tmp_path_factory.mktemp("imports")
    run_demo(out, n_contacts=600, seed=5)
    return out


def test_core_report_loads_only_what_it_uses(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "core"
    modules = loaded_after(
        "from threadlift.cli import main\n"
        f"args = ['report', {str(demo / 'experiment.toml')!r}, '-w', {str(demo / 'demo.duckdb')!r},"
        f" '--out', {str(out)!r}, '--core']\n"
        "try:\n    main(args)\nexcept SystemExit as done:\n    assert done.code in (0, 3), done.code\n"
    )
    assert (out / "report.json").exists()
    assert present(modules, CORE_REPORT_NEVER) == []
    for name in CORE_REPORT_USES:
        assert name in modules, f"{name} is listed as used by a core report but was not loaded"
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<svg" not in html, "a core report's page draws no chart"
    assert "Core report: not computed here" in html


def test_full_report_page_still_draws_its_charts(demo: Path) -> None:
    html = (demo / "report" / "report.html").read_text(encoding="utf-8")
    assert '<svg role="img" aria-label="Relative effect of each metric' in html


def test_full_analysis_to_json_and_markdown_draws_no_chart(demo: Path) -> None:
    modules = loaded_after(
        "import threadlift as tl\n"
        "from threadlift.report.markdown import render_markdown\n"
        "from threadlift.report.write import report_json_text\n"
        f"experiment = tl.load_experiment({str(demo / 'experiment.toml')!r})\n"
        f"with tl.open_workspace({str(demo / 'demo.duckdb')!r}) as ws:\n"
        "    analysis = tl.analyze(ws, experiment)\n"
        "report = analysis.to_dict()\n"
        "assert report['funnel'] and report['cost'], 'a full analysis'\n"
        "report_json_text(report)\n"
        "render_markdown(report)\n"
        "analysis._repr_html_()\n"
    )
    assert "threadlift.analysis.funnel" in modules
    assert "matplotlib" not in modules
    assert "threadlift.report.charts" not in modules
