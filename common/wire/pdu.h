/* SPDX-License-Identifier: MIT */
/* SMS transfer-layer PDU codec (3GPP TS 23.040) and the GSM 7-bit default alphabet (TS 23.038).
 * Self-contained (libc only, no allocation) so that libsmswake can parse a received SMS too. */
#ifndef SMSWAKE_PDU_H
#define SMSWAKE_PDU_H

#include <stddef.h>
#include <stdint.h>

/* Largest TPDU (a STATUS-REPORT with every optional field and 140 octets of user data) and the
 * largest SMSC address field (length octet, type octet, 10 octets of digits). */
#define PDU_TPDU_MAX 176
#define PDU_SMSC_MAX 12
#define PDU_MAX (PDU_TPDU_MAX + PDU_SMSC_MAX)

#define PDU_UD_MAX_OCTETS 140
#define PDU_UD_MAX_SEPTETS 160
#define PDU_ADDR_DIGITS_MAX 20
/* "+" and 20 digits, or 11 alphanumeric characters of up to 3 UTF-8 octets, plus the NUL. */
#define PDU_ADDR_TEXT_MAX 40
/* An information element is at least two octets, so a 139-octet header holds at most 69. */
#define PDU_IE_MAX 70
/* UTF-8 of 160 septets: at most two octets per septet, plus the NUL. */
#define PDU_TEXT_MAX (2 * PDU_UD_MAX_SEPTETS + 1)

enum pdu_error {
	PDU_OK = 0,
	PDU_E_ARG,        /* NULL pointer or impossible argument */
	PDU_E_TRUNCATED,  /* the input ends inside a mandatory field */
	PDU_E_TRAILING,   /* octets left after the user data */
	PDU_E_SMSC_LEN,   /* SMSC length octet larger than 11 */
	PDU_E_MTI,        /* message type indicator is not the one asked for */
	PDU_E_ADDR_LEN,   /* address longer than 20 semi-octets */
	PDU_E_ADDR_TOA,   /* type-of-address octet without its extension bit */
	PDU_E_ADDR_DIGIT, /* 0xF inside the digits, or a fill nibble other than 0xF */
	PDU_E_TIMESTAMP,  /* non-decimal digit or field out of range in a timestamp */
	PDU_E_VP,         /* enhanced validity period with a reserved format */
	PDU_E_DCS,        /* data coding scheme this codec cannot encode */
	PDU_E_UDL,        /* user data length above 160 septets or 140 octets */
	PDU_E_UD_LEN,     /* user data length disagrees with the octets present */
	PDU_E_UDH_LEN,    /* header length does not fit in the user data */
	PDU_E_IE_LEN,     /* an information element runs past the end of the header */
	PDU_E_IE_VALUE,   /* a known information element with the wrong length or value */
	PDU_E_UCS2_ODD,   /* UCS2 text with an odd number of octets */
	PDU_E_SPACE,      /* output buffer too small */
	PDU_E_TOO_LONG,   /* user data too long to encode */
	PDU_E_CHARSET,    /* character outside the GSM 7-bit default alphabet, or bad UTF-8 */
	PDU_E_HEX,        /* odd length or non-hex digit */
	PDU_E_NO_PORTS,   /* a well-formed header without an application-port element */
	PDU_E_COUNT
};

enum pdu_type { PDU_TYPE_DELIVER = 0, PDU_TYPE_SUBMIT = 1, PDU_TYPE_STATUS_REPORT = 2 };

/* TP-VPF values as carried in bits 4-3 of an SMS-SUBMIT's first octet. */
enum pdu_vpf { PDU_VPF_NONE = 0, PDU_VPF_ENHANCED = 1, PDU_VPF_RELATIVE = 2, PDU_VPF_ABSOLUTE = 3 };

enum pdu_coding { PDU_CODING_7BIT = 0, PDU_CODING_8BIT, PDU_CODING_UCS2 };

/* Type-of-address octets used most. */
#define PDU_TOA_INTERNATIONAL 0x91
#define PDU_TOA_UNKNOWN 0x81
#define PDU_TOA_ALPHANUMERIC 0xD0

/* Information element identifiers this codec interprets. */
#define PDU_IEI_CONCAT8 0x00
#define PDU_IEI_PORTS8 0x04
#define PDU_IEI_PORTS16 0x05
#define PDU_IEI_CONCAT16 0x08

/* Status values (TP-ST) the simulator and tests use. */
#define PDU_ST_DELIVERED 0x00
#define PDU_ST_NOT_OBTAINABLE 0x43
#define PDU_ST_VP_EXPIRED 0x46

struct pdu_addr {
	uint8_t toa; /* type of address; 0 on encode means: 0x91 if text starts with '+', else 0x81 */
	/* Digits ('0'-'9', '*', '#', 'a'-'c') with a leading '+' when international, or UTF-8 for an
	 * alphanumeric address. Empty for an absent SMSC. */
	char text[PDU_ADDR_TEXT_MAX];
};

