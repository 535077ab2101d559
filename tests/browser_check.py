"""Open an HTML report in headless Chromium and record what a reader's browser does.

Chromium is driven through the DevTools protocol over ``--remote-debugging-pipe``
(file descriptors 3 and 4 of the browser process, NUL-separated JSON messages), so no
port is opened and no package beyond the standard library and Pillow (a matplotlib
dependency) is needed. Every network request of the page, every console error and
uncaught exception is recorded; a full-page screenshot is saved; each inline SVG chart's
on-screen box is measured and the screenshot inside it is checked for ink.

Usage (from a test)::

    check = check_report_in_browser(html_path, tmp_path / "report.png")
    assert check.console_errors == []
    assert check.external_requests == []
    assert check.chart_count >= 1 and check.blank_charts == []
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from PIL import Image, ImageChops

CHROMIUM = "/usr/bin/chromium"
VIEWPORT_WIDTH = 1280
# Share of non-background pixels below which a chart or the page counts as blank.
MIN_INK = 0.01

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--metrics-recording-only",
    "--hide-scrollbars",
    "--mute-audio",
    # Nothing may leave the machine even if the page asked: names resolve nowhere.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--remote-debugging-pipe",
)

_CHART_BOXES_JS = """
Array.from(document.querySelectorAll('svg')).map(svg => {
  const r = svg.getBoundingClientRect();
  return {label: svg.getAttribute('aria-label') || '',
          x: r.left + window.scrollX, y: r.top + window.scrollY,
          width: r.width, height: r.height,
          shapes: svg.querySelectorAll('path, use, rect, line, polyline, circle').length};
})
"""


@dataclass(frozen=True)
class ChartBox:
    """One inline SVG chart as drawn by the browser.

    Attributes:
        label: the chart's ``aria-label``.
        width: on-screen width in CSS pixels.
        height: on-screen height in CSS pixels.
        shapes: number of drawn SVG shapes inside it.
        ink: share of screenshot pixels inside the box that are not the page background.
    """

    label: str
    width: float
    height: float
    shapes: int
    ink: float


@dataclass(frozen=True)
class BrowserCheck:
    """What happened when the report was opened in Chromium.

    Attributes:
        url: the ``file://`` URL opened.
        requests: every URL the page requested, the page itself included.
        external_requests: requests other than the page itself (must be empty offline).
        console_errors: console errors, uncaught exceptions and error log entries.
        charts: every ``<svg>`` of the page with its box and ink.
        screenshot_path: where the full-page PNG was written.
        screenshot_ink: share of non-background pixels in the whole screenshot.
        title: the document title.
        text: the page's visible text (``document.body.innerText``).
    """

    url: str
    requests: list[str]
    external_requests: list[str]
    console_errors: list[str]
    charts: list[ChartBox] = field(default_factory=list)
    screenshot_path: Path | None = None
    screenshot_ink: float = 0.0
    title: str = ""
    text: str = ""

    @property
    def chart_count(self) -> int:
        """Number of SVG charts on the page."""
        return len(self.charts)

    @property
    def blank_charts(self) -> list[ChartBox]:
        """Charts with an empty box, no shapes, or too little ink on the screenshot."""
        return [
            chart
            for chart in self.charts
            if chart.width <= 0 or chart.height <= 0 or chart.shapes == 0 or chart.ink < MIN_INK
        ]


class _Pipe:
    """The DevTools protocol over Chromium's debugging pipe."""

    def __init__(self, process: subprocess.Popen[bytes], send_fd: int, receive_fd: int) -> None:
        self.process = process
        self.send_fd = send_fd
        self.receive_fd = receive_fd
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        """The next message from the browser, waiting until ``deadline`` at most."""
        while b"\0" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("Chromium did not answer on the DevTools pipe in time")
            ready, _, _ = select.select([self.receive_fd], [], [], remaining)
            if ready:
                chunk = os.read(self.receive_fd, 1 << 20)
                if not chunk:
                    raise RuntimeError(
                        f"Chromium closed the DevTools pipe (exit code {self.process.poll()})"
                    )
                self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        parsed: dict[str, Any] = json.loads(message)
        return parsed

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        payload = json.dumps(message).encode() + b"\0"
        while payload:
            payload = payload[os.write(self.send_fd, payload) :]
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"DevTools {method} failed: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        """Wait for an event (it may already have arrived)."""
        for event in self.events:
            if event["method"] == method:
                return event
        deadline = time.monotonic() + timeout
        while True:
            message = self._read_message(deadline)
            if "method" in message:
                self.events.append(message)
                if message["method"] == method:
                    return message

    def drain(self, seconds: float) -> None:
        """Collect events for a while (late requests, late console messages)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                message = self._read_message(deadline)
                if "method" in message:
                    self.events.append(message)
        except TimeoutError:
            return


