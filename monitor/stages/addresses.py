"""Which IP addresses a feed may make newsmon connect to: the classifier behind the SSRF guard.

A feed URL is data from the outside world (and so is every redirect it answers with); without a
guard it can make the daemon call ``http://169.254.169.254/`` (cloud credentials), the admin
page of a router, or a database on localhost. The guard runs at connect time on the address
actually dialled (see :mod:`monitor.stages.fetch`), so DNS rebinding and IP-literal URLs get no way
around it.

``ipaddress.is_global`` alone is not enough (Python 3.11): ``64:ff9b::a9fe:a9fe`` (NAT64 of the
metadata address) and ``2002:7f00:1::`` (6to4 of 127.0.0.1) count as global. So addresses that
embed an IPv4 address (IPv4-mapped, 6to4, NAT64, Teredo) are unwrapped and the IPv4 address is
judged; NAT64 of a *public* address stays allowed, since that is how an IPv6-only host with
NAT64 reaches IPv4-only sites.
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

_IPV4_RANGES: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), reason)
    for net, reason in (
        ("0.0.0.0/8", "unspecified, 'this network'"),
        ("10.0.0.0/8", "private, RFC 1918"),
        ("100.64.0.0/10", "carrier-grade NAT, RFC 6598"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local, where cloud metadata lives"),
        ("172.16.0.0/12", "private, RFC 1918"),
        ("192.0.0.0/24", "IETF protocol assignment"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private, RFC 1918"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
    )
)

_IPV6_RANGES: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "IPv4-compatible, deprecated"),
        ("64:ff9b:1::/48", "local-use NAT64, RFC 8215"),
        ("100::/64", "discard-only"),
        ("2001:db8::/32", "documentation"),
        ("fc00::/7", "unique local, ULA"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local, deprecated"),
        ("ff00::/8", "multicast"),
    )
)

_NAT64 = IPv6Network("64:ff9b::/96")


def _embedded_ipv4(address: IPv6Address) -> tuple[IPv4Address, str] | None:
    """The IPv4 address an IPv6 address carries, and how, for the forms that route to it."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped, "IPv4-mapped"
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFF_FFFF), "NAT64"
    if address.sixtofour is not None:
        return address.sixtofour, "6to4"
    if address.teredo is not None:
        return address.teredo[1], "Teredo"
    return None


def _classify_ipv4(address: IPv4Address) -> str | None:
    if address == IPv4Address("255.255.255.255"):
        return "broadcast"
    for network, reason in _IPV4_RANGES:
        if address in network:
            return reason
    return None if address.is_global else "not globally routable"


def classify_address(host: str) -> str | None:
    """Why ``host`` (an IP address as text) is not a public address, or None if it is.

    Anything that is not a valid IP address is refused too: the guard only ever sees addresses
    that a socket is about to connect to.
    """
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone ("%eth0")
    except ValueError:
        return "not an IP address"
    if isinstance(address, IPv4Address):
        return _classify_ipv4(address)
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        inner, form = embedded
        reason = _classify_ipv4(inner)
        if reason is not None:
            return f"{reason}, as {form} {inner}"
        # Teredo's whole prefix is outside the global unicast space (IANA special-purpose).
        return "Teredo tunnel" if form == "Teredo" else None
    for network, reason in _IPV6_RANGES:
        if address in network:
            return reason
    return None if address.is_global else "not globally routable"
