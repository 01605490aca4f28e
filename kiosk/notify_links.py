"""One-time links in notifications, and the small page `kiosk serve --links` shows for them.

A link is ``<link_base>/l/<id>.<mac>``: ``id`` is 16 random URL-safe characters naming a
``notify_link`` row, ``mac`` an HMAC-SHA256 of it with the estate's secret (so a guessed or
altered token is refused before the database is asked). The row holds the purpose, the expiry
and when it was used: a link works once and only until it expires. Every bad token (unknown,
forged, expired, used) gets the same 404 page.

- ``parcel``: shows the pickup code once; the code is kept in the row only until then (or until
  the link expires, :func:`scrub_expired`).
- any other purpose is a plugin's (``kiosk_link_actions``): the visitors plugin's ``visit``
  (the host approves or declines a walk-up visitor; the GET only shows the question, the POST
  decides), the billing plugin's ``bill`` (a QR payment order for the bill, shown once).

The secret (``[notify] secret`` or ``$KIOSK_SECRET_KEY``) also keys the digests of pickup codes
(:func:`code_digest`); without one a development key is used and a warning logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import html
import logging
import os
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from kiosk.clock import as_utc
from kiosk.db.models import NotifyLink, Resident
from kiosk.hookspecs import LinkAction, LinkPage

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kiosk.config import Settings
    from kiosk.context import KioskContext

log = logging.getLogger(__name__)
DEV_SECRET = "lobby-kiosk-development-secret"
MAC_HEX = 32
_warned = False


def secret_key(settings: Settings) -> bytes:
    """The estate's secret: config, then environment, then the development key (warned)."""
    key = settings.notify.secret or os.environ.get("KIOSK_SECRET_KEY", "")
    if not key:
        global _warned
        if not _warned:
            log.warning(
                "no [notify] secret configured: links and code digests use a development key"
            )
            _warned = True
        key = DEV_SECRET
    return key.encode("utf-8")


def using_dev_secret(settings: Settings) -> bool:
    return not (settings.notify.secret or os.environ.get("KIOSK_SECRET_KEY", ""))


def code_digest(key: bytes, scope: str, code: str) -> str:
    """Keyed digest of a short code (HMAC-SHA256): without the key, a stolen database does not
    give the codes back by trying all million of them."""
    return hmac.new(key, f"code:{scope}:{code.strip()}".encode(), hashlib.sha256).hexdigest()


def _mac(key: bytes, token_id: str) -> str:
    data = f"link:{token_id}".encode("utf-8", "replace")
    return hmac.new(key, data, hashlib.sha256).hexdigest()[:MAC_HEX]


def create_link(
    ctx: KioskContext,
    session: Session,
    purpose: str,
    subject: str,
    unit_id: int | None,
    minutes: int,
    secret: str = "",
) -> str:
    """Add a link row and return its token (``id.mac``)."""
    token_id = secrets.token_urlsafe(12)
    now = ctx.clock.now()
    session.add(
        NotifyLink(
            token_id=token_id,
            purpose=purpose,
            subject=subject,
            unit_id=unit_id,
            secret=secret,
            created_at=now,
            expires_at=now + dt.timedelta(minutes=minutes),
        )
    )
    session.flush()
    return f"{token_id}.{_mac(secret_key(ctx.settings), token_id)}"


def url_for(ctx: KioskContext, token: str) -> str:
    base = ctx.settings.notify.link_base or "http://127.0.0.1:8090"
    return f"{base}/l/{token}"


def _token_id(ctx: KioskContext, token: str) -> str | None:
    token_id, _, mac = token.partition(".")
    if not token_id or len(token_id) > 32 or not mac:
        return None
    # Compared as bytes: compare_digest refuses non-ASCII str (a typed URL may hold anything).
    expected = _mac(secret_key(ctx.settings), token_id).encode()
    if not hmac.compare_digest(mac.lower().encode("utf-8", "replace"), expected):
        return None
    return token_id


def _live(ctx: KioskContext, session: Session, token: str) -> NotifyLink | None:
    token_id = _token_id(ctx, token)
    if token_id is None:
        return None
    link = session.scalar(select(NotifyLink).where(NotifyLink.token_id == token_id))
    if link is None or link.used_at is not None:
        return None
    if as_utc(link.expires_at) <= ctx.clock.now():
        return None
    return link


