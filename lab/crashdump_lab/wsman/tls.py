"""The certificate of the lab's HTTPS listeners, made by the lab itself.

Like ``New-SelfSignedCertificate`` for a WinRM HTTPS listener: a self-signed
server-authentication certificate naming the listener's addresses. It is kept
in the state directory so a controller can trust it
(``ansible_winrm_ca_trust_path``) across restarts. The ``cryptography``
package comes with pyspnego (a dependency of pywinrm).

NTLM over HTTPS binds the authentication to this certificate: the channel
binding token is "tls-server-end-point:" and the certificate's SHA-256 hash
(RFC 5929 section 4.1; Windows' "Extended Protection for Authentication",
WinRM's Service/Auth/CbtHardeningLevel).
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from spnego.channel_bindings import GssChannelBindings

VALID_DAYS = 365


def certificate(directory, names, addresses):
    """(cert_path, key_path) of a certificate for ``names`` and IP ``addresses``,
    made when missing or when it does not cover them."""
    cert_path = os.path.join(directory, "wsman-https.pem")
    key_path = os.path.join(directory, "wsman-https.key")
    wanted = sorted(set(names)) + sorted(set(addresses))
    if os.path.exists(cert_path) and os.path.exists(key_path) and _covers(cert_path, wanted):
        return cert_path, key_path
    os.makedirs(directory, exist_ok=True)
    # ECDSA P-256: made in milliseconds (a fresh state directory per test makes one each).
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "crashdump-lab WinRM HTTPS")])
    now = datetime.datetime.now(datetime.timezone.utc)
    san = [x509.DNSName(n) for n in sorted(set(names))] + [
        x509.IPAddress(ipaddress.ip_address(a)) for a in sorted(set(addresses))]
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def _covers(cert_path, wanted):
    with open(cert_path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    if cert.not_valid_after_utc < datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1):
        return False
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    have = set(san.get_values_for_type(x509.DNSName)) | {str(a) for a in san.get_values_for_type(x509.IPAddress)}
    return set(wanted) <= have


def server_context(cert_path, key_path):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


def channel_bindings(cert_path):
    """The NTLM channel bindings a client computes from this certificate
    (RFC 5929 4.1: the hash of its signature algorithm, SHA-256 here)."""
    with open(cert_path, "rb") as f:
        der = x509.load_pem_x509_certificate(f.read()).public_bytes(serialization.Encoding.DER)
    return GssChannelBindings(application_data=b"tls-server-end-point:" + hashlib.sha256(der).digest())
