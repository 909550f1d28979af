"""How a package physically leaves: a file in the outbox folder of a file-based axis gateway, or an HTTP POST to
the axis, a provincial LGSP adapter or another installation of this system (`/interop/packages`).

UNSURE: the national axis (VPCP X-Road SDK) and the LGSPs authenticate with their own credentials (SystemId +
SecretKey headers) and wrap packages in their own calls; what is built here is the plain form: the package as the
request body, a bearer token, 2xx = acknowledged. An adapter for a specific axis plugs in at `deliver`."""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.interop import endpoints
from app.interop.endpoints import Policy

if TYPE_CHECKING:
    from app.interop.services import Settings

CONTENT_TYPE = "application/xml; charset=utf-8"


class TransportError(Exception):
    """The package was not acknowledged; the message says why (kept on the package and shown to the sender)."""


def deliver(transport: str, endpoint: str, file_name: str, content: bytes, settings: Settings) -> None:
    if transport == "directory":
        write_file(Path(settings.outbox_dir) if settings.outbox_dir else None, file_name, content)
    elif transport == "http":
        post(
            endpoint, content, token=settings.http_token, timeout=settings.http_timeout, policy=settings.endpoint_policy
        )
    else:
        raise TransportError(f"no transport named {transport!r}")


def write_file(folder: Path | None, name: str, content: bytes) -> Path:
    """Write atomically: a gateway watching the folder never sees half a package (temporary name, then rename)."""
    if folder is None:
        raise TransportError("INTEROP_OUTBOX_DIR is not set")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".part-")
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        target = folder / name
        os.replace(temporary, target)
    except OSError as error:
        raise TransportError(f"cannot write to {folder}: {error}") from error
    return target


def post(url: str, content: bytes, *, token: str, timeout: float, policy: Policy) -> None:
    """POST the package to the address checked now (DNS may have changed since the entry was saved), connecting to
    the very address that was checked; a redirect is an error, never followed."""
    try:
        target = endpoints.check(url, policy)
    except endpoints.EndpointRefused as refused:
        from app.interop.services import in_vietnamese

        raise TransportError(in_vietnamese(refused.message, refused.params)) from None
    assert target is not None
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    address = target.address

    def pinned(where: tuple[str, int], timeout: float | None = None, source: Any = None) -> socket.socket:
        return socket.create_connection((address, where[1]), timeout, source)

    connection._create_connection = pinned  # type: ignore[attr-defined]  # the checked address, not a new lookup
    headers = {"Content-Type": CONTENT_TYPE, "Content-Length": str(len(content))}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request("POST", target.path, body=content, headers=headers)
        response = connection.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as error:
        raise TransportError(f"cannot reach {url}: {error}") from error
    finally:
        connection.close()
    if 300 <= response.status < 400:
        raise TransportError(f"HTTP {response.status} from {url}: redirects are not followed")
    if not 200 <= response.status < 300:
        raise TransportError(f"HTTP {response.status} from {url}: {body[:300].decode('utf-8', 'replace')}")
