"""The address classifier behind the SSRF guard, as a table: what is public and what is not."""

from __future__ import annotations

import pytest

from monitor.stages.addresses import classify_address

REFUSED = [
    # IPv4
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("10.0.0.1", "private, RFC 1918"),
    ("172.16.0.1", "private, RFC 1918"),
    ("172.31.255.255", "private, RFC 1918"),
    ("192.168.1.1", "private, RFC 1918"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("169.254.169.254", "link-local, where cloud metadata lives"),
    ("169.254.0.1", "link-local"),
    ("192.0.0.8", "IETF protocol assignment"),
    ("192.0.2.10", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("192.88.99.1", "6to4 relay anycast"),
    ("198.18.0.1", "benchmarking"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    # IPv6
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("::127.0.0.1", "IPv4-compatible"),
    ("fc00::1", "unique local"),
    ("fd12:3456:789a::1", "unique local"),
    ("fd00:ec2::254", "unique local"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("100::1", "discard-only"),
    ("64:ff9b:1::a00:1", "local-use NAT64"),
    # IPv6 forms that carry an IPv4 address
    ("::ffff:127.0.0.1", "loopback, as IPv4-mapped 127.0.0.1"),
    ("::ffff:7f00:1", "loopback, as IPv4-mapped 127.0.0.1"),
    ("::ffff:169.254.169.254", "link-local, where cloud metadata lives, as IPv4-mapped"),
    ("::ffff:10.1.2.3", "private, RFC 1918, as IPv4-mapped 10.1.2.3"),
    ("64:ff9b::a9fe:a9fe", "as NAT64 169.254.169.254"),
    ("64:ff9b::7f00:1", "loopback, as NAT64 127.0.0.1"),
    ("2002:7f00:1::", "loopback, as 6to4 127.0.0.1"),
    ("2002:a9fe:a9fe::1", "as 6to4 169.254.169.254"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "as Teredo 127.0.0.1"),
    ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", "Teredo tunnel"),  # client 8.8.8.8
    # not an address at all
    ("localhost", "not an IP address"),
    ("", "not an IP address"),
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "172.32.0.1",  # just past 172.16/12
    "100.128.0.1",  # just past 100.64/10
    "169.255.0.1",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",  # IPv4-mapped public
    "64:ff9b::808:808",  # NAT64 of a public address: how IPv6-only hosts reach IPv4 sites
    "2002:808:808::1",  # 6to4 of a public address
]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_non_public_addresses_are_refused_with_a_reason(address: str, reason: str) -> None:
    found = classify_address(address)
    assert found is not None
    assert reason in found


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert classify_address(address) is None
