"""Charts: inline SVG for the HTML page, standalone SVG documents and PNGs for files and notebooks."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from PIL import Image

from report_samples import sample_report
from threadlift.errors import InputError
from threadlift.report import charts

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return sample_report()


@pytest.fixture(scope="module")
def drawings(report: dict[str, Any]) -> dict[str, charts.Drawing]:
    drawn = {name: charts.draw(name, report) for name in charts.CHARTS}
    missing = [name for name, drawing in drawn.items() if drawing is None]
    assert not missing, f"the sample report should draw every chart; no rows for {missing}"
    return {name: drawing for name, drawing in drawn.items() if drawing is not None}


def test_every_report_chart_is_a_valid_standalone_svg_document(
    drawings: dict[str, charts.Drawing],
) -> None:
    for name, drawing in drawings.items():
        document = drawing.document()
        assert document.startswith('<?xml version="1.0" encoding="utf-8"?>\n<svg '), name
        root = ET.fromstring(document.encode("utf-8"))  # a namespace error would raise here
        assert root.tag == f"{{{SVG_NS}}}svg", name
        assert root.get("aria-label") == drawing.label
        ids = {element.get("id") for element in root.iter() if element.get("id")}
        references = [
            element.get(XLINK_HREF) for element in root.iter() if element.get(XLINK_HREF)
        ]
        assert references, f"{name}: text is drawn as paths referenced with xlink:href"
        unresolved = [ref for ref in references if ref is None or ref[1:] not in ids]
        assert unresolved == [], name
        assert all(ref.startswith(f"#{drawing.name}-") for ref in references if ref), name


def test_the_inline_element_is_the_document_without_namespaces_or_urls(
    drawings: dict[str, charts.Drawing],
) -> None:
    for name, drawing in drawings.items():
        element = drawing.element()
        assert element.startswith('<svg role="img" aria-label="'), name
        assert "http" not in element, name
        assert "xmlns" not in element, name
        document = drawing.document()
        stripped = re.sub(r'\s+xmlns(?::xlink)?="[^"]*"', "", document)
        assert stripped == '<?xml version="1.0" encoding="utf-8"?>\n' + element + "\n"


def test_the_plot_functions_the_html_page_uses_return_the_inline_element(
    report: dict[str, Any], drawings: dict[str, charts.Drawing]
) -> None:
    assert charts.forest_plot(report["metrics"]) == drawings["forest"].element()
    assert charts.cost_plot(report["cost"]) == drawings["cost"].element()
    assert charts.funnel_plot([]) is None


def test_png_is_an_image_of_the_chart_at_one_and_a_half_times_its_svg_size(
    drawings: dict[str, charts.Drawing],
) -> None:
    for name, drawing in drawings.items():
        png = drawing.png()
        with Image.open(io.BytesIO(png)) as image:
            assert image.format == "PNG"
            width, height = image.size
            assert (width, height) == charts.png_size(png)
            pixels = image.convert("L")
            dark = sum(pixels.histogram()[:200]) / (width * height)
        assert dark > 0.01, f"{name}: the PNG is blank"
        svg_width_pt = float(re.search(r'width="([\d.]+)pt"', drawing.element()).group(1))  # type: ignore[union-attr]
        # the SVG is sized in points (1/72 in); the PNG has 144 pixels per inch
        # (their tight boxes differ by a few pixels: text is measured by each renderer)
        assert width == pytest.approx(svg_width_pt * 144 / 72, rel=0.01), name
        css_width, css_height = charts.css_size(png)
        assert css_width == round(width * 96 / 144)
        assert css_height == round(height * 96 / 144)


def test_the_same_rows_give_the_same_bytes(report: dict[str, Any]) -> None:
    first, second = charts.draw("forest", report), charts.draw("forest", report)
    assert first is not None
    assert second is not None
    assert first.document() == second.document()
    assert first.png() == second.png()


def test_unknown_chart_names_are_refused(report: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="unknown chart 'pie'; choose one of forest, cumulative"):
        charts.draw("pie", report)


def test_png_size_refuses_what_is_not_a_png() -> None:
    with pytest.raises(ValueError, match="not a PNG image"):
        charts.png_size(b"<svg/>")


def test_power_curve_draws_one_line_per_design() -> None:
    rows = [
        {"design": f"{share}% holdout", "units": units, "power": min(1.0, units / 400_000 * share / 10)}
        for share in (5, 10)
        for units in (20_000, 100_000, 400_000)
    ]
    drawing = charts.power_curve(rows, target_power=0.8)
    document = drawing.document()
    root = ET.fromstring(document.encode("utf-8"))
    assert root.get("aria-label") == "Power by audience size"
    # one colour of the palette per design, in order
    assert "#0072b2" in document
    assert "#e69f00" in document
    single = charts.power_curve(rows[:3], target_power=None).document()
    assert "#0072b2" in single
    assert "#e69f00" not in single
    with Image.open(io.BytesIO(drawing.png())) as image:
        assert image.width > 500


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ([], "needs at least one row"),
        ([{"design": "a", "units": 0, "power": 0.5}], "row 0"),
        ([{"design": "a", "units": 10, "power": 1.5}], "0 <= power <= 1"),
        ([{"design": "a", "units": 10}], "row 0"),
    ],
)
def test_power_curve_refuses_rows_it_cannot_draw(rows: list[dict[str, Any]], problem: str) -> None:
    with pytest.raises(InputError, match=re.escape(problem)):
        charts.power_curve(rows)
