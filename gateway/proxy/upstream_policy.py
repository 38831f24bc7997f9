"""Which back-end addresses a platform may be pointed at (OWASP API7, server-side request forgery).

A platform calls whatever address an admin registers, with its own network position: an
address is refused when it reaches something that is not a back end. Loopback and private
ranges stay allowed, since the sandbox's back ends live there; refused are link-local (where
cloud metadata services answer), known metadata endpoints, unspecified and multicast
addresses, and the platform's own listening address (a service pointing at its own platform
would loop). `GSP_UPSTREAM_ALLOWED_NETWORKS` lets an address through that would be refused.

DNS rebinding: a name is resolved and every address checked when the service is registered
(`refusal`), and again at every new connection the routed-call forwarder opens
(`connect_refusal`, from its socket factory, on the address actually connected to), so a name
that later resolves to a refused address cannot be reached through the routed path.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from urllib.parse import SplitResult, urlsplit

from apikit.problems import ProblemError
from contracts.problem import FieldError
from gateway.settings import GatewaySettings

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
# Where a platform listens, as the ASGI scope's "server" gives it: (host, port).
OwnAddress = tuple[str, int | None]

# Cloud instance-metadata endpoints: AWS (IPv4, IPv6), ECS task metadata, Alibaba, Oracle.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)
METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
_SCHEMES = {"http": 80, "https": 443}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_v4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped or NAT64), which is where it connects."""
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def address_refusal(address: IPAddress, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """Why a platform must not connect to this address, or None. No I/O."""
    if any(address in network for network in allowed):
        return None
    target = _embedded_v4(address)
    if target != address and any(target in network for network in allowed):
        return None
    if target in METADATA_ADDRESSES:
        return f"{address} is a cloud metadata address"
    if target.is_unspecified or (isinstance(target, IPv4Address) and target.packed[0] == 0):
        return f"{address} is an unspecified address"
    if target.is_link_local:
        return f"{address} is link-local"
    if target.is_multicast or target == IPv4Address("255.255.255.255"):
        return f"{address} is not a unicast address"
    return None


def _is_own(address: IPAddress, port: int, own: Iterable[OwnAddress]) -> bool:
    target = _embedded_v4(address)
    for host, own_port in own:
        if own_port != port:
            continue
        try:
            listening = ipaddress.ip_address(host)
        except ValueError:
            continue  # a unix socket or a name: nothing to compare with
        if listening.is_unspecified:
            if target.is_loopback:  # listening everywhere includes loopback
                return True
        elif _embedded_v4(listening) == target:
            return True
    return False


def static_refusal(url: str, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """What is wrong with the URL itself, without resolving its host (topology files)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a valid URL: {exc}"
    if parts.scheme.lower() not in _SCHEMES:
        return "scheme must be http or https"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "credentials in the URL (user:password@) are not allowed"
    if parts.fragment or "#" in url:
        return "a fragment (#...) is not allowed"
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return "the URL has no host"
    if port == 0:
        return "port 0 is not a port to connect to"
    if host in METADATA_HOSTS:
        return f"{host} is a cloud metadata host"
    literal = _literal(host)
    if literal is not None:
        return address_refusal(literal, allowed)
    return None


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # an IPv6 zone id is not the address
    except ValueError:
        return None


def _port(parts: SplitResult) -> int:
    return parts.port or _SCHEMES[parts.scheme.lower()]


async def resolve(host: str, port: int, within: float) -> list[IPAddress]:
    """Every address `host` resolves to, within `within` seconds (TimeoutError, OSError)."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(within):
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    return list(dict.fromkeys(found))


async def refusal(url: str, settings: GatewaySettings, own: Iterable[OwnAddress]) -> str | None:
    """Why this URL must not be registered as a back end, or None.

    A host name is resolved (within the settings' bound) and every address it gives is
    checked: one refused address is enough, since a connection may go to any of them.
    """
    allowed = settings.upstream_allowed_networks
    resolve_timeout = settings.upstream_resolve_timeout_seconds
    reason = static_refusal(url, allowed)
    if reason is not None:
        return reason
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    port = _port(parts)
    literal = _literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = await resolve(host, port, resolve_timeout)
        except TimeoutError:
            return f"{host} did not resolve within {resolve_timeout:g} s"
        except (OSError, UnicodeError) as exc:
            return f"{host} does not resolve ({exc})"
    for address in addresses:
        reason = address_refusal(address, allowed)
        if reason is not None:
            return reason if literal is not None else f"{host} resolves to {reason}"
        if _is_own(address, port, own):
            return f"{host}:{port} is this platform itself (a call would loop)"
    return None


def connect_refusal(sockaddr: tuple[object, ...], allowed: Sequence[IPNetwork] = ()) -> str | None:
    """For a socket factory: the address about to be connected to, as getaddrinfo gave it."""
    address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
    return address_refusal(address, allowed)


async def check_registration(url: str, settings: GatewaySettings, own: OwnAddress | None) -> None:
    """Refuse an admin's back-end address with a 422 naming the field and the reason.

    `own`: where this platform listens (the ASGI scope's "server").
    """
    reason = await refusal(url, settings, [own] if own else [])
    if reason is not None:
        raise ProblemError(
            422,
            "unsafe-address",
            "Back-end address refused",
            f"{url} cannot be a back end of this platform: {reason}.",
            errors=[FieldError(field="$.body.address", reason=reason)],
        )
