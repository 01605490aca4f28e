"""Channels: the ``[notify]`` apprise URLs, filled per recipient, and one send through apprise.

Every audience (``resident``, ``desk``, ``engineering``) has a list of apprise URLs. A URL may
hold ``{unit}``, ``{phone}``, ``{email}`` and ``{name}``: they are filled per recipient, each
value URL-quoted, and a URL whose placeholders cannot all be filled (no email on file) is not
used for that recipient. The URLs are tried in order until one delivers, so a message reaches a
recipient once; a resident's ``notify_channel`` ("email", "sms", or a scheme such as
"wecombot") keeps only the URLs of that kind.

apprise is imported lazily: the kiosk shells paint before anything heavy is imported.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from kiosk.config import Settings

log = logging.getLogger(__name__)

PLACEHOLDERS = ("unit", "phone", "email", "name")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_SAMPLE = {"unit": "3-1205", "phone": "13800000000", "email": "a@example.com", "name": "Li"}
AUDIENCES = ("resident", "desk", "engineering")
# apprise's schemes (apprise 1.9-2.x), so a config is checked at load without importing apprise
# (its plugins take ~0.9 s to load: the shells paint first). A test keeps it within apprise's.
_SCHEMES = """
46elks acs amqp amqps apprise apprises aprs atalk awswhatsapp azure bale bark barks betterstack
bluesky brevo bsky bulksms bulkvs burstsms chanify clickatell clicksend cliq cm d7sms dapnet
deltachat deltachats dingtalk discord dot eight00com elks emby embys enigma2 enigma2s evolution
evolutions exotel fcm feishu firehydrant flock flowtriq flowtriqs fluxer fluxers form forms
freemobile gchat github goalert goalerts gorush gorushs gotify gotifys groundmail groupme
guilded gupshup hassio hassios httpsms humhub humhubs ifttt ilert incidentio infobip instagram
irc ircs jellyfin jellyfins jira join json jsons kakao kakaotalk kaleyra kavenegar klr kodi
kodis kook kudosity kumulos lametric lametrics lark lauther lfg line mailersend mailgun mailto
mailtos mastodon mastodons matrix matrixs misskey misskeys mmost mmosts mobilemessage mobilemsg
msg91 msgbird ncloud nclouds nctalk nctalks nexmo nostr notica noticas notifiarr notifico
notificos notifyapp notifyre ntfy ntfys o365 octopush onebot onebots onesignal opsgenie opsimate
opsimates pagerduty pagertree parsep parseps pbul pinglet pinglets pingram pjet pjets plivo
postmark pover prowl psafer psafers push pushdeer pushdeers pushed pushme pushplus pushward
pushy qq reddit resend revolt ringc rocket rockets rsyslog ryver schan sendgrid sendpulse
serwersms ses session sessions seven sfr signal signalgrid signals signl4 simplepush sinch slack
smsc smseagle smseagles smsmanager smsmgr smstunnel smtp2go sns sogs sparkpost spike splunk
spugpush spush squadcast stackfield strmlabs synology synologys syslog telesign telnyx tgram
threema toot toots trigv trigvs tweet twilio twist twitter vapid viber victorops voipms vonage
webex wechat wecom wecombot whapi whatsapp workflow workflows wpush wxpusher wxteams x xbmc
xbmcs xmatters xml xmls youlmk zalo zcliq zohocliq zoom zulip
"""
KNOWN_SCHEMES = frozenset(_SCHEMES.split())


def _apprise() -> object:
    import apprise

    # apprise logs the target URL (with its tokens) at INFO/DEBUG: keep it to warnings.
    logging.getLogger("apprise").setLevel(logging.WARNING)
    return apprise


def placeholders(url: str) -> list[str]:
    return _PLACEHOLDER.findall(url)


def fill(url: str, values: Mapping[str, str]) -> str | None:
    """``url`` with its placeholders filled (URL-quoted), or None when one has no value."""
    missing = False

    def sub(m: re.Match[str]) -> str:
        nonlocal missing
        value = str(values.get(m.group(1), "") or "").strip()
        if not value:
            missing = True
            return ""
        return quote(value, safe="")

    filled = _PLACEHOLDER.sub(sub, url)
    return None if missing else filled


def kind(url: str) -> str:
    """The kind a resident's ``notify_channel`` names: email, sms, or the URL's scheme."""
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("mailto", "mailtos"):
        return "email"
    if "{phone}" in url:
        return "sms"
    return scheme


def redact(url: str) -> str:
    """A URL safe to print or log: scheme and host only (tokens, passwords, paths dropped)."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    # wecombot://KEY, dingtalk://TOKEN ...: the "host" is the secret. Names and addresses of
    # machines have a dot or a port; anything else is not shown.
    if not re.fullmatch(
        r"[A-Za-z0-9.\-]*(\.[A-Za-z0-9\-]+|:\d+)|localhost|\[[0-9a-fA-F:.]+\](:\d+)?", host
    ):
        host = "…"
    return f"{scheme}://{host}/…" if rest else scheme


