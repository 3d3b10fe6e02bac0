"""Browser fixtures: Debian's Chromium (installed with apt when missing), the app over HTTP."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from api.app import create_app
from governance.bootstrap import Runtime
from tests.api.conftest import harborview_runtime

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,800")


def ensure_chromium() -> None:
    """Install Debian's chromium and chromium-driver when missing (as root); fail otherwise."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    if os.geteuid() != 0:
        pytest.fail("the browser tests need /usr/bin/chromium and /usr/bin/chromedriver: run "
                    "`apt-get install -y chromium chromium-driver` as root (or ops/test)")
    for command in (["apt-get", "update"],
                    ["apt-get", "install", "-y", "chromium", "chromium-driver"]):
        subprocess.run(command, check=True, capture_output=True, timeout=600)


@pytest.fixture(scope="module")
def served_runtime() -> Iterator[Runtime]:
    """The runtime of the server (in-memory store with Harborview), with the demo sign-in on
    (the persona picker of `cxgov demo`)."""
    runtime = harborview_runtime()
    demo = replace(runtime, settings=runtime.settings.model_copy(update={"demo_sign_in": True}))
    yield demo
    runtime.close()


@pytest.fixture(scope="module")
def server(served_runtime: Runtime) -> Iterator[str]:
    """The dashboard and API on 127.0.0.1, in a thread."""
    app = create_app(served_runtime)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections queue until uvicorn accepts them: no wait needed
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    """Headless Chromium with a fresh profile and the network log on."""
    ensure_chromium()
    profile = tempfile.mkdtemp(prefix="cxgov-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_window_size(1280, 800)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def requested_urls(driver: webdriver.Chrome) -> list[str]:
    """Every URL the browser requested since the last call (Chrome DevTools network events)."""
    urls = []
    for entry in driver.get_log("performance"):  # type: ignore[no-untyped-call]
        message: dict[str, Any] = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(str(message["params"]["request"]["url"]))
    return urls


def csp_violations(driver: webdriver.Chrome) -> list[str]:
    """Console messages since the last call that report a Content-Security-Policy refusal."""
    return [str(e["message"]) for e in driver.get_log("browser")  # type: ignore[no-untyped-call]
            if "Content Security Policy" in str(e["message"])
            or "Refused to" in str(e["message"])]


def off_localhost(urls: list[str]) -> list[str]:
    """The URLs that leave 127.0.0.1 (data: and about: URLs stay in the browser)."""
    return [u for u in urls if urlsplit(u).scheme not in ("data", "about", "blob")
            and urlsplit(u).hostname not in ("127.0.0.1", "localhost")]


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    """Save the 1280x800 viewport, and the whole page as `<name>-full.png`."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True})
    (SCREENSHOTS / f"{name}-full.png").write_bytes(base64.b64decode(shot["data"]))
    return path


def document_responses(driver: webdriver.Chrome) -> list[tuple[str, int, str]]:
    """(url, status, MIME type) of every page (document) the browser received since the last
    read of the performance log (which `requested_urls` also drains)."""
    pages = []
    for entry in driver.get_log("performance"):  # type: ignore[no-untyped-call]
        message: dict[str, Any] = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message.get("method") == "Network.responseReceived" and params.get("type") == "Document":
            response = params["response"]
            pages.append((str(response["url"]), int(response["status"]),
                          str(response.get("mimeType", ""))))
    return pages
