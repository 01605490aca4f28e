"""The signatures the payment protocols use, done for real with ``cryptography``.

- WeChat Pay v3: SHA256withRSA (PKCS#1 v1.5) over ``"timestamp\\nnonce\\nbody\\n"`` for
  responses and notifications, over ``"METHOD\\npath\\ntimestamp\\nnonce\\nbody\\n"`` for
  requests; notification resources are AES-256-GCM with the merchant's APIv3 key.
- Alipay: RSA2 (SHA256withRSA) over the parameters sorted by name, ``k=v`` joined by ``&``,
  without ``sign`` and ``sign_type`` and without empty values.
- Bank gateway (EMV QR acquirer, simulator): HMAC-SHA256 over ``"timestamp.body"``, compared
  in constant time, with a tolerance on the timestamp.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def new_rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    """A fresh key pair (tests and the simulated gateway)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    pub = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return pub.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _pem(text: str, kind: str) -> bytes:
    """Accept a PEM, or the bare base64 body Alipay's console hands out."""
    text = text.strip()
    if text.startswith("-----"):
        return text.encode()
    body = "\n".join(text[i : i + 64] for i in range(0, len(text), 64))
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n".encode()


@lru_cache(maxsize=32)
def load_private(text: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(_pem(text, "PRIVATE KEY"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("an RSA private key is needed")
    return key


@lru_cache(maxsize=32)
def load_public(text: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(_pem(text, "PUBLIC KEY"))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("an RSA public key is needed")
    return key


def rsa_sign(private_key: str, message: str) -> str:
    """SHA256withRSA (PKCS#1 v1.5), base64."""
    sig = load_private(private_key).sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(sig).decode()


def rsa_verify(public_key: str, message: str, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        load_public(public_key).verify(raw, message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


# -- WeChat Pay v3 ----------------------------------------------------------------------------


def wechat_message(timestamp: str, nonce: str, body: str) -> str:
    """What a WeChat Pay response or notification signature covers."""
    return f"{timestamp}\n{nonce}\n{body}\n"


def wechat_request_message(method: str, path: str, timestamp: str, nonce: str, body: str) -> str:
    """What the merchant signs in a request's Authorization header."""
    return f"{method}\n{path}\n{timestamp}\n{nonce}\n{body}\n"


def aes_gcm_decrypt(api_v3_key: str, nonce: str, ciphertext_b64: str, associated: str) -> bytes:
    return AESGCM(api_v3_key.encode()).decrypt(
        nonce.encode(), base64.b64decode(ciphertext_b64), associated.encode()
    )


def aes_gcm_encrypt(api_v3_key: str, nonce: str, plaintext: bytes, associated: str) -> str:
    return base64.b64encode(
        AESGCM(api_v3_key.encode()).encrypt(nonce.encode(), plaintext, associated.encode())
    ).decode()


# -- Alipay -----------------------------------------------------------------------------------


def alipay_content(params: Mapping[str, str]) -> str:
    """Sorted ``k=v&...`` without ``sign``/``sign_type`` and empty values."""
    return "&".join(
        f"{k}={params[k]}" for k in sorted(params) if k not in ("sign", "sign_type") and params[k]
    )


def alipay_request_content(params: Mapping[str, str]) -> str:
    """Requests sign every parameter except ``sign`` (``sign_type`` included)."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k])


# -- HMAC gateways ----------------------------------------------------------------------------


def hmac_sign(secret: str, timestamp: str, body: bytes) -> str:
    message = timestamp.encode("utf-8", "replace") + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def hmac_verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    # Compared as bytes: a header may hold any text, and compare_digest refuses non-ASCII str.
    expected = hmac_sign(secret, timestamp, body).encode()
    return hmac.compare_digest(expected, signature.encode("utf-8", "replace"))
