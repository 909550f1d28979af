"""How a package physically leaves: a file in the outbox folder of a file-based axis gateway, or an HTTP POST to
the axis, a provincial LGSP adapter or another installation of this system (`/interop/packages`).

UNSURE: the national axis (VPCP X-Road SDK) and the LGSPs authenticate with their own credentials (SystemId +
SecretKey headers) and wrap packages in their own calls; what is built here is the plain form: the package as the
request body, a bearer token, 2xx = acknowledged. An adapter for a specific axis plugs in at `deliver`."""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.interop.services import Settings

CONTENT_TYPE = "application/xml; charset=utf-8"


class TransportError(Exception):
    """The package was not acknowledged; the message says why (kept on the package and shown to the sender)."""


def deliver(transport: str, endpoint: str, file_name: str, content: bytes, settings: Settings) -> None:
    if transport == "directory":
        write_file(Path(settings.outbox_dir) if settings.outbox_dir else None, file_name, content)
    elif transport == "http":
        post(endpoint, content, token=settings.http_token, timeout=settings.http_timeout)
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


def post(url: str, content: bytes, *, token: str, timeout: float) -> None:
    if not url.startswith(("http://", "https://")):
        raise TransportError(f"not an http(s) URL: {url!r}")
    request = urllib.request.Request(url, data=content, method="POST")
    request.add_header("Content-Type", CONTENT_TYPE)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as error:
        body = error.read()[:300].decode("utf-8", "replace")
        raise TransportError(f"HTTP {error.code} from {url}: {body}") from error
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        raise TransportError(f"cannot reach {url}: {getattr(error, 'reason', error)}") from error
