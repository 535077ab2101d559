"""A saved chart opens in a real browser: Chart.save("x.svg") and ("x.png") in headless Chromium."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from browser_check import CHROMIUM
from image_check import check_images_in_browser
from report_samples import sample_report
from threadlift.analysis.run import Chart
from threadlift.report import charts

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} is missing; scripts/install_chromium.sh installs it (make test does)",
    ),
]


@pytest.mark.timeout(180)
def test_saved_svg_and_png_and_the_notebook_outputs_draw_in_chromium(tmp_path: Path) -> None:
    report = sample_report()
    names = ("forest", "cumulative", "template_quality")
    page = ["<!DOCTYPE html><html><head><title>charts</title></head><body>"]
    expected_widths = []
    for name in names:
        drawing = charts.draw(name, report)
        assert drawing is not None, name
        chart = Chart.from_drawing(drawing)
        svg_file = chart.save(tmp_path / f"{name}.svg")
        png_file = chart.save(tmp_path / f"{name}.PNG")
        assert svg_file.read_text(encoding="utf-8") == chart.svg
        assert png_file.read_bytes() == chart.png
        # what JupyterLab and nbconvert do with the notebook's image/svg+xml output
        data_uri = base64.b64encode(chart._repr_svg_().encode()).decode()
        png, metadata = chart._repr_png_()
        page += [
            f'<p><img src="{svg_file.name}" alt="svg file"></p>',
            f'<p><img src="{png_file.name}" alt="png file" width="{metadata["width"]}"></p>',
            f'<p><img src="data:image/svg+xml;base64,{data_uri}" alt="svg output"></p>',
            f'<p><img src="data:image/png;base64,{base64.b64encode(png).decode()}" alt="png"></p>',
        ]
        expected_widths.append(metadata["width"])
    page.append("</body></html>")
    html = tmp_path / "charts.html"
    html.write_text("\n".join(page), encoding="utf-8")

    check = check_images_in_browser(html, tmp_path / "charts.png")

    assert check.console_errors == []
    assert len(check.images) == 4 * len(names)
    assert check.broken_images == []
    for index, width in enumerate(expected_widths):
        svg_file, png_file, svg_output, _ = check.images[4 * index : 4 * index + 4]
        # an SVG sized in points shows 4/3 as many CSS pixels; the PNG's metadata says the same
        assert svg_file.natural_width == pytest.approx(width, rel=0.01)
        assert svg_output.natural_width == svg_file.natural_width
        assert png_file.width == width


@pytest.mark.timeout(180)
def test_the_check_sees_an_svg_without_its_namespace_as_a_broken_image(tmp_path: Path) -> None:
    """The bug this replaces: the inline element saved as a file does not draw."""
    drawing = charts.draw("forest", sample_report())
    assert drawing is not None
    (tmp_path / "inline.svg").write_text(drawing.element(), encoding="utf-8")
    html = tmp_path / "broken.html"
    html.write_text('<!DOCTYPE html><img src="inline.svg" alt="chart">', encoding="utf-8")

    check = check_images_in_browser(html, tmp_path / "broken.png")

    assert len(check.images) == 1
    assert check.images[0].natural_width == 0
    assert check.broken_images == check.images