def _high_fd(fd: int) -> int:
    """A close-on-exec duplicate of ``fd`` numbered 10 or above (so it cannot be 3 or 4)."""
    duplicate = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return duplicate


def _start(user_data_dir: str, log: IO[bytes]) -> _Pipe:
    """Start headless Chromium with the debugging pipe on its descriptors 3 and 4.

    bash (not dash, which handles descriptors 0-9 only) moves the pipe ends into place.
    """
    command_read, command_write = (_high_fd(fd) for fd in os.pipe())
    reply_read, reply_write = (_high_fd(fd) for fd in os.pipe())
    shell = f'exec "$@" 3<&{command_read} 4>&{reply_write} {command_read}<&- {reply_write}>&-'
    process = subprocess.Popen(
        [
            "/bin/bash",
            "-c",
            shell,
            "bash",
            CHROMIUM,
            *_FLAGS,
            f"--user-data-dir={user_data_dir}",
            f"--window-size={VIEWPORT_WIDTH},900",
            "about:blank",
        ],
        pass_fds=(command_read, reply_write),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    os.close(command_read)
    os.close(reply_write)
    return _Pipe(process, command_write, reply_read)


def _stop(pipe: _Pipe) -> None:
    """Close the browser, killing it if it does not exit by itself."""
    with contextlib.suppress(OSError, RuntimeError, TimeoutError):
        pipe.call("Browser.close", timeout=5)
    try:
        pipe.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pipe.process.kill()
        pipe.process.wait(timeout=10)
    finally:
        os.close(pipe.send_fd)
        os.close(pipe.receive_fd)


def _ink(image: Image.Image, box: tuple[int, int, int, int] | None = None) -> float:
    """Share of pixels that differ from the background (the top-left pixel's colour)."""
    rgb = image.convert("RGB")
    region = rgb if box is None else rgb.crop(box)
    if region.width == 0 or region.height == 0:
        return 0.0
    background = Image.new("RGB", region.size, rgb.getpixel((0, 0)))
    unchanged = ImageChops.difference(region, background).convert("L").histogram()[0]
    return 1.0 - unchanged / (region.width * region.height)


def _box_ink(image: Image.Image, box: Mapping[str, Any]) -> float:
    """:func:`_ink` inside an element's box (``x``, ``y``, ``width``, ``height`` in page pixels)."""
    return _ink(
        image,
        (
            int(box["x"]),
            int(box["y"]),
            int(box["x"] + box["width"]),
            int(box["y"] + box["height"]),
        ),
    )


_Result = TypeVar("_Result")


def _in_chromium(url: str, visit: Callable[[_Pipe, str, float], _Result], timeout: float) -> _Result:
    """Start headless Chromium, ``visit(pipe, url, timeout)``, stop it; a failure carries
    Chromium's last log lines.

    Raises:
        FileNotFoundError: when ``/usr/bin/chromium`` is missing.
        RuntimeError: when Chromium does not answer.
    """
    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing; run scripts/install_chromium.sh")
    with (
        tempfile.TemporaryDirectory(
            prefix="threadlift-chromium-", ignore_cleanup_errors=True
        ) as user_data_dir,
        tempfile.TemporaryFile() as log,
    ):
        pipe = _start(user_data_dir, log)
        try:
            return visit(pipe, url, timeout)
        except (RuntimeError, TimeoutError) as error:
            log.seek(0)
            said = log.read().decode(errors="replace").strip().splitlines()[-15:]
            raise RuntimeError(
                f"{error}; Chromium's last log lines:\n" + "\n".join(said)
            ) from error
        finally:
            _stop(pipe)


def _console_errors(events: list[dict[str, Any]]) -> list[str]:
    """Console errors, uncaught exceptions and error log entries among the events."""
    errors: list[str] = []
    for event in events:
        params = event.get("params", {})
        if event["method"] == "Runtime.consoleAPICalled" and params.get("type") in (
            "error",
            "assert",
        ):
            errors.append(
                " ".join(
                    str(arg.get("value", arg.get("description", "")))
                    for arg in params.get("args", [])
                )
            )
        elif event["method"] == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            errors.append(
                str(details.get("exception", {}).get("description") or details.get("text"))
            )
        elif (
            event["method"] == "Log.entryAdded" and params.get("entry", {}).get("level") == "error"
        ):
            entry = params["entry"]
            errors.append(
                f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip()
            )
    return errors


@dataclass(frozen=True)
class _Visit:
    """What the DevTools session brought back from the page."""

    boxes: list[dict[str, Any]]
    info: dict[str, Any]
    screenshot: dict[str, Any]
    events: list[dict[str, Any]]


def _visit(pipe: _Pipe, url: str, timeout: float) -> _Visit:
    """Open ``url`` in a new tab, measure its SVGs and take a full-page screenshot."""
    target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        pipe.call(f"{domain}.enable", session=session)
    pipe.call(
        "Emulation.setDeviceMetricsOverride",
        {"width": VIEWPORT_WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        session=session,
    )
    pipe.events.clear()
    pipe.call("Page.navigate", {"url": url}, session=session)
    pipe.wait_for("Page.loadEventFired", timeout=timeout)
    pipe.drain(1.0)
    evaluated = pipe.call(
        "Runtime.evaluate",
        {"expression": f"({_CHART_BOXES_JS})", "returnByValue": True},
        session=session,
    )
    boxes: list[dict[str, Any]] = evaluated["result"]["value"]
    info = pipe.call(
        "Runtime.evaluate",
        {
            "expression": "({title: document.title, text: document.body.innerText})",
            "returnByValue": True,
        },
        session=session,
    )["result"]["value"]
    metrics = pipe.call("Page.getLayoutMetrics", session=session)
    content = metrics.get("cssContentSize") or metrics["contentSize"]
    height = int(content["height"]) + 1
    pipe.call(
        "Emulation.setDeviceMetricsOverride",
        {"width": VIEWPORT_WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": False},
        session=session,
    )
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
    pipe.drain(0.3)
    return _Visit(boxes, info, shot, list(pipe.events))


def check_report_in_browser(
    html_path: str | Path, screenshot_path: str | Path, *, timeout: float = 60.0
) -> BrowserCheck:
    """Open ``html_path`` in headless Chromium, screenshot it and report what happened.

    Args:
        html_path: the report file.
        screenshot_path: where to write the full-page PNG.
        timeout: seconds allowed for the page to load.

    Returns:
        The requests, console errors, chart boxes and screenshot of the page.

    Raises:
        FileNotFoundError: when ``/usr/bin/chromium`` is missing.
    """
    url = Path(html_path).resolve().as_uri()
    screenshot = Path(screenshot_path)
    visit = _in_chromium(url, _visit, timeout)
    boxes, info, shot, events = visit.boxes, visit.info, visit.screenshot, visit.events

    screenshot.parent.mkdir(parents=True, exist_ok=True)
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    with Image.open(screenshot) as image:
        image.load()
        charts = [
            ChartBox(
                label=str(box["label"]),
                width=float(box["width"]),
                height=float(box["height"]),
                shapes=int(box["shapes"]),
                ink=_box_ink(image, box),
            )
            for box in boxes
        ]
        page_ink = _ink(image)
    requests = [
        event["params"]["request"]["url"]
        for event in events
        if event["method"] == "Network.requestWillBeSent"
    ]
    return BrowserCheck(
        url=url,
        requests=requests,
        external_requests=[request for request in requests if request != url],
        console_errors=_console_errors(events),
        charts=charts,
        screenshot_path=screenshot,
        screenshot_ink=page_ink,
        title=str(info.get("title", "")),
        text=str(info.get("text", "")),
    )
