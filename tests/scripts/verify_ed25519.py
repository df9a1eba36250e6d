"""Checks Standard Webhooks `v1a` (Ed25519) signatures with Python's
`cryptography` package: an implementation independent of hookhost's.

    python3 verify_ed25519.py WHPK_KEY MSG_ID TIMESTAMP 'v1a,... v1a,...' < body

Prints the positions (0-based) of the signatures in the header that the key
verifies over "MSG_ID.TIMESTAMP.body", space-separated, on one line.
"""

import base64
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def main() -> None:
    public_key, msg_id, timestamp, header = sys.argv[1:5]
    assert public_key.startswith("whpk_"), public_key
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key[len("whpk_"):]))
    body = sys.stdin.buffer.read()
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    verified = []
    for i, entry in enumerate(header.split(" ")):
        version, _, signature = entry.partition(",")
        if version != "v1a":
            continue
        try:
            key.verify(base64.b64decode(signature), signed)
            verified.append(str(i))
        except InvalidSignature:
            pass
    print(" ".join(verified))


if __name__ == "__main__":
    main()