def check_url(url: str, deep: bool = False) -> str | None:
    """None when ``url`` looks right, else the reason (for the config error line). The load-time
    check is cheap (scheme and placeholders); ``deep`` also asks apprise to parse it."""
    if "://" not in url:
        return (
            f"expected an apprise URL such as mailto://… or json://host/path, got {redact(url)!r}"
        )
    scheme = url.split("://", 1)[0].lower()
    if scheme not in KNOWN_SCHEMES:
        return f"apprise does not know {redact(url)} (unknown scheme {scheme!r})"
    unknown = sorted(set(placeholders(url)) - set(PLACEHOLDERS))
    if unknown:
        return (
            f"unknown placeholder {{{unknown[0]}}} in {redact(url)} "
            f"(expected {', '.join('{' + p + '}' for p in PLACEHOLDERS)})"
        )
    if deep:
        apprise = _apprise()
        sample = fill(url, _SAMPLE)
        assert sample is not None
        if apprise.Apprise.instantiate(sample) is None:  # type: ignore[attr-defined]
            return f"apprise cannot use {redact(url)} (a token or address is missing or malformed)"
    return None


@dataclass(frozen=True)
class Recipient:
    """One person or team a message goes to: ``key`` identifies it in the outbox row."""

    key: str
    audience: str
    language: str
    values: dict[str, str] = field(default_factory=dict)
    prefer: str = ""


def targets(urls: tuple[str, ...], recipient: Recipient) -> list[str]:
    """The filled URLs to try for ``recipient``, in order."""
    out = []
    for url in urls:
        if recipient.prefer and kind(url) != recipient.prefer:
            continue
        filled = fill(url, recipient.values)
        if filled is not None:
            out.append(filled)
    return out


def send(url: str, title: str, body: str) -> tuple[bool, str]:
    """Deliver one message to one filled URL: (delivered, reason when not)."""
    apprise = _apprise()
    target = apprise.Apprise()  # type: ignore[attr-defined]
    if not target.add(url):
        return False, f"{redact(url)}: not a valid apprise URL"
    try:
        # The body is plain text holding what people typed (a visitor's purpose): said so, apprise
        # escapes it for HTML channels (email) instead of sending it as markup.
        ok = bool(
            target.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT)  # type: ignore[attr-defined]
        )
    except Exception as exc:  # noqa: BLE001 - a channel failure is a retry, never a crash
        log.warning("channel %s raised %s", redact(url), type(exc).__name__)
        return False, f"{redact(url)}: {type(exc).__name__}"
    return ok, "" if ok else f"{redact(url)}: not delivered"


def doctor_checks(settings: Settings) -> list[dict[str, Any]]:
    """``kiosk doctor``: channels apprise cannot use; channels without a secret (links and code
    digests would use the public development key)."""
    from kiosk.notify_links import using_dev_secret

    n = settings.notify
    if not n.configured:
        return [{"check": "notify", "ok": True, "detail": "no [notify] channels: nothing is sent"}]
    out = [
        {"check": f"notify.{audience}", "ok": False, "detail": problem}
        for audience in AUDIENCES
        for url in getattr(n, audience)
        if (problem := check_url(url, deep=True))
    ]
    if using_dev_secret(settings):
        out.append(
            {
                "check": "notify secret",
                "ok": False,
                "detail": "no [notify] secret or $KIOSK_SECRET_KEY: links and pickup-code "
                "digests use the public development key",
            }
        )
    counts = ", ".join(f"{a} {len(getattr(n, a))}" for a in AUDIENCES)
    return out or [{"check": "notify", "ok": True, "detail": f"channels: {counts}"}]
