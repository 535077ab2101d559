"""Open a page of chart images (``<img>`` or inline ``<svg>``) in headless Chromium.

What a notebook front end does with a chart: JupyterLab, Notebook 7 and nbconvert's HTML
show an ``image/svg+xml`` output through ``<img src="data:image/svg+xml;base64,…">`` and
an ``image/png`` output through ``<img src="data:image/png;base64,…">``; a browser opening
a saved ``.svg`` does the same. A broken image (an SVG without its namespace declarations,
a corrupt PNG) loads with ``naturalWidth == 0`` and draws nothing but its alt text.

The browser is started and driven by :mod:`browser_check` (DevTools over a pipe, no port,
nothing leaves the machine); this module measures every image instead of every inline
SVG, waits for each to decode, and checks the screenshot inside its box for ink.

Usage (from a test)::

    check = check_images_in_browser(html_path, tmp_path / "page.png")
    assert check.images and check.broken_images == []
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from browser_check import (
    MIN_INK,
    VIEWPORT_WIDTH,
    _box_ink,
    _console_errors,
    _in_chromium,
    _Pipe,
)

_IMAGES_JS = """
(async () => {
  const nodes = Array.from(document.querySelectorAll('img, svg')).filter(
    node => node.tagName.toLowerCase() === 'img' || !node.parentElement.closest('svg'));
  await Promise.all(nodes.filter(node => node.tagName.toLowerCase() === 'img').map(
    img => img.decode().catch(() => null)));
  return nodes.map(node => {
    const r = node.getBoundingClientRect();
    const isImg = node.tagName.toLowerCase() === 'img';
    return {tag: node.tagName.toLowerCase(),
            source: isImg ? (node.currentSrc || node.src).slice(0, 40) : 'inline',
            complete: isImg ? node.complete : true,
            naturalWidth: isImg ? node.naturalWidth : r.width,
            naturalHeight: isImg ? node.naturalHeight : r.height,
            x: r.left + window.scrollX, y: r.top + window.scrollY,
            width: r.width, height: r.height};
  });
})()
"""


@dataclass(frozen=True)
class DrawnImage:
    """One image (or top-level inline SVG) as the browser drew it.

    Attributes:
        tag: ``img`` or ``svg``.
        source: the first characters of the image's URL (``data:image/svg+xml;base64,…``),
            or ``inline``.
        natural_width: the decoded image's intrinsic width (0 when it is broken).
        natural_height: its intrinsic height.
        width: on-screen width in CSS pixels.
        height: on-screen height.
        ink: share of screenshot pixels inside its box that are not the page background.
    """

    tag: str
    source: str
    complete: bool
    natural_width: float
    natural_height: float
    width: float
    height: float
    ink: float

    @property
    def broken(self) -> bool:
        """Not decoded, of no size, or drawn without ink."""
        return (
            not self.complete
            or self.natural_width <= 0
            or self.natural_height <= 0
            or self.width <= 0
            or self.height <= 0
            or self.ink < MIN_INK
        )


@dataclass(frozen=True)
class ImageCheck:
    """What Chromium drew of a page's images."""

    url: str
    images: list[DrawnImage] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    screenshot_path: Path | None = None

    @property
    def broken_images(self) -> list[DrawnImage]:
        """The images that did not draw."""
        return [image for image in self.images if image.broken]


def _visit(pipe: _Pipe, url: str, timeout: float) -> tuple[list[dict[str, Any]], str, list[dict[str, Any]]]:
    """Open ``url``, measure its images once decoded, take a full-page screenshot."""
    target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log"):
        pipe.call(f"{domain}.enable", session=session)
    pipe.call(
        "Emulation.setDeviceMetricsOverride",
        {"width": VIEWPORT_WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        session=session,
    )
    pipe.events.clear()
    pipe.call("Page.navigate", {"url": url}, session=session)
    pipe.wait_for("Page.loadEventFired", timeout=timeout)
    pipe.drain(0.5)
    metrics = pipe.call("Page.getLayoutMetrics", session=session)
    content = metrics.get("cssContentSize") or metrics["contentSize"]
    height = int(content["height"]) + 1
    pipe.call(
        "Emulation.setDeviceMetricsOverride",
        {"width": VIEWPORT_WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": False},
        session=session,
    )
    evaluated = pipe.call(
        "Runtime.evaluate",
        {"expression": _IMAGES_JS, "returnByValue": True, "awaitPromise": True},
        session=session,
        timeout=timeout,
    )
    boxes: list[dict[str, Any]] = evaluated["result"]["value"]
    shot = pipe.call(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": VIEWPORT_WIDTH, "height": height, "scale": 1},
        },
        session=session,
        timeout=timeout,
    )
    pipe.drain(0.2)
    return boxes, str(shot["data"]), list(pipe.events)


def check_images_in_browser(
    html_path: str | Path, screenshot_path: str | Path, *, timeout: float = 60.0
) -> ImageCheck:
    """Open ``html_path`` in headless Chromium and report how each image was drawn.

    Raises:
        FileNotFoundError: when ``/usr/bin/chromium`` is missing.
        RuntimeError: when Chromium does not answer.
    """
    url = Path(html_path).resolve().as_uri()
    screenshot = Path(screenshot_path)
    boxes, shot, events = _in_chromium(url, _visit, timeout)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    screenshot.write_bytes(base64.b64decode(shot))
    with Image.open(screenshot) as image:
        image.load()
        images = [
            DrawnImage(
                tag=str(box["tag"]),
                source=str(box["source"]),
                complete=bool(box["complete"]),
                natural_width=float(box["naturalWidth"]),
                natural_height=float(box["naturalHeight"]),
                width=float(box["width"]),
                height=float(box["height"]),
                ink=_box_ink(image, box),
            )
            for box in boxes
        ]
    return ImageCheck(
        url=url,
        images=images,
        console_errors=_console_errors(events),
        screenshot_path=screenshot,
    )
