"""The notebooks in notebooks/: stored with their outputs, executable, and readable in a browser.

They are committed executed (``notebooks/execute.py`` refreshes them), so GitHub and a
reader without a kernel see every chart. The stored outputs hold no error, each chart
is both a standalone SVG and a PNG, and the notebooks still run top to bottom with the
same kinds of output. Rendered to HTML by nbconvert (which shows an SVG output through
``<img src="data:image/svg+xml;base64,…">``, as JupyterLab and Notebook 7 do), every
chart is drawn by headless Chromium.
"""

from __future__ import annotations

import base64
import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import nbformat
import pytest
from PIL import Image

from browser_check import CHROMIUM
from image_check import check_images_in_browser

FOLDER = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
SVG = "image/svg+xml"
PNG = "image/png"
SLOW = {"quickstart"}
"""Notebooks that take more than 20 s to run (the quickstart's 40,000 contacts)."""


def _code_cells(notebook: nbformat.NotebookNode) -> list[Any]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _charts(notebook: nbformat.NotebookNode) -> list[dict[str, Any]]:
    """Every stored output that holds an image."""
    return [
        output.data
        for cell in _code_cells(notebook)
        for output in cell.outputs
        if output.output_type in ("display_data", "execute_result")
        and (SVG in output.data or PNG in output.data)
    ]


def _kinds(notebook: nbformat.NotebookNode) -> list[list[tuple[str, tuple[str, ...]]]]:
    """Per code cell, each output's type and mime types (what a reader sees, not the values)."""
    return [
        [
            (output.output_type, tuple(sorted(output.get("data", {}))) or (output.get("name", ""),))
            for output in cell.outputs
        ]
        for cell in _code_cells(notebook)
    ]


def test_there_are_four_notebooks() -> None:
    assert {p.stem for p in NOTEBOOKS} == {
        "quickstart",
        "holdout_design",
        "guardrails_and_cost",
        "from_csv_exports",
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_executed_without_errors(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    cells = _code_cells(notebook)
    counts = [cell.execution_count for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        f"{path.name} is not stored executed top to bottom (execution counts {counts}); "
        "run .venv/bin/python notebooks/execute.py"
    )
    for cell in cells:
        for output in cell.outputs:
            assert output.output_type != "error", f"{path.name}: {output.get('ename')}"
            if output.output_type == "stream":
                assert output.name == "stdout", f"{path.name} printed to stderr: {output.text}"
            text = output.get("text", "") + output.get("data", {}).get("text/plain", "")
            assert "Traceback" not in text
            assert not re.search(r"<Figure size \d+x\d+", text), f"{path.name}: a bare Figure repr"
            assert "/tmp" not in text, f"{path.name}: a temporary path in a stored output"
    assert any(cell.outputs for cell in cells), f"{path.name} is stored without outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_stored_chart_is_a_valid_svg_and_png(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    charts = _charts(notebook)
    assert charts, f"{path.name} shows no chart"
    for data in charts:
        assert SVG in data, f"{path.name}: a chart without its SVG"
        assert PNG in data, f"{path.name}: a chart without its PNG (GitHub, viewers without SVG)"
        svg = data[SVG] if isinstance(data[SVG], str) else "".join(data[SVG])
        root = ET.fromstring(svg.encode("utf-8"))
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        with Image.open(io.BytesIO(base64.b64decode(data[PNG]))) as image:
            assert image.format == "PNG"
            assert image.width > 400
            assert image.height > 100


def test_the_power_curve_is_a_chart_not_a_figure_repr() -> None:
    notebook = nbformat.read(FOLDER / "holdout_design.ipynb", as_version=4)
    charts = _charts(notebook)
    assert len(charts) == 1
    assert "Power to detect a +10% lift" in charts[0]["text/plain"]


@pytest.mark.timeout(900)
@pytest.mark.parametrize(
    "path",
    [
        pytest.param(path, marks=pytest.mark.slow) if path.stem in SLOW else path
        for path in NOTEBOOKS
    ],
    ids=lambda p: p.stem,
)
def test_notebook_executes_and_shows_what_is_stored(path: Path, tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("notebook_execute", FOLDER / "execute.py")
    assert spec is not None
    assert spec.loader is not None
    execute = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(execute)

    stored = nbformat.read(path, as_version=4)
    executed = execute.execute(path, tmp_path)

    errors = [
        output
        for cell in _code_cells(executed)
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors
    refresh = f"{path.name}'s stored outputs are out of date; run .venv/bin/python notebooks/execute.py"
    assert _kinds(executed) == _kinds(stored), refresh
    # the seeded data and the charts are deterministic: the stored charts are today's charts
    assert [data[SVG] for data in _charts(executed)] == [data[SVG] for data in _charts(stored)], refresh


@pytest.mark.browser
@pytest.mark.timeout(300)
@pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"{CHROMIUM} is missing; scripts/install_chromium.sh installs it (make test does)",
)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_rendered_notebook_draws_every_chart_in_chromium(path: Path, tmp_path: Path) -> None:
    from nbconvert import HTMLExporter

    notebook = nbformat.read(path, as_version=4)
    expected = len(_charts(notebook))
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
    page = tmp_path / f"{path.stem}.html"
    page.write_text(html, encoding="utf-8")

    check = check_images_in_browser(page, tmp_path / f"{path.stem}.png", timeout=120)

    charts = [image for image in check.images if image.source.startswith("data:image/svg+xml")]
    assert len(charts) == expected, [image.source for image in check.images]
    assert check.broken_images == [], check.broken_images
    for chart in charts:
        assert chart.natural_width > 400, chart
        assert chart.natural_height > 100, chart
