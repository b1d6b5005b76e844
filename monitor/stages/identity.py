"""Who an entry is: canonical links and the identity chain GUID -> canonical link -> content hash.

Pure functions, no I/O. The identity key is what the unique constraint on ``entries`` holds, so
an entry seen again under the same key is never new again.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

from monitor.base.types import IdentityMode, ParsedEntry

# Query parameters that only say where a click came from; they never change the page.
_TRACKING = re.compile(
    r"^(utm_\w+|fbclid|gclid|gclsrc|dclid|msclkid|yclid|mc_cid|mc_eid|_ga|_gl|igshid|"
    r"ref_src|ref_url|cmpid|s_cid|at_medium|at_campaign|wt_mc|wt\.mc_id|__twitter_impression|"
    r"oly_anon_id|oly_enc_id|vero_id|mkt_tok|_hsenc|_hsmi|hsctatracking)$",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str) -> str:
    """The form of ``url`` used to compare links: lower-case scheme and host, no default port,
    no fragment, no tracking parameters, query sorted. The original stays for display."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return url
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)
    ]
    netloc = parts.hostname.lower()
    if parts.port and parts.port != _DEFAULT_PORTS[parts.scheme.lower()]:
        netloc += f":{parts.port}"
    rebuilt = urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", urlencode(query), ""))
    return canonicalize_url(rebuilt, keep_fragments=False)


def content_hash(entry: ParsedEntry) -> str:
    """Hash of the text that matters for a revision (title, summary, content)."""
    digest = hashlib.sha256()
    for part in (entry.title, entry.summary, entry.content):
        digest.update(" ".join(part.split()).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def _key(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()[:40]}"


# How a feed's entries are told apart, most trusted first. A feed moves down the chain when its
# GUIDs repeat or change (see monitor.stages.decide.identify); it never moves back up on its own.
IDENTITY_MODES = tuple(IdentityMode)  # the chain, from the most trusted down


def entry_key(
    entry: ParsedEntry, canonical: str | None, hash_: str, mode: IdentityMode = IdentityMode.GUID
) -> str:
    """The identity key: the GUID if there is one (and the feed's GUIDs are trusted), else the
    canonical link (if trusted), else the content."""
    if mode is IdentityMode.GUID and entry.guid and entry.guid.strip():
        return _key("guid", entry.guid.strip())
    if mode in (IdentityMode.GUID, IdentityMode.LINK) and canonical:
        return _key("link", canonical)
    return _key("hash", hash_)
