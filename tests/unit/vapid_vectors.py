#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Makes the VAPID tokens of tests/unit/test_vapid.c with the Python `cryptography` package
(Debian python3-cryptography), independently of the C code under test: ES256 over the JWS
signing input, the DER signature turned into JOSE's raw r||s. ECDSA signatures are randomized, so
each run prints different, equally valid tokens.

    tests/unit/vapid_vectors.py > vectors.inc   (then paste into test_vapid.c)
"""

import base64
import json

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pub(key):
    return b64u(key.public_key().public_bytes(serialization.Encoding.X962,
                                              serialization.PublicFormat.UncompressedPoint))


def jwt(key, header, claims):
    signing_input = b64u(json.dumps(header, separators=(",", ":")).encode()) + "." + \
        b64u(json.dumps(claims, separators=(",", ":")).encode())
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


ES = {"typ": "JWT", "alg": "ES256"}
AUD = "https://push.example.net"
EXP = 1800000000
key = ec.generate_private_key(ec.SECP256R1())
other = ec.generate_private_key(ec.SECP256R1())
tokens = [
    ("good", jwt(key, ES, {"aud": AUD, "exp": EXP, "sub": "mailto:ops@example.net"})),
    ("good_port_nosub", jwt(key, {"alg": "ES256"}, {"aud": AUD + ":8443", "exp": EXP})),
    ("alg_hs256", jwt(key, {"typ": "JWT", "alg": "HS256"}, {"aud": AUD, "exp": EXP})),
    ("alg_none", jwt(key, {"alg": "none"}, {"aud": AUD, "exp": EXP})),
    ("typ_other", jwt(key, {"typ": "JOSE+JSON", "alg": "ES256"}, {"aud": AUD, "exp": EXP})),
    ("other_key", jwt(other, ES, {"aud": AUD, "exp": EXP})),
    ("no_aud", jwt(key, ES, {"exp": EXP})),
    ("aud_path", jwt(key, ES, {"aud": AUD + "/push/x", "exp": EXP})),
    ("exp_string", jwt(key, ES, {"aud": AUD, "exp": str(EXP)})),
    ("no_exp", jwt(key, ES, {"aud": AUD})),
    ("sub_control", jwt(key, ES, {"aud": AUD, "exp": EXP, "sub": "mailto:a@b\n"})),
    ("sub_number", jwt(key, ES, {"aud": AUD, "exp": EXP, "sub": 7})),
]
print(f'static const char *const key_pub = "{pub(key)}";')
print(f'static const char *const other_pub = "{pub(other)}";')
for name, tok in tokens:
    print(f'static const char *const tok_{name} = "{tok}";')
