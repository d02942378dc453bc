"""Dashboard pages: HTML shells under `/ui`, their static assets, and `/` → `/ui/`.

A shell holds no data. Its script reads the JSON APIs with the browser's session (those check scopes and
tenants, as for any client) and sends a signed-out browser to /ui/login, so the shells are served without
authentication and nothing here touches the store. Assets are served under a content digest
(`/ui/static/<digest>/...`) and cached for good; an ES module's relative imports inherit the digest.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import FileResponse, RedirectResponse, Response

from signwatch import __version__
from signwatch.api.errors import ApiError
from signwatch.auth.tokens import SCOPES
from signwatch.events import ENVELOPE_TYPES
from signwatch.rules.spec import _DEFAULTS, _KIND_ONLY, FILTER_FIELDS, KINDS, SEVERITY_RANK

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)

# No inline script or style, nothing from another origin: the browser refuses anything injected.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
NAV = (
    ("overview", "/ui/", "Overview", ""),
    ("geography", "/ui/geography", "Geography", ""),
    ("users", "/ui/users", "Users", ""),
    ("alerts", "/ui/alerts", "Alerts", ""),
    ("rules", "/ui/rules", "Rules", ""),
    ("exports", "/ui/exports", "Exports", "export:read"),
)
# What each scope lets a token do, for the API tokens page's checkboxes (every scope of auth/tokens.py).
SCOPE_HELP = {
    "monitor:read": "read events, insights and alerts",
    "rules:write": "create, change and promote rules",
    "alerts:write": "acknowledge and resolve alerts",
    "export:read": "export events and see forwarders",
    "admin": "everything, tenants and tokens included",
    "scim": "provision users and groups (SCIM)",
}
_MEDIA = {".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".svg": "image/svg+xml"}


@lru_cache(maxsize=1)
def asset_digest() -> str:
    """A digest of every shipped asset: it changes whenever one does, so cached copies never go stale."""
    h = hashlib.sha256()
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(STATIC).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def rule_model() -> dict[str, Any]:
    """What the rule form needs from the rule model (rules/spec.py), so the form never drifts from it."""
    from pydantic.alias_generators import to_camel

    params: dict[str, list[str]] = {kind: ["windowMinutes"] for kind in KINDS}
    for name, kinds in _KIND_ONLY.items():
        for kind in kinds:
            params[kind].append(to_camel(name))
    defaults = {kind: {to_camel(k): v for k, v in d.items()} for kind, d in _DEFAULTS.items()}
    return {
        "kinds": list(KINDS),
        "params": params,
        "defaults": defaults,
        "severities": list(SEVERITY_RANK),
        "filterFields": list(FILTER_FIELDS),
        "eventTypes": list(ENVELOPE_TYPES),
    }


def page(request: Request, name: str, title: str, **context: Any) -> Response:
    """A page shell: the template `name`.html with the navigation and the assets' digested path."""
    return templates.TemplateResponse(
        request,
        f"{name}.html",
        {
            "page": name,
            "title": title,
            "nav": NAV,
            "static": f"/ui/static/{asset_digest()}",
            "version": __version__,
            **context,
        },
        headers=HEADERS,
    )


@router.get("/")
async def root() -> Response:
    return RedirectResponse("/ui/", status_code=307)


@router.get("/ui")
async def ui_root() -> Response:
    return RedirectResponse("/ui/", status_code=307)


@router.get("/ui/")
async def overview(request: Request) -> Response:
    return page(request, "overview", "Overview")


@router.get("/ui/geography")
async def geography(request: Request) -> Response:
    return page(request, "geography", "Geography")


@router.get("/ui/users")
async def users(request: Request) -> Response:
    return page(request, "users", "Users")


@router.get("/ui/users/{user}")
async def user(request: Request, user: str) -> Response:
    return page(request, "user", user, user=user)


@router.get("/ui/alerts")
async def alerts(request: Request) -> Response:
    return page(request, "alerts", "Alerts")


@router.get("/ui/alerts/{alert_id}")
async def alert(request: Request, alert_id: str) -> Response:
    return page(request, "alert", "Alert", alert_id=alert_id)


@router.get("/ui/rules")
async def rules(request: Request) -> Response:
    return page(request, "rules", "Rules")


@router.get("/ui/rules/new")
async def rule_new(request: Request) -> Response:
    return page(request, "rule", "New rule", rule_id="", model=rule_model())


@router.get("/ui/rules/{rule_id}")
async def rule(request: Request, rule_id: str) -> Response:
    return page(request, "rule", "Rule", rule_id=rule_id, model=rule_model())


@router.get("/ui/exports")
async def exports(request: Request) -> Response:
    return page(request, "exports", "Exports")


@router.get("/ui/tokens")
async def tokens(request: Request) -> Response:
    scopes = [(scope, SCOPE_HELP.get(scope, "")) for scope in SCOPES]
    return page(request, "tokens", "API tokens", scopes=scopes)


@router.get("/ui/login")
async def login(request: Request) -> Response:
    return page(request, "login", "Sign in")


@router.get("/ui/static/{digest}/{name:path}")
async def static(digest: str, name: str) -> Response:
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC) or not path.is_file():
        raise ApiError(404, "no such file")
    forever = digest == asset_digest()
    cache = "public, max-age=31536000, immutable" if forever else "no-cache"
    return FileResponse(
        path,
        media_type=_MEDIA.get(path.suffix, "application/octet-stream"),
        headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"},
    )
