"""Screening feed bodies for XML entity tricks before feedparser sees them.

feedparser alone is not safe (research/reliability.md §3.2): it drops nested and external entity
declarations, but keeps simple ones, and when expat refuses a *quadratic blowup* (one 50 kB
entity referenced 20,000 times in a 110 kB body) feedparser's lenient fallback parser expands the
entity itself, into gigabytes. A body cap cannot help: the input is small.

So a body that declares entities is checked first, and refused with :class:`UnsafeXML` when:

* an entity is external (``SYSTEM`` or ``PUBLIC``: file reads, requests to other hosts) or a
  parameter entity (``<!ENTITY % ...>``, the way to smuggle external DTDs in), but for the one
  idiom below;
* an entity's value refers to other entities (any ``&name;`` but the five predefined ones,
  also when spelt ``&#38;name;``, or any ``%``): the "billion laughs" nesting;
* there are more than :data:`MAX_ENTITIES` declarations, or their references would expand to
  more than :data:`MAX_EXPANSION` characters in all (quadratic blowup).

The old RSS 1.0 idiom ``<!ENTITY % HTMLlat1 PUBLIC "-//W3C//ENTITIES Latin 1 for XHTML//EN"
"http://www.w3.org/TR/xhtml1/DTD/xhtml-lat1.ent"> %HTMLlat1;`` names a public entity set, to be
used as it is referenced right there in the internal subset. :func:`screen_xml` cuts such a
declaration and its bare references out of the doctype, so the body is parsed with nothing
fetched and nothing expanded (HTML entities the set would have defined are read leniently, as
any undefined entity is). A parameter entity with only a ``SYSTEM`` identifier is still refused.

Benign feeds that declare a few small entities (``<!ENTITY nbsp "&#160;">``) pass unchanged. A
``<!DOCTYPE rss PUBLIC ... "http://my.netscape.com/...dtd">`` without entity declarations is
harmless (nothing fetches it) and passes too.
"""

from __future__ import annotations

import codecs
import re

from monitor.base.errors import UnsafeXML

MAX_ENTITIES = 64
MAX_EXPANSION = 1024 * 1024

_ENTITY_START = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DECLARATION = re.compile(
    rb"""<!ENTITY\s+(?P<param>%\s+)?(?P<name>[^\s"'>%&;]+)\s*
        (?:(?P<external>SYSTEM|PUBLIC)\b|"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')""",
    re.IGNORECASE | re.VERBOSE,
)
# A parameter entity naming a public entity set: ``<!ENTITY % name PUBLIC "id" "uri">``.
_PUBLIC_SET = re.compile(
    rb"""<!ENTITY\s+%\s+(?P<name>[^\s"'>%&;]+)\s+PUBLIC\s+
        (?:"[^"<>]*"|'[^'<>]*')\s+(?:"[^"<>]*"|'[^'<>]*')\s*>""",
    re.IGNORECASE | re.VERBOSE,
)
_INTERNAL_SUBSET = re.compile(
    rb"<!DOCTYPE[^\[>]*\[(?P<subset>.*?)\]\s*>", re.IGNORECASE | re.DOTALL
)
_CHAR_REFERENCE = re.compile(rb"&#([0-9]+|x[0-9a-fA-F]+);")
_PREDEFINED = re.compile(rb"&(?:amp|lt|gt|quot|apos);")

_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _ascii_view(body: bytes) -> bytes:
    """The body in an ASCII-compatible encoding, so that markup can be found as bytes.

    UTF-16 and UTF-32 bodies (told by their BOM, or by the zero bytes around the first ``<``)
    are re-encoded as UTF-8 for scanning only; every other encoding feeds use is ASCII-compatible.
    """
    for bom, codec in _WIDE_BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(codec, errors="replace").encode()
    head = body[:4]
    for pattern, codec in (
        (b"<\0\0\0", "utf-32-le"),
        (b"\0\0\0<", "utf-32-be"),
        (b"<\0", "utf-16-le"),
        (b"\0<", "utf-16-be"),
    ):
        if head.startswith(pattern):
            return body.decode(codec, errors="replace").encode()
    return body


def screen_xml(body: bytes, url: str) -> bytes:
    """The body to parse: ``body`` itself, or without its public entity sets (see the module
    docstring). Raise :class:`UnsafeXML` if it declares entities that are external, nested or
    big."""
    if not _ENTITY_START.search(body) and b"\0" not in body[:4]:
        return body
    text = _ascii_view(body)
    if text is body:
        body = text = _without_public_sets(body)
    _screen(text, url)
    return body


def _without_public_sets(body: bytes) -> bytes:
    """``body`` with each public parameter-entity set cut from its doctype's internal subset,
    with the set's bare ``%name;`` references there."""
    doctype = _INTERNAL_SUBSET.search(body)
    if doctype is None:
        return body
    subset = doctype["subset"]
    for match in _PUBLIC_SET.finditer(doctype["subset"]):
        subset = subset.replace(match[0], b"")
        # Bare references only: one inside a quoted value stays, for the nesting check.
        reference = rb"""("[^"]*"|'[^']*')|%""" + re.escape(match["name"]) + rb";"
        subset = re.sub(reference, lambda m: m[1] or b"", subset)
    if subset == doctype["subset"]:
        return body
    start, end = doctype.span("subset")
    return body[:start] + subset + body[end:]


def _screen(text: bytes, url: str) -> None:
    starts = [m.start() for m in _ENTITY_START.finditer(text)]
    if not starts:
        return
    if len(starts) > MAX_ENTITIES:
        raise UnsafeXML(
            url,
            f"unsafe XML: {len(starts)} entity declarations (at most {MAX_ENTITIES} are accepted)",
        )
    values: dict[bytes, int] = {}
    for start in starts:
        match = _DECLARATION.match(text, start)
        if match is None:
            raise UnsafeXML(url, "unsafe XML: an entity declaration that cannot be read")
        name = match["name"]
        shown = name.decode(errors="replace")
        if match["param"]:
            raise UnsafeXML(url, f"unsafe XML: parameter entity %{shown} refused")
        if match["external"]:
            raise UnsafeXML(url, f"unsafe XML: external entity &{shown}; refused")
        value = match["dq"] if match["dq"] is not None else match["sq"]
        if _nests(value):
            raise UnsafeXML(url, f"unsafe XML: entity &{shown}; is defined by other entities")
        values[name] = len(value)
    _check_expansion(text, values, url)


def _nests(value: bytes) -> bool:
    """Whether an entity's replacement text refers to other entities.

    Character references are replaced when the entity is declared, so ``&#38;b;`` becomes
    ``&b;``: a reference after all. The five predefined entities cannot nest.
    """

    def character(match: re.Match[bytes]) -> bytes:
        number = match[1]
        code = int(number[1:], 16) if number.startswith(b"x") else int(number)
        return chr(code).encode() if code in (0x25, 0x26) else b""

    replacement = _CHAR_REFERENCE.sub(character, value)
    bare = _PREDEFINED.sub(b"", replacement)
    return b"&" in bare or b"%" in bare


def _check_expansion(text: bytes, lengths: dict[bytes, int], url: str) -> None:
    names = b"|".join(re.escape(name) for name in lengths)
    expansion = 0
    for match in re.finditer(rb"&(" + names + rb");", text):
        expansion += lengths[match[1]]
        if expansion > MAX_EXPANSION:
            raise UnsafeXML(
                url,
                f"unsafe XML: entity references would expand to more than {MAX_EXPANSION} "
                "characters",
            )
