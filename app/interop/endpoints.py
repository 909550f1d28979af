"""Which URLs packages may be sent to: https only (http for allow-listed hosts), never a loopback, private,
link-local or otherwise non-public address unless the installation allows it (issue 12, hole 3)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

from app.errors import N_, InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Policy:
    """INTEROP_ALLOWED_HOSTS (http allowed for them) and INTEROP_ALLOW_PRIVATE_ENDPOINTS, as create_app read them."""

    allowed_hosts: frozenset[str] = frozenset()
    allow_private: bool = False


@dataclass(frozen=True)
class Target:
    """A checked endpoint: connect to `address` (the one that was checked), speak to `host`."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


class EndpointRefused(InvalidInput):
    """An endpoint packages may not be sent to; the message names the reason."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message, {"endpoint": N_("Enter an https:// address of a public server.")}, **params)


def allowed_hosts(setting: str | tuple[str, ...] | list[str]) -> frozenset[str]:
    """The comma list of INTEROP_ALLOWED_HOSTS, lower-cased, brackets of IPv6 literals removed."""
    parts = setting.split(",") if isinstance(setting, str) else setting
    return frozenset(part.strip().strip("[]").lower() for part in parts if part.strip())


def _split(url: str) -> tuple[SplitResult, str, int]:
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise EndpointRefused(N_("The HTTP transport needs an https:// address."))
    parts = urlsplit(url)
    try:
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        raise EndpointRefused(N_("%(url)s is not a valid address."), url=url) from None
    if parts.scheme not in ("http", "https") or not host:
        raise EndpointRefused(N_("The HTTP transport needs an https:// address."))
    if parts.username is not None or parts.password is not None:
        raise EndpointRefused(N_("An endpoint may not carry a user name or password; the token is a setting."))
    return parts, host, port or (443 if parts.scheme == "https" else 80)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_public(address: IPAddress) -> bool:
    """A global unicast address: not loopback, private, link-local, multicast, reserved or unspecified, also when
    written as an IPv4-mapped, IPv4-compatible, 6to4 or Teredo IPv6 address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is None and int(address) >> 32 == 0:  # ::a.b.c.d, the deprecated IPv4-compatible form
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not is_public(embedded):
            return False
        if address.is_site_local:
            return False
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def _resolve(host: str, port: int) -> list[IPAddress]:
    literal = _literal(host)
    if literal is not None:
        return [literal]
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]
        address = _literal(text)
        if address is not None and address not in found:
            found.append(address)
    return found


def check(url: str, policy: Policy, *, resolve: bool = True) -> Target | None:
    """The endpoint's target when packages may go there, else EndpointRefused with the reason. An https address
    is required unless the host is allow-listed; every address the host resolves to must be public unless the
    policy allows private ones. A name that does not resolve is accepted when saved (`resolve` False tells the
    caller it may be unresolvable: None is returned) and refused at send time."""
    parts, host, port = _split(url)
    if parts.scheme != "https" and host not in policy.allowed_hosts:
        raise EndpointRefused(N_("%(url)s is not an https:// address."), url=url)
    if (host == "localhost" or host.endswith(".localhost")) and not policy.allow_private:
        raise EndpointRefused(N_("%(host)s is this server or a private network."), host=host)
    try:
        addresses = _resolve(host, port)
    except (OSError, UnicodeError) as error:
        if not resolve:
            return None
        raise EndpointRefused(
            N_("The name %(host)s cannot be resolved: %(detail)s"), host=host, detail=str(error)
        ) from None
    if not addresses:
        if not resolve:
            return None
        raise EndpointRefused(N_("The name %(host)s cannot be resolved: %(detail)s"), host=host, detail="")
    if not policy.allow_private:
        for address in addresses:
            if not is_public(address):
                raise EndpointRefused(
                    N_("%(host)s is this server or a private network (%(address)s)."),
                    host=host,
                    address=str(address),
                )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, str(addresses[0]))
