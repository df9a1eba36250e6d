"""Verification of Stripe's `Stripe-Signature` header, without the Stripe SDK.

Stripe signs each webhook with HMAC-SHA256 keyed by the endpoint's signing
secret (the whole `whsec_...` string) over `"{t}.{raw body}"`, and sends

    Stripe-Signature: t=1492774577,v1=5257a869...,v1=...,v0=...

`t` is a Unix timestamp; there may be several `v1` signatures (during a
secret roll). Only `v1` is checked: `v0` is a test-mode legacy scheme.
"""

import hashlib
import hmac

# hmac imports `warnings` lazily on its first use; componentize-py bundles
# only the modules imported while it snapshots the app, so import it here.
import warnings  # noqa: F401

DEFAULT_TOLERANCE_S = 300


class SignatureError(Exception):
    """The header is missing, malformed, stale or does not match."""

    def __init__(self, message: str, malformed: bool = False):
        super().__init__(message)
        # Malformed input answers 400; a mismatch or a stale timestamp 401.
        self.malformed = malformed


def parse_header(header: str):
    """Returns `(timestamp, [v1 signatures])` or raises SignatureError."""
    timestamp = None
    signatures = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("Stripe-Signature: `t` is not an integer", malformed=True)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None:
        raise SignatureError("Stripe-Signature has no `t=` timestamp", malformed=True)
    if not signatures:
        raise SignatureError("Stripe-Signature has no `v1=` signature", malformed=True)
    return timestamp, signatures


def expected_signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(header, body: bytes, secret: str, now_s: int, tolerance_s: int = DEFAULT_TOLERANCE_S) -> int:
    """Checks `header` against `body`; returns the signed timestamp.

    Rejects a timestamp more than `tolerance_s` seconds away from `now_s`
    in either direction (replays of old requests, and clocks far ahead).
    """
    if header is None:
        raise SignatureError("missing Stripe-Signature header", malformed=True)
    timestamp, signatures = parse_header(header)
    expected = expected_signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise SignatureError("no v1 signature matches the body and the signing secret")
    if abs(now_s - timestamp) > tolerance_s:
        raise SignatureError(
            f"timestamp {timestamp} is outside the tolerance of {tolerance_s} s"
        )
    return timestamp
