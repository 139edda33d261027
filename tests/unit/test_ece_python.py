#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Web Push message encryption (RFC 8291, RFC 8188 aes128gcm) against an independent
implementation: this script's own, written from the RFCs over the Python `cryptography` package
(Debian python3-cryptography), checked first on RFC 8291's appendix example. libsmswake's side is
reached through ece-tool (tests/unit/ece_tool.c). Prints TAP and exits non-zero on any failure.

    tests/unit/test_ece_python.py [path/to/ece-tool]
"""

import base64
import os
import subprocess
import sys

try:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
except ImportError:
    print("not ok - the Python cryptography package is missing (Debian: python3-cryptography)")
    sys.exit(1)


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hkdf(salt, ikm, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def pub_octets(key):
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def webpush_ikm(secret, auth, ua_pub, as_pub):
    return hkdf(auth, secret, b"WebPush: info\0" + ua_pub + as_pub, 32)


def encrypt(plain, ua_pub, auth, as_key=None, salt=None, pad=0):
    """One record, as RFC 8291 section 4 asks of an application server."""
    as_key = as_key or ec.generate_private_key(ec.SECP256R1())
    salt = salt or os.urandom(16)
    as_pub = pub_octets(as_key)
    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ua_pub)
    ikm = webpush_ikm(as_key.exchange(ec.ECDH(), peer), auth, ua_pub, as_pub)
    cek = hkdf(salt, ikm, b"Content-Encoding: aes128gcm\0", 16)
    nonce = hkdf(salt, ikm, b"Content-Encoding: nonce\0", 12)
    record = AESGCM(cek).encrypt(nonce, plain + b"\x02" + b"\0" * pad, None)
    rs = 4096
    return salt + rs.to_bytes(4, "big") + bytes([len(as_pub)]) + as_pub + record


def decrypt(body, ua_key, auth):
    salt, rs, idlen = body[:16], int.from_bytes(body[16:20], "big"), body[20]
    as_pub = body[21:21 + idlen]
    ua_pub = pub_octets(ua_key)
    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), as_pub)
    ikm = webpush_ikm(ua_key.exchange(ec.ECDH(), peer), auth, ua_pub, as_pub)
    cek = hkdf(salt, ikm, b"Content-Encoding: aes128gcm\0", 16)
    base = int.from_bytes(hkdf(salt, ikm, b"Content-Encoding: nonce\0", 12), "big")
    records = body[21 + idlen:]
    out = b""
    for seq, start in enumerate(range(0, len(records), rs)):
        rec = AESGCM(cek).decrypt((base ^ seq).to_bytes(12, "big"), records[start:start + rs], None)
        rec = rec.rstrip(b"\0")
        last = start + rs >= len(records)
        if not rec or rec[-1] != (2 if last else 1):
            raise ValueError("bad delimiter")
        out += rec[:-1]
    return out


failures = 0


def check(ok, what):
    global failures
    print(("ok - " if ok else "not ok - ") + what)
    if not ok:
        failures += 1


def tool(*args, data=b""):
    return subprocess.run([TOOL, *args], input=data, capture_output=True, check=False)


# The Python side is checked on RFC 8291 appendix A before it is used to judge the C side.
A_PLAIN = b"When I grow up, I want to be a watermelon"
A_UA_PRIV = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
A_AS_PRIV = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
A_AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
A_SALT = "DGv6ra1nlYgDCS1FRnbzlw"
A_BODY = ("DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8w"
          "EqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN")

ua_a = ec.derive_private_key(int.from_bytes(unb64u(A_UA_PRIV), "big"), ec.SECP256R1())
as_a = ec.derive_private_key(int.from_bytes(unb64u(A_AS_PRIV), "big"), ec.SECP256R1())
check(encrypt(A_PLAIN, pub_octets(ua_a), unb64u(A_AUTH), as_a, unb64u(A_SALT)) == unb64u(A_BODY),
      "python: RFC 8291 appendix A body reproduced")
check(decrypt(unb64u(A_BODY), ua_a, unb64u(A_AUTH)) == A_PLAIN, "python: RFC 8291 appendix A decrypts")

TOOL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.environ.get("SMSWAKE_BUILD", "build"),
                                                           "tests/unit/ece-tool")
plains = [b"", b"x", "caf\u00e9 \u2615 end-to-end".encode(), os.urandom(3000)]

# libsmswake's test encryptor -> this decryptor.
ua = ec.generate_private_key(ec.SECP256R1())
auth = os.urandom(16)
for i, plain in enumerate(plains):
    r = tool("encrypt", b64u(pub_octets(ua)), b64u(auth), data=plain)
    try:
        got = decrypt(unb64u(r.stdout.decode().strip()), ua, auth) if r.returncode == 0 else None
    except Exception as e:  # noqa: BLE001 - any failure to decrypt is the finding
        got = repr(e)
    check(got == plain, f"libsmswake encrypts, python decrypts: message {i} ({len(plain)} octets)")

# This encryptor -> libsmswake's decryptor (the device's side).
r = tool("keygen")
check(r.returncode == 0, "ece-tool keygen")
priv, pub, dev_auth = r.stdout.decode().split()
for i, plain in enumerate(plains):
    body = encrypt(plain, unb64u(pub), unb64u(dev_auth), pad=i * 5)
    r = tool("decrypt", priv, pub, dev_auth, data=b64u(body).encode())
    check(r.returncode == 0 and r.stdout == plain, f"python encrypts, libsmswake decrypts: message {i}")
    bad = bytearray(body)
    bad[-1] ^= 1
    r = tool("decrypt", priv, pub, dev_auth, data=b64u(bytes(bad)).encode())
    check(r.returncode == 1 and r.stdout == b"", f"libsmswake refuses an altered message {i}")

sys.exit(1 if failures else 0)