/* A service-centre timestamp: two-digit year (2000-2099), local time and the zone offset. */
struct pdu_time {
	uint8_t year, month, day, hour, minute, second;
	int8_t tz_quarters; /* offset from UTC in quarters of an hour, -79..79 */
};

struct pdu_ie {
	uint8_t iei;
	uint8_t len;
	uint8_t off; /* where the element's data starts in pdu_sms.udh */
};

/* One decoded (or to-be-encoded) TPDU. Fields not carried by a type are left zero. */
struct pdu_sms {
	enum pdu_type type;
	struct pdu_addr smsc; /* only with the leading SMSC field; empty when its length is 0 */

	uint8_t first_octet;       /* as decoded; ignored on encode */
	uint8_t reject_duplicates; /* SUBMIT TP-RD */
	uint8_t more_messages;     /* DELIVER, STATUS-REPORT: TP-MMS bit clear, more are waiting */
	uint8_t loop_prevention;   /* DELIVER, STATUS-REPORT TP-LP */
	uint8_t status_report;     /* SUBMIT TP-SRR, DELIVER TP-SRI, STATUS-REPORT TP-SRQ */
	uint8_t udhi;              /* decoded TP-UDHI; on encode it follows udh_len */
	uint8_t reply_path;        /* SUBMIT, DELIVER TP-RP */

	uint8_t mr;           /* SUBMIT, STATUS-REPORT message reference */
	struct pdu_addr addr; /* SUBMIT destination, DELIVER originator, STATUS-REPORT recipient */
	uint8_t pid;
	uint8_t dcs;
	enum pdu_coding coding; /* from dcs */
	int msg_class;          /* from dcs: 0-3, or -1 for none */
	uint8_t compressed;     /* from dcs: user data is compressed, counted in octets */

	enum pdu_vpf vpf;        /* SUBMIT */
	uint8_t vp[7];           /* raw octets: 1 for relative, 7 for absolute and enhanced */
	uint32_t vp_seconds;     /* relative and enhanced relative forms */
	struct pdu_time vp_time; /* absolute form */
	uint8_t vp_single_shot;  /* enhanced form */

	struct pdu_time scts; /* DELIVER, STATUS-REPORT */
	struct pdu_time dt;   /* STATUS-REPORT discharge time */
	uint8_t st;           /* STATUS-REPORT status */
	uint8_t pi;           /* STATUS-REPORT parameter indicator (0 when absent) */

	/* User data header: its information elements, without the UDHL octet. */
	uint8_t udh_len;
	uint8_t udh[PDU_UD_MAX_OCTETS];
	uint8_t n_ie;
	struct pdu_ie ie[PDU_IE_MAX];
	uint8_t has_ports; /* IEI 0x05 (16-bit) or 0x04 (8-bit) application ports */
	uint8_t port_bits; /* 16 or 8 */
	uint16_t dst_port, src_port;
	uint8_t has_concat; /* IEI 0x00 or 0x08 */
	uint16_t concat_ref;
	uint8_t concat_total, concat_seq;

	/* User data after the header: one septet per octet for 7-bit, octets otherwise. */
	uint16_t ud_len;
	uint8_t ud[PDU_UD_MAX_SEPTETS];
};

const char *pdu_strerror(int err);

/* Decoders. buf holds the binary TPDU, preceded by the SMSC address field when with_smsc is set
 * (as AT+CMGS input and AT+CMGR/+CMGL output carry it). Every length is checked against the
 * octets present; anything malformed or trailing is rejected. Return 0 or a pdu_error. */
int pdu_decode_submit(const uint8_t *buf, size_t len, int with_smsc, struct pdu_sms *out);
int pdu_decode_deliver(const uint8_t *buf, size_t len, int with_smsc, struct pdu_sms *out);
int pdu_decode_status_report(const uint8_t *buf, size_t len, int with_smsc, struct pdu_sms *out);
/* Decodes what a service centre sends to a phone: a DELIVER or a STATUS-REPORT. */
int pdu_decode_sc_to_ms(const uint8_t *buf, size_t len, int with_smsc, struct pdu_sms *out);
/* Length in octets of the leading SMSC field (the length octet included), or -1 if malformed. */
int pdu_smsc_field_len(const uint8_t *buf, size_t len);

/* Encoders. The SMSC field is written first when with_smsc is set ("00" when sms->smsc is empty).
 * The first octet is built from the flag fields; TP-UDHI is set when udh_len is not 0.
 * Write at most outmax octets and store the count in *outlen. Return 0 or a pdu_error. */
