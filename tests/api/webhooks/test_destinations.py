"""The destination check of webhooks: which URLs and addresses are refused, without connecting.

Nothing here opens a connection or asks a DNS server: the resolver is a fixed table.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.webhooks import destinations as d

# Special-purpose IPv4 blocks that are not globally reachable (IANA IPv4 Special-Purpose Address
# Registry, RFC 6890 and successors), written out here as the independent reference.
NOT_GLOBAL_V4 = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "192.88.99.0/24")]


def table(**names: list[str]):
    def resolve(host: str, port: int) -> list[str]:
        if host not in names:
            raise OSError(f"unknown test host {host}")
        return names[host]
    return resolve


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254",
    "169.254.170.2", "0.0.0.0", "100.64.0.1", "100.100.100.200", "168.63.129.16", "192.0.0.192",
    "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "198.18.0.1", "192.0.2.1",
    "::1", "::", "fe80::1", "fe80::1%eth0", "fc00::1", "fd00:ec2::254", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "::127.0.0.1",
    "2002:7f00:1::1", "2002:a9fe:a9fe::", "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe", "2001:db8::1",
    "fec0::1", "3fff::1", "5f00::1", "64:ff9b:1::1", "100::1", "2001:10::1", "192.0.0.8",
    "192.88.99.1",
])
def test_inward_addresses_are_refused(address):
    ip = ipaddress.ip_address(address)
    assert d.refusal(ip) is not None
    with pytest.raises(d.DestinationRefused):
        d.pin(d.parse(f"https://[{ip}]/h" if ip.version == 6 else f"https://{ip}/h",
                      frozenset()), table())


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "93.184.216.34",
                                     "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::"])
def test_public_addresses_pass(address):
    assert d.refusal(ipaddress.ip_address(address)) is None


@given(st.ip_addresses(v=4))
def test_ipv4_verdict_matches_the_registry_in_every_ipv6_wrapping(ip):
    public = not any(ip in n for n in NOT_GLOBAL_V4) and ip not in d.METADATA_ADDRESSES
    wrapped = [ipaddress.IPv6Address(f"::ffff:{ip}"),  # IPv4-mapped
               ipaddress.IPv6Address((0x2002 << 112) | (int(ip) << 80)),  # 6to4
               ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(ip))]  # NAT64
    for candidate in [ip, *wrapped]:
        assert (d.refusal(candidate) is None) is public, candidate


@pytest.mark.parametrize("url, why", [
    ("http://example.com/h", "https"),
    ("ftp://example.com/h", "https"),
    ("https://user:pw@example.com/h", "user name"),
    ("https://example.com:0/h", "port 0"),
    ("https:///h", "no host"),
    ("https://example.com:99999/h", "not a valid URL"),
])
def test_url_form_is_refused(url, why):
    with pytest.raises(d.DestinationRefused, match=why):
        d.parse(url, frozenset())


def test_legacy_ipv4_spellings_are_read_as_addresses():
    for spelling in ("2130706433", "0x7f.1", "127.1", "0177.0.0.1"):
        assert d.ip_literal(spelling) == ipaddress.ip_address("127.0.0.1")
        with pytest.raises(d.DestinationRefused, match="loopback"):
            d.check(f"https://{spelling}/h", frozenset(), table())
    assert d.ip_literal("cafe.example") is None and d.ip_literal("deadbeef") is None


def test_a_name_is_refused_when_any_of_its_addresses_is_inward_and_the_reason_says_nothing():
    resolve = table(**{"mixed.test": ["93.184.216.34", "10.0.0.7"],
                       "inside.test": ["192.168.0.10"], "meta.test": ["169.254.169.254"],
                       "empty.test": [], "fine.test": ["93.184.216.34", "2606:4700::1"]})
    reasons = set()
    for host in ("mixed.test", "inside.test", "meta.test", "empty.test", "nowhere.test"):
        with pytest.raises(d.DestinationRefused) as caught:
            d.check(f"https://{host}/h", frozenset(), resolve)
        reasons.add(str(caught.value))
    assert reasons == {d.UNRESOLVED}  # internal names and unknown names look the same
    target = d.parse("https://fine.test/h", frozenset())
    assert d.pin(target, resolve) == ipaddress.ip_address("93.184.216.34")


def test_the_allow_list_permits_http_and_internal_addresses_but_never_metadata():
    allowed = d.allow_list(["http://127.0.0.1:8080", " https://Tickets.Internal ", ""])
    assert allowed == {"http://127.0.0.1:8080", "https://tickets.internal:443"}
    resolve = table(**{"tickets.internal": ["10.1.2.3"], "meta.internal": ["169.254.169.254"]})
    loop = d.check("http://127.0.0.1:8080/hook?x=1", allowed, resolve)
    assert (loop.allow_listed, loop.host_header, loop.raw_path) == (True, "127.0.0.1:8080",
                                                                     "/hook?x=1")
    assert d.pin(d.parse("https://tickets.internal/h", allowed), resolve) == \
        ipaddress.ip_address("10.1.2.3")
    with pytest.raises(d.DestinationRefused):  # another port of the same host is not listed
        d.check("http://127.0.0.1:8081/hook", allowed, resolve)
    meta = d.allow_list(["https://meta.internal", "http://169.254.169.254"])
    for url in ("https://meta.internal/", "http://169.254.169.254/latest/meta-data"):
        with pytest.raises(d.DestinationRefused):
            d.check(url, meta, resolve)
    for bad in ("127.0.0.1:8080", "http://host/path", "ftp://host", "http://u:p@host"):
        with pytest.raises(ValueError, match="allow-list entry"):
            d.allow_list([bad])


def test_host_header_keeps_the_port_and_brackets():
    assert d.parse("https://[2606:4700::1]:8443/h", frozenset()).host_header == \
        "[2606:4700::1]:8443"
    assert d.parse("https://Example.COM./h", frozenset()).host_header == "example.com"
