"""The org's connected app: consumer key and secret, and the JWT certificate.

Salesforce verifies a JWT bearer assertion against the certificate uploaded
to the connected app; the emulator generates the key pair itself, writes the
private key where a client can read it, and keeps the certificate.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

_CERT_NAME = "sfsync emulator connected app"


class OAuthError(Exception):
    """A refused token request; `status` is 400 unless the client must authenticate."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True)
class Credentials:
    """Everything a client needs to authenticate against the emulator, by any grant."""

    client_id: str
    client_secret: str = field(repr=False)
    # The run-as (integration) user's login, for the password and JWT grants.
    username: str
    password: str = field(repr=False)
    security_token: str = field(repr=False)
    # PEM of the key whose certificate is uploaded to the connected app (JWT bearer).
    private_key_file: Path
    # A session issued at start, so a client can call the API without a grant.
    access_token: str = field(repr=False)


def new_private_key() -> rsa.RSAPrivateKey:
    """An RSA key for RS256 assertions (Salesforce accepts only RSA certificates)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _self_signed(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _CERT_NAME)])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


class ConnectedApp:
    """Consumer key/secret, the uploaded certificate, and the run-as user's password."""

    def __init__(
        self, directory: Path, run_as_username: str, key: rsa.RSAPrivateKey | None = None
    ) -> None:
        private_key = key or new_private_key()
        self.client_id = "3MVG9" + secrets.token_urlsafe(60).replace("-", "A").replace("_", "z")
        self.client_secret = secrets.token_hex(32).upper()
        self.run_as_username = run_as_username
        self.password = "Emu-" + secrets.token_urlsafe(12)
        self.security_token = secrets.token_hex(12)
        self.certificate = _self_signed(private_key)
        self.private_key_file = directory / "connected-app.key"
        self.private_key_file.write_bytes(
            private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.private_key_file.chmod(0o600)
        self.certificate_file = directory / "connected-app.crt"
        self.certificate_file.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def public_key_pem(self) -> bytes:
        """The public key of the uploaded certificate, for verifying assertions."""
        return self.certificate.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def secret_matches(self, secret: str) -> bool:
        """Constant-time comparison, as a credential check should be."""
        return hmac.compare_digest(secret.encode(), self.client_secret.encode())

    def password_matches(self, username: str, password_and_token: str) -> bool:
        """True for the run-as user's password followed by its security token."""
        expected = self.password + self.security_token
        user_ok = username.lower() == self.run_as_username.lower()
        return user_ok and hmac.compare_digest(password_and_token.encode(), expected.encode())