int pdu_encode_submit(const struct pdu_sms *sms, int with_smsc, uint8_t *out, size_t outmax, size_t *outlen);
int pdu_encode_deliver(const struct pdu_sms *sms, int with_smsc, uint8_t *out, size_t outmax, size_t *outlen);
/* Writes PID, DCS and user data only when they are not all zero/empty, with TP-PI to say so. */
int pdu_encode_status_report(const struct pdu_sms *sms, int with_smsc, uint8_t *out, size_t outmax, size_t *outlen);

/* Writes just an SMSC address field for a number ("+" for international; "" gives "00"). */
int pdu_encode_smsc(const char *number, uint8_t *out, size_t outmax, size_t *outlen);

/* Interprets a data coding scheme (TS 23.038 section 4). Returns 0, or PDU_E_DCS for codings
 * the codec does not know how to count (none: reserved groups are read as the default
 * alphabet, as the standard asks). */
int pdu_dcs_parse(uint8_t dcs, enum pdu_coding *coding, int *msg_class, uint8_t *compressed);

/* Appends an information element to sms->udh and re-parses the header fields (ports, concat). */
int pdu_udh_add_ie(struct pdu_sms *sms, uint8_t iei, const uint8_t *data, uint8_t len);
/* Appends IEI 0x05: 16-bit destination and source application ports. */
int pdu_udh_add_ports(struct pdu_sms *sms, uint16_t dst_port, uint16_t src_port);

/* The whole user data header of a port-addressed SMS, UDHL octet included: 06 05 04 DDDD SSSS. */
#define PDU_PORT_UDH_LEN 7
void pdu_port_udh(uint8_t out[PDU_PORT_UDH_LEN], uint16_t dst_port, uint16_t src_port);
/* Reads the application ports (IEI 0x05, or 0x04 for 8-bit ports) of a whole user data header that
 * starts with its UDHL octet, with the decoder's rules (a malformed element is an error; of
 * repeated elements the last wins). Returns PDU_OK, PDU_E_NO_PORTS, or the header's error. */
int pdu_udh_ports(const uint8_t *udh, size_t len, uint16_t *dst_port, uint16_t *src_port);

/* Sets dcs, coding and ud from UTF-8: the GSM 7-bit alphabet when every character is in it,
 * UCS2 otherwise. Fails with PDU_E_TOO_LONG when the text (with the existing UDH) does not fit. */
int pdu_set_text(struct pdu_sms *sms, const char *utf8);
/* Writes the user data of a 7-bit or UCS2 message as NUL-terminated UTF-8 (PDU_TEXT_MAX is
 * enough for 160 septets; UCS2 needs up to 3 octets per 2). Fails with PDU_E_DCS for 8-bit. */
int pdu_sms_text(const struct pdu_sms *sms, char *out, size_t outmax);

/* GSM 7-bit default alphabet and its extension table, one septet per octet.
 * From UTF-8: fails with PDU_E_CHARSET on a character outside both tables or bad UTF-8.
 * To UTF-8: always NUL-terminates; an unknown escape is shown as its basic character. */
int pdu_gsm7_from_utf8(const char *utf8, uint8_t *septets, size_t max, size_t *n);
int pdu_gsm7_to_utf8(const uint8_t *septets, size_t n, char *out, size_t outmax);
/* Packs n septets into octets starting at bit 7*first_septet of out (whose earlier bits, a UDH
 * and its fill bits, are kept) and stores the total octets used in *octets. */
int pdu_gsm7_pack(const uint8_t *septets, size_t n, size_t first_septet, uint8_t *out, size_t outmax, size_t *octets);
/* Unpacks n septets starting at septet first_septet of in; returns 0 or PDU_E_TRUNCATED. */
int pdu_gsm7_unpack(const uint8_t *in, size_t inlen, size_t first_septet, size_t n, uint8_t *septets);
/* UCS2 (UTF-16BE, surrogate pairs joined) to NUL-terminated UTF-8, and back. */
int pdu_ucs2_to_utf8(const uint8_t *in, size_t len, char *out, size_t outmax);
int pdu_utf8_to_ucs2(const char *utf8, uint8_t *out, size_t max, size_t *len);

/* Timestamps: seconds since the Unix epoch <-> local time in the given zone (quarters of an hour). */
int pdu_time_from_unix(int64_t t, int tz_quarters, struct pdu_time *out);
int64_t pdu_time_to_unix(const struct pdu_time *t);
/* Relative validity period octet (TS 23.040 9.2.3.12.1) <-> seconds. Encoding rounds down to the
 * longest representable period not longer than asked, so an SMS never outlives what it announces;
 * below 5 minutes, the shortest the octet can say, it gives 5 minutes. It clamps at 63 weeks. */
uint32_t pdu_vp_relative_seconds(uint8_t vp);
uint8_t pdu_vp_relative_encode(uint32_t seconds);

/* Hex helpers so that callers need nothing else: 2*len uppercase digits and a NUL; decode
 * accepts either case and returns the octet count or -1. */
void pdu_hex(const uint8_t *in, size_t len, char *out);
long pdu_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t outmax);

#endif
