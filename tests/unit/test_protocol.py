#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An independent implementation of docs/protocol.md, written from the document alone, that checks
every test vector of its section 8 against what the document's rules give.

Standard library only: HMAC-SHA256 from hmac and hashlib, HKDF written out from RFC 5869, base64url,
the GSM 7-bit packing and the SMS-DELIVER layout of 3GPP TS 23.040 as the document describes them.
Nothing here comes from the C code. Prints TAP ("ok - ...", "not ok - ...") and exits non-zero on
any failure.

    tests/unit/test_protocol.py [docs/protocol.md]
"""

import base64
import hashlib
import hmac
import os
import re
import sys

# --- section 2: keys ---

SALT = b"smswake wake salt v1"
KEY_LABEL = b"smswake wake key v1"
TAG_LABEL = b"smswake device tag v1"
MAC_LABEL = b"smswake wakeup v1"


def hmac_sha256(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()


def hkdf_extract(salt, ikm):
    """RFC 5869 section 2.2: PRK = HMAC-Hash(salt, IKM)."""
    return hmac_sha256(salt, ikm)


def hkdf_expand(prk, info, length):
    """RFC 5869 section 2.3: T(i) = HMAC-Hash(PRK, T(i-1) | info | i), OKM = first L octets."""
    okm, t, i = b"", b"", 1
    while len(okm) < length:
        t = hmac_sha256(prk, t + info + bytes([i]))
        okm += t
        i += 1
    return okm[:length]


def hkdf_info(key_id, device_id):
    return KEY_LABEL + bytes([key_id]) + device_id.to_bytes(8, "big")


def derive(master, key_id, device_id):
    return hkdf_expand(hkdf_extract(SALT, master), hkdf_info(key_id, device_id), 32)


def device_tag(k_dev):
    return hmac_sha256(k_dev, TAG_LABEL)[:4]


# --- section 3: payload ---


def payload_head(k_dev, flags, key_id, counter, time, pending):
    """Offsets 0 to 19 inclusive: version, flags, key id, device tag, counter, time, pending."""
    return (bytes([1, flags, key_id]) + device_tag(k_dev) + counter.to_bytes(8, "big") +
            time.to_bytes(4, "big") + bytes([pending]))


def mac_input(port, head):
    return MAC_LABEL + port.to_bytes(2, "big") + head


def seal(k_dev, port, head):
    """The 36-octet payload: the 20 octets of head and the first 16 octets of the HMAC."""
    return head + hmac_sha256(k_dev, mac_input(port, head))[:16]


def udh(port):
    return bytes([6, 0x05, 4]) + port.to_bytes(2, "big") * 2


# --- section 5: text form ---

PREFIX = "SMSWAKE:"
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def text_form(payload):
    return PREFIX + base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=")


def unb64url(s):
    """Strict base64url without padding; None for anything else (section 5)."""
    if any(c not in B64URL for c in s) or len(s) % 4 == 1:
        return None
    raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    if text_form(raw)[len(PREFIX):] != s:
        return None  # non-canonical trailing bits
    return raw


def gsm7_septet(c):
    """The GSM 7-bit default alphabet code of a text-form character (section 5): letters, digits,
    ':' and '-' at their ASCII codes, '_' at 0x11."""
    if c == "_":
        return 0x11
    if c.isascii() and (c.isalnum() or c in ":-"):
        return ord(c)
    raise ValueError("not a text-form character: %r" % c)


def gsm7_pack(text):
    """Septets packed little-endian into octets (3GPP TS 23.038 section 6.1.2.1)."""
    bits, nbits, out = 0, 0, bytearray()
    for c in text:
        bits |= gsm7_septet(c) << nbits
        nbits += 7
        while nbits >= 8:
            out.append(bits & 0xFF)
            bits >>= 8
            nbits -= 8
    if nbits:
        out.append(bits & 0xFF)
    return bytes(out)


# --- SMS-DELIVER (3GPP TS 23.040 section 9.2.2.1), as the vectors give its fields ---


def semi_octets(digits):
    if len(digits) % 2:
        digits += "F"
    return bytes(int(digits[i + 1] + digits[i], 16) for i in range(0, len(digits), 2))


def number_fields(number):
    toa = 0x91 if number.startswith("+") else 0x81
    digits = number.lstrip("+")
    return toa, digits


def smsc_field(number):
    toa, digits = number_fields(number)
    body = bytes([toa]) + semi_octets(digits)
    return bytes([len(body)]) + body


def originator_field(number):
    toa, digits = number_fields(number)
    return bytes([len(digits), toa]) + semi_octets(digits)


def scts_field(stamp):
    """"YYYY-MM-DDTHH:MM:SS+HH:MM" as seven swapped semi-octets, the zone in quarter hours."""
    m = re.fullmatch(r"(\d\d)(\d\d)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)([+-])(\d\d):(\d\d)", stamp)
    if m is None:
        raise ValueError("bad time stamp " + stamp)
    yy, mo, dd, hh, mi, ss = (int(m.group(i)) for i in (2, 3, 4, 5, 6, 7))
    quarters = (int(m.group(9)) * 60 + int(m.group(10))) // 15
    swap = lambda v: ((v % 10) << 4) | (v // 10)
    tz = swap(quarters) | (0x08 if m.group(8) == "-" else 0)
    return bytes([swap(yy), swap(mo), swap(dd), swap(hh), swap(mi), swap(ss), tz])


def sms_deliver(smsc, originator, scts, dcs, udhi, udl, ud):
    first = 0x04 | (0x40 if udhi else 0)  # TP-MTI 00, TP-MMS 1 (no more messages), TP-UDHI
    return (smsc_field(smsc) + bytes([first]) + originator_field(originator) + bytes([0x00, dcs]) +
            scts_field(scts) + bytes([udl]) + ud)


# --- section 6: device processing ---


class Device:
    def __init__(self, k_dev, key_id, port, stored):
        self.k_dev, self.key_id, self.port, self.stored = k_dev, key_id, port, stored

    def binary(self, user_data):
        """User data starting with its header (UDHL first). Returns (step, reason)."""
        if not user_data or user_data[0] + 1 > len(user_data):
            return 1, "EUDH"
        header, payload = user_data[1:user_data[0] + 1], user_data[user_data[0] + 1:]
        i, port = 0, None
        while i < len(header):
            if len(header) - i < 2 or header[i + 1] > len(header) - i - 2:
                return 1, "EUDH"
            iei, iedl = header[i], header[i + 1]
            if iei == 0x05:
                if iedl != 4 or port is not None:
                    return 1, "EUDH"
                port = int.from_bytes(header[i + 2:i + 4], "big")
            elif iei in (0x04, 0x00, 0x08):
                return 1, "EUDH"
            i += 2 + iedl
        if port is None:
            return 1, "EUDH"
        if port != self.port:
            return 1, "EPORT"
        return self.payload(payload)

    def text(self, text):
        if not text.startswith(PREFIX):
            return 1, "EFORMAT"
        raw = unb64url(text[len(PREFIX):])
        if raw is None:
            return 1, "EFORMAT"
        return self.payload(raw)

    def payload(self, p):
        if len(p) == 0:
            return 2, "ELENGTH"
        if p[0] != 1:
            return 2, "EVERSION"
        if len(p) != 36:
            return 2, "ELENGTH"
        if p[1] & 0xFE:
            return 3, "EFLAGS"
        if p[2] != self.key_id:
            return 3, "EKEYID"
        if p[3:7] != device_tag(self.k_dev):
            return 3, "EDEVICE"
        if not hmac.compare_digest(p[20:36], hmac_sha256(self.k_dev, mac_input(self.port, p[:20]))[:16]):
            return 4, "ETAG"
        if int.from_bytes(p[7:15], "big") <= self.stored:
            return 5, "ESTALE"
        return 0, "OK"


# --- the document ---

INTEGERS = {"device_id", "key_id", "port", "flags", "counter", "time", "pending"}
STRINGS = {"text", "smsc", "originator", "scts"}


def parse_vectors(doc):
    """{"1": {name: value}, ...} from the "### Vector N" sections' code blocks."""
    vectors = {}
    for m in re.finditer(r"^### Vector (\d+)[^\n]*\n(.*?)(?=^##)", doc, re.S | re.M):
        block = re.search(r"^```text\n(.*?)^```", m.group(2), re.S | re.M)
        if block is None:
            raise ValueError("vector %s has no text block" % m.group(1))
        fields = {}
        for line in block.group(1).splitlines():
            if not line.strip():
                continue
            name, value = line.split(None, 1)
            value = value.strip()
            if name in fields:
                raise ValueError("vector %s: %s twice" % (m.group(1), name))
            if name in INTEGERS:
                fields[name] = int(value, 10)
            elif name in STRINGS:
                fields[name] = value
            else:
                if not re.fullmatch(r"([0-9a-f]{2})+", value):
                    raise ValueError("vector %s: %s is not lower-case hex octets" % (m.group(1), name))
                fields[name] = bytes.fromhex(value)
        vectors[m.group(1)] = fields
    return vectors


