"""TLS for the emulator: a throw-away CA and a loopback server certificate.

Clients must verify the emulator like any org (TLS verification stays on in
sfsync), so the emulator writes its CA to a PEM file that callers point
`REQUESTS_CA_BUNDLE` at.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme

# Names a client may use for the loopback emulator.
SERVER_NAMES = ("127.0.0.1", "localhost", "::1")


class TlsMaterial:
    """A fresh CA (PEM written to `directory`) and a server context signed by it."""

    def __init__(self, directory: Path) -> None:
        ca = trustme.CA(organization_name="sfsync emulator")
        leaf = ca.issue_cert(*SERVER_NAMES)
        self.ca_file = directory / "emulator-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        leaf.configure_cert(self.context)