def _use(session: Session, link: NotifyLink, now: dt.datetime, outcome: str) -> bool:
    """Mark used (once: the conditional update wins for one request only); scrub the secret."""
    won = session.execute(
        update(NotifyLink)
        .where(NotifyLink.id == link.id, NotifyLink.used_at.is_(None))
        .values(used_at=now, outcome=outcome, secret="")
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return bool(won)


def scrub_expired(ctx: KioskContext) -> int:
    """Forget the secrets of expired links (run with every dispatch)."""
    with ctx.database().write() as session:
        return int(
            session.execute(
                update(NotifyLink)
                .where(NotifyLink.expires_at <= ctx.clock.now(), NotifyLink.secret != "")
                .values(secret="")
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
        )


@dataclass(frozen=True)
class Page:
    status: int
    title: str
    body: str  # already-escaped HTML fragment


def _t(msgid: str, language: str) -> str:
    from kiosk.notify_messages import translate

    return translate(msgid, language)


def _not_found(language: str) -> Page:
    return Page(
        404,
        "404",
        f"<p>{html.escape(_t('This link is not valid. It may have expired or been used already.', language))}</p>",
    )


def _language(session: Session, subject: str, default: str) -> str:
    parts = subject.split(":")
    if len(parts) == 4 and parts[2] == "r":
        try:
            r = session.get(Resident, int(parts[-1]))
        except ValueError:
            r = None
        if r is not None and r.language:
            return r.language
    return default


def show(ctx: KioskContext, token: str) -> Page:
    """What GET shows: the visitor question, or the parcel code (once)."""
    lang = ctx.settings.language
    with ctx.database().write() as session:
        link = _live(ctx, session, token)
        if link is None:
            return _not_found(lang)
        lang = _language(session, link.subject, lang)
        if link.purpose == "parcel":
            code = link.secret
            if not code or not _use(session, link, ctx.clock.now(), "viewed"):
                return _not_found(lang)
            return Page(
                200,
                _t("Pickup code", lang),
                f'<p class="code">{html.escape(code)}</p>'
                f"<p>{html.escape(_t('Show this code at the lobby kiosk. This page shows it only once.', lang))}</p>",
            )
        purpose, subject, unit_id = link.purpose, link.subject, link.unit_id
    action = _actions(ctx).get(purpose)
    if action is None:
        return _not_found(lang)
    page = action.show(ctx, subject, unit_id, lambda msgid: _t(msgid, lang))
    return _render(ctx, token, page, lang)


def _actions(ctx: KioskContext) -> dict[str, LinkAction]:
    """What each purpose of link does, as the plugins declare it (``kiosk_link_actions``)."""
    if ctx.plugins is None:
        return {}
    return {a.purpose: a for a in ctx.plugins.call_flat("kiosk_link_actions", ctx=ctx)}


def _render(ctx: KioskContext, token: str, page: LinkPage, lang: str) -> Page:
    """A plugin's page as HTML, every text escaped; a page shown once uses the link up."""
    if not page.found:
        return _not_found(lang)
    if page.use:
        with ctx.database().write() as session:
            link = _live(ctx, session, token)
            if link is None or not _use(session, link, ctx.clock.now(), page.use):
                return _not_found(lang)
    body = "".join(f"<p>{html.escape(p)}</p>" for p in page.paragraphs)
    if page.qr:
        from devices.qr import QRCode

        body += f"<p>{QRCode(page.qr, ec='M').to_svg(scale=5)}</p>"
    body += "".join(f"<p>{html.escape(p)}</p>" for p in page.footer)
    if page.choices:
        t = html.escape(token)
        buttons = " ".join(
            f'<button name="answer" value="{html.escape(value)}">{html.escape(label)}</button>'
            for value, label in page.choices
        )
        body += f'<form method="post" action="/l/{t}">{buttons}</form>'
    return Page(200, page.title, body)


def answer(ctx: KioskContext, token: str, approve: bool) -> Page:
    """POST on a link with choices (a visit): the plugin decides as the resident the link was
    sent to, after the link is used up."""
    lang = ctx.settings.language
    choice = "approved" if approve else "declined"
    with ctx.database().write() as session:
        link = _live(ctx, session, token)
        if link is None:
            return _not_found(lang)
        action = _actions(ctx).get(link.purpose)
        if action is None or action.answer is None:
            return _not_found(lang)
        lang = _language(session, link.subject, lang)
        if not _use(session, link, ctx.clock.now(), choice):
            return _not_found(lang)
        subject, unit_id = link.subject, link.unit_id
    page = action.answer(ctx, subject, unit_id, choice, lambda msgid: _t(msgid, lang))
    return _render(ctx, token, page, lang)


# -- the web server -----------------------------------------------------------------------

_HTML = """<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:30em;margin:2em auto;padding:0 1em}}
.code{{font-size:3em;letter-spacing:.2em;font-weight:bold}}
button{{font-size:1.3em;padding:.5em 1.2em;margin:.3em}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""


def _respond(page: Page) -> Any:
    from aiohttp import web

    return web.Response(
        status=page.status,
        text=_HTML.format(title=html.escape(page.title), body=page.body),
        content_type="text/html",
        headers={
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
            "X-Frame-Options": "DENY",
        },
    )


def make_app(ctx: KioskContext) -> Any:
    """The aiohttp application: ``GET /l/<token>``, ``POST /l/<token>`` (answer=approve|decline)."""
    import asyncio

    from aiohttp import web

    async def get(request: web.Request) -> web.StreamResponse:
        page = await asyncio.to_thread(show, ctx, request.match_info["token"])
        return _respond(page)

    async def post(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        choice = str(form.get("answer", ""))
        if choice not in ("approve", "decline"):
            return _respond(_not_found(ctx.settings.language))
        page = await asyncio.to_thread(
            answer, ctx, request.match_info["token"], choice == "approve"
        )
        return _respond(page)

    async def other(request: web.Request) -> web.StreamResponse:
        return _respond(_not_found(ctx.settings.language))

    app = web.Application(client_max_size=4096)
    app.router.add_get("/l/{token}", get)
    app.router.add_post("/l/{token}", post)
    app.router.add_route("*", "/{tail:.*}", other)
    return app


def serve_links(ctx: KioskContext, host: str, port: int) -> None:
    """Run the link page server until interrupted."""
    from aiohttp import web

    web.run_app(make_app(ctx), host=host, port=port, print=None, access_log=None)
