"""Security headers on every response; /docs served from the packaged Swagger UI files."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Mint

EXPECTED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def assert_secured(headers: object) -> None:
    """The headers every response carries."""
    assert hasattr(headers, "get")
    for name, value in EXPECTED.items():
        assert headers.get(name) == value, name
    policy = str(headers.get("content-security-policy"))
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.parametrize("path", ["/v1/pnls", "/healthz", "/openapi.json"])
def test_api_json_responses_carry_the_headers(client: TestClient, mint: Mint, path: str) -> None:
    answer = client.get(path, headers=mint("fiona", "finance"))
    assert answer.status_code == 200
    assert_secured(answer.headers)


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v1/pnls"), ("GET", "/v1/no-such-route"), ("POST", "/v1/periods")])
def test_problem_responses_carry_the_headers(client: TestClient, method: str,
                                             path: str) -> None:
    answer = client.request(method, path)
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert_secured(answer.headers)


@pytest.mark.parametrize("path", ["/dashboard/sign-in", "/dashboard", "/docs",
                                  "/static/app.js"])
def test_dashboard_pages_docs_and_files_carry_the_headers(client: TestClient,
                                                           path: str) -> None:
    answer = client.get(path)  # /dashboard redirects to the sign-in page
    assert answer.status_code == 200
    assert_secured(answer.headers)


def test_no_page_has_inline_script_or_style(client: TestClient) -> None:
    for path in ("/dashboard/sign-in", "/docs"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert "<style" not in html and " style=" not in html, path


def test_docs_load_swagger_ui_from_this_server_only(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert not re.search(r"https?://", page.text)
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert_secured(asset.headers)
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text
    assert client.get("/redoc").status_code == 404