def parse_rejections(doc):
    rows = []
    for line in doc.splitlines():
        if not line.startswith("| R"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name, step, form, value, stored, why = cells
        value = value.strip("`")
        reason = re.match(r"`(E[A-Z]+)`", why)
        if reason is None:
            raise ValueError(name + ": no reason")
        rows.append((name, int(step), form, value, int(stored), reason.group(1)))
    return rows


class Tap:
    def __init__(self):
        self.n, self.failed = 0, 0

    def check(self, ok, what, detail=""):
        self.n += 1
        if ok:
            print("ok - " + what)
        else:
            self.failed += 1
            print("not ok - " + what + (": " + detail if detail else ""))


def check_vector(tap, name, v):
    req = ("master_key", "device_id", "key_id", "port", "flags", "counter", "time", "pending", "k_dev",
           "device_tag", "payload", "text")
    missing = [f for f in req if f not in v]
    tap.check(not missing, "vector %s has every required field" % name, ", ".join(missing))
    if missing:
        return
    k = derive(v["master_key"], v["key_id"], v["device_id"])
    head = payload_head(k, v["flags"], v["key_id"], v["counter"], v["time"], v["pending"])
    p = seal(k, v["port"], head)
    want = {
        "k_dev": k,
        "device_tag": device_tag(k),
        "payload": p,
        "hkdf_salt": SALT,
        "hkdf_info": hkdf_info(v["key_id"], v["device_id"]),
        "hkdf_prk": hkdf_extract(SALT, v["master_key"]),
        "device_tag_hmac": hmac_sha256(k, TAG_LABEL),
        "mac_input": mac_input(v["port"], head),
        "mac_hmac": hmac_sha256(k, mac_input(v["port"], head)),
        "user_data": udh(v["port"]) + p,
        "text": text_form(p),
        "text_septets": gsm7_pack(text_form(p)),
    }
    if "smsc" in v:
        want["sms_deliver"] = sms_deliver(v["smsc"], v["originator"], v["scts"], 0x04, True, 43,
                                          udh(v["port"]) + p)
        want["sms_deliver_text"] = sms_deliver(v["smsc"], v["originator"], v["scts"], 0x00, False, 56,
                                               gsm7_pack(text_form(p)))
    for field, value in v.items():
        if field in INTEGERS or field in ("master_key", "smsc", "originator", "scts"):
            continue
        if field not in want:
            tap.check(False, "vector %s %s" % (name, field), "unknown field")
            continue
        shown = value.hex() if isinstance(value, bytes) else value
        got = want[field].hex() if isinstance(want[field], bytes) else want[field]
        tap.check(value == want[field], "vector %s %s" % (name, field), "document %s, rules give %s" % (shown, got))
    # The wakeup itself passes every step of section 6, in both forms, for a fresh device.
    dev = Device(k, v["key_id"], v["port"], 0)
    tap.check(dev.binary(udh(v["port"]) + p) == (0, "OK"), "vector %s verifies (binary form)" % name)
    tap.check(dev.text(text_form(p)) == (0, "OK"), "vector %s verifies (text form)" % name)
    if v["counter"] > 0:
        dev.stored = v["counter"]
        tap.check(dev.binary(udh(v["port"]) + p) == (5, "ESTALE"), "vector %s is stale once accepted" % name)


def rejection_inputs(v1):
    """Each rejection vector built from its description, for vector 1's device."""
    k = derive(v1["master_key"], v1["key_id"], v1["device_id"])
    port = v1["port"]
    head = payload_head(k, v1["flags"], v1["key_id"], v1["counter"], v1["time"], v1["pending"])
    p = seal(k, port, head)

    def resealed(change):
        h = bytearray(head)
        change(h)
        return seal(k, port, bytes(h))

    k13 = derive(v1["master_key"], v1["key_id"], 13)
    flipped = bytearray(p)
    flipped[35] ^= 0x01
    return {
        "R1": bytes([0x0A, 0x05, 0x04]) + port.to_bytes(2, "big") * 2 + bytes([0x04, 0x02, 0xF0, 0xF0]) + p,
        "R2": bytes([0x0B, 0x00, 0x03, 0x2A, 0x01, 0x01, 0x05, 0x04]) + port.to_bytes(2, "big") * 2 + p,
        "R3": bytes([0x0C, 0x05, 0x04]) + port.to_bytes(2, "big") * 2 + bytes([0x05, 0x04]) +
        port.to_bytes(2, "big") * 2 + p,
        "R4": bytes([0x03, 0x24, 0x01, 0x00]) + p,
        "R5": bytes([0x07]) + udh(port)[1:] + p,
        "R6": udh(port - 1) + p,
        "R7": "smswake:" + text_form(p)[len(PREFIX):],
        "R8": text_form(p)[:20] + " " + text_form(p)[21:],
        "R9": text_form(p)[:30] + "+" + text_form(p)[31:],
        "R10": text_form(p) + "==",
        "R11": udh(port) + resealed(lambda h: h.__setitem__(0, 2)),
        "R12": udh(port) + p[:35],
        "R13": udh(port) + p + b"\x00",
        "R14": text_form(p)[:len(PREFIX) + 44],
        "R15": udh(port) + resealed(lambda h: h.__setitem__(1, 0x02)),
        "R16": udh(port) + resealed(lambda h: h.__setitem__(2, 2)),
        "R17": udh(port) + resealed(lambda h: h.__setitem__(2, 0)),
        "R18": udh(port) + seal(k13, port, payload_head(k13, 0, 1, 1, v1["time"], v1["pending"])),
        "R19": udh(port) + bytes(flipped),
        "R20": text_form(seal(k, port + 1, head)),
        "R21": udh(port) + p,
        "R22": udh(port) + p,
    }


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "docs",
                                                                "protocol.md")
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    tap = Tap()
    try:
        vectors = parse_vectors(doc)
        rows = parse_rejections(doc)
    except (ValueError, KeyError) as e:
        tap.check(False, "the document's vectors can be read", str(e))
        print("1..%d" % tap.n)
        return 1
    tap.check(len(vectors) >= 4, "the document has its vectors", "found %d" % len(vectors))
    for name in sorted(vectors, key=int):
        check_vector(tap, name, vectors[name])
    for name, v in vectors.items():
        if v.get("device_id", 0) >> 63 and v.get("counter", 0) >> 63:
            tap.check(True, "vector %s has a device id and a counter with the top bit set" % name)
            break
    else:
        tap.check(False, "a vector has a device id and a counter with the top bit set")

    v1 = vectors["1"]
    k = derive(v1["master_key"], v1["key_id"], v1["device_id"])
    built = rejection_inputs(v1)
    tap.check(sorted(r[1] for r in rows) and {r[1] for r in rows} == {1, 2, 3, 4, 5},
              "a rejection vector for every verification step")
    for name, step, form, value, stored, reason in rows:
        data = bytes.fromhex(value) if form == "binary" else value
        tap.check(built.get(name) == data, "%s is what its description builds" % name,
                  "document %s, built %s" % (value, built.get(name).hex() if isinstance(built.get(name), bytes)
                                             else built.get(name)))
        dev = Device(k, v1["key_id"], v1["port"], stored)
        got = dev.binary(data) if form == "binary" else dev.text(data)
        tap.check(got == (step, reason), "%s rejected at step %d (%s)" % (name, step, reason), "got %r" % (got,))
    print("1..%d" % tap.n)
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
