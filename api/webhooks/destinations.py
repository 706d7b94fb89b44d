"""Where a webhook may be sent: the URL rules and the address check that keep deliveries outward.

A callback URL is ``https`` with a host and no user info, unless its origin (``scheme://host:port``)
is on the configured allow-list (:attr:`api.context.ApiSettings.webhook_allow`), which also
permits plain ``http`` and non-public addresses (an integration inside the operator's network,
a test receiver on loopback). Every address the host resolves to must be public: not loopback,
private, link-local, shared (CGNAT), multicast, unspecified, reserved or documentation space, and
never a cloud metadata address (refused even for an allow-listed origin); IPv6 only from global
unicast (``2000::/3``). IPv6 addresses that carry an IPv4 address (IPv4-mapped and -compatible,
6to4, NAT64) are judged by that IPv4 address.

:func:`pin` resolves and checks once and returns the address to connect to, so the connection
goes to the address that was checked (a DNS answer that changes in between cannot swap it).
The reasons in :class:`DestinationRefused` are safe to show the caller: a host name that does not
resolve and one that resolves to an internal address get the same message, so the check cannot be
used to map the operator's internal DNS.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
"""(host, port) -> the addresses the host resolves to, as strings."""

DEFAULT_PORTS = {"http": 80, "https": 443}

METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean instance metadata
    "169.254.170.2",  # AWS ECS task metadata
    "169.254.170.23",  # AWS EKS pod identity
    "100.100.100.200",  # Alibaba Cloud
    "168.63.129.16",  # Azure wire server (a public address)
    "192.0.0.192",  # Oracle Cloud
    "fd00:ec2::254",  # AWS instance metadata over IPv6
    "fd00:ec2::23",  # AWS EKS pod identity over IPv6
))
"""Addresses of cloud metadata services: refused even when an allow-list entry matches."""

NOT_PUBLIC = tuple(ipaddress.ip_network(n) for n in (
    "192.0.0.0/24",  # IETF protocol assignments (Python 3.11 calls parts of it global)
    "192.88.99.0/24",  # deprecated 6to4 relay anycast
    "fec0::/10",  # deprecated site-local
    "3fff::/20",  # documentation (RFC 9637)
))
"""Special-purpose blocks refused beside what :mod:`ipaddress` flags (its tables vary by Python
version)."""

GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
UNRESOLVED = "the host does not resolve to a public address"


class DestinationRefused(ValueError):
    """A callback URL or address that webhooks are not sent to; the message is caller-safe."""


@dataclass(frozen=True)
class Target:
    """A parsed callback URL: what to connect to and what to say in the request."""

    scheme: str
    host: str
    """lower-case host name or IP address (IPv6 without brackets)"""
    port: int
    raw_path: str
    """path and query, as sent in the request line"""
    allow_listed: bool

    @property
    def origin(self) -> str:
        return origin_of(self.scheme, self.host, self.port)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"

    @property
    def literal(self) -> IPAddress | None:
        """The host as an IP address when the URL names one."""
        return ip_literal(self.host)


def origin_of(scheme: str, host: str, port: int) -> str:
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port}"


def allow_list(entries: Iterable[str]) -> frozenset[str]:
    """Normalised origins (``scheme://host:port``, default port filled in) of allow-list entries
    such as ``http://127.0.0.1:8080`` or ``https://tickets.internal``; paths are not allowed."""
    out = set()
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        parts = urlsplit(entry)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.username is not None \
                or parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"webhook allow-list entry {entry!r} is not an origin such as "
                             "'https://host' or 'http://host:port'")
        literal = ip_literal(parts.hostname)
        host = str(literal) if literal is not None else parts.hostname.rstrip(".")
        out.add(origin_of(parts.scheme, host, parts.port or DEFAULT_PORTS[parts.scheme]))
    return frozenset(out)


def ip_literal(host: str) -> IPAddress | None:
    """``host`` as an IP address if it is one, legacy IPv4 spellings (``127.1``, ``0x7f.1``,
    ``2130706433``) included, else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefx." for c in host) and any(c.isdigit() for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def parse(url: str, allowed: frozenset[str]) -> Target:
    """Check the URL's form (scheme, host, port, no user info); raise :class:`DestinationRefused`."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DestinationRefused(f"not a valid URL: {exc}") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").rstrip(".")
    if scheme not in DEFAULT_PORTS:
        raise DestinationRefused("the URL must start with https://")
    if not host:
        raise DestinationRefused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused("the URL must not carry a user name or password")
    if port == 0:
        raise DestinationRefused("port 0 is not a destination")
    literal = ip_literal(host)
    if literal is not None:
        host = str(literal)
    port = port or DEFAULT_PORTS[scheme]
    allow_listed = origin_of(scheme, host, port) in allowed
    if scheme != "https" and not allow_listed:
        raise DestinationRefused("the URL must start with https:// (plain http only for an "
                                 "allow-listed origin)")
    raw_path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, host, port, raw_path, allow_listed)


def refusal(ip: IPAddress) -> str | None:
    """Why webhooks are not sent to ``ip`` (None: a public address)."""
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            return refusal(inner)
    for test, what in ((ip.is_loopback, "a loopback"), (ip.is_unspecified, "an unspecified"),
                       (ip.is_link_local, "a link-local"), (ip.is_multicast, "a multicast"),
                       (ip.is_private, "a private"), (ip.is_reserved, "a reserved")):
        if test:
            return f"{what} address"
    if any(ip in n for n in NOT_PUBLIC) or not ip.is_global or (
            ip.version == 6 and ip not in GLOBAL_UNICAST_V6):
        return "not a public address"
    return None


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, 6to4, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64 or (ip in IPV4_COMPATIBLE and int(ip) > 1):  # ::1 and :: are not IPv4
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses of ``host`` by the operating system's resolver (``getaddrinfo``)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def pin(target: Target, resolver: Resolver) -> IPAddress:
    """The address to connect to: the URL's IP or the host's first resolved address, after
    checking every address it resolves to (all must be public unless the origin is
    allow-listed; metadata addresses never). Raises :class:`DestinationRefused`."""
    literal = target.literal
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = [ipaddress.ip_address(a.split("%")[0])
                         for a in resolver(target.host, target.port)]
        except (OSError, UnicodeError, ValueError):
            raise DestinationRefused(UNRESOLVED) from None
        if not addresses:
            raise DestinationRefused(UNRESOLVED)
    for ip in addresses:
        why = refusal(ip)
        if why is None or (target.allow_listed and ip not in METADATA_ADDRESSES):
            continue
        if literal is None:  # say nothing about what an internal name resolves to
            raise DestinationRefused(UNRESOLVED)
        raise DestinationRefused(f"{literal} is {why}; webhooks go to public addresses only")
    return addresses[0]


def check(url: str, allowed: frozenset[str], resolver: Resolver) -> Target:
    """Parse and pin ``url`` (the registration check); raise :class:`DestinationRefused`."""
    target = parse(url, allowed)
    pin(target, resolver)
    return target
