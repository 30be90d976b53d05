"""A self-signed certificate for the Graph credential, as Key Vault hands it to the app:
base64 PKCS#12 with the RSA private key (made here, never a real one)."""

from __future__ import annotations

import base64
import datetime


def key_vault_certificate(password: bytes | None = None) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, NoEncryption, pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "calsync-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    protection = BestAvailableEncryption(password) if password else NoEncryption()
    return base64.b64encode(pkcs12.serialize_key_and_certificates(b"calsync", key, cert, None, protection)).decode()
