/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smswake-modem-sim: the simulated network, its modems and the pieces that drive them.
 * One process, one thread, one poll loop; every object lives as long as the process. */
#ifndef SMSWAKE_SIM_H
#define SMSWAKE_SIM_H

#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "pdu.h"

#define SIM_MODEMS_MAX 64
#define SIM_NUMBER_MAX PDU_ADDR_TEXT_MAX /* a number, or an alphanumeric sender */
#define SIM_AT_LINE_MAX 512              /* one command line; longer lines are answered ERROR */
#define SIM_PDU_HEX_MAX (2 * PDU_MAX)    /* PDU entry after the "> " prompt */
#define SIM_IN_MAX 1024                  /* input read ahead while a modem is busy */
#define SIM_OUT_MAX 65536                /* output the slave side has not read yet */
#define SIM_URC_MAX 4096                 /* unsolicited results waiting for an idle line */
#define SIM_URC_UNREAD_MAX 2048          /* output nobody has read: unsolicited results are dropped */
#define SIM_RECORDS_MAX 512              /* sent/received history per modem */
#define SIM_STORE_MAX 255                /* slots per message storage */
#define SIM_INFLIGHT_MAX 10000           /* messages the network holds at once */
#define SIM_STR_MAX 64

/* --- timers: monotonic milliseconds, an unsorted list; there are few of them --- */

struct sim_timer {
	int64_t due;
	uint64_t round; /* loop turn in which it was armed */
	void (*fire)(struct sim_timer *t);
	void *arg;
	int armed;
	struct sim_timer *next;
};

void sim_timer_arm(struct sim_timer *t, int64_t delay_ms);
void sim_timer_cancel(struct sim_timer *t);
/* Milliseconds until the next timer is due (0 if one is overdue), or -1 if none is armed. */
int sim_timer_timeout(void);
void sim_timer_run_due(void);

/* --- faults and settings a modem can be given in the config file or at run time --- */

struct sim_faults {
	int64_t delay_min_ms, delay_max_ms; /* delivery delay of what this modem sends */
	double loss, dup, reorder;          /* probabilities, 0..1 */
	int64_t reorder_ms;                 /* extra delay of a reordered message */
	int64_t send_duration_ms;           /* time AT+CMGS takes before it answers */
	int registered;
	int cms_error_count, cms_error_code; /* the next N sends fail with this code */
	int hang;                            /* stop answering entirely */
	int storage_full;
	int64_t answer_delay_ms; /* between a command's echo and its answer; -1: the profile's */
	/* One send, the Nth from when it was set (0: none), goes wrong after the PDU was typed:
	 * drop_answer: the network takes it, its +CMGS answer is lost; drop_submit: the PDU never
	 * reaches the network and nothing answers; no_prompt: AT+CMGS gets no "> ", so no PDU is
	 * ever typed. The modem answers what comes next as usual. */
	int drop_answer, drop_submit, no_prompt;
};

/* --- modem profiles (sim_profile.c): where real modem families answer differently --- */

enum sim_ati_style {
	SIM_ATI_PLAIN = 0, /* manufacturer, model, "Revision: <revision>" */
	SIM_ATI_PLAIN_REV, /* manufacturer, model, revision as it is */
	SIM_ATI_PRODUCT,   /* one product line (ati_product) */
	SIM_ATI_LABELLED,  /* "Manufacturer: ...", "Model: ...", "Revision: ...", "IMEI: ...", "+GCAP: ..." */
};
enum sim_unknown_reply {
	SIM_UNKNOWN_ERROR = 0,   /* ERROR */
	SIM_UNKNOWN_NOT_SUPPORT, /* COMMAND NOT SUPPORT, as older Huawei firmware says */
};
enum sim_prompt {
	SIM_PROMPT_CRLF = 0, /* "\r\n> " */
	SIM_PROMPT_BARE,     /* "> " straight after the echoed command */
};

struct sim_profile {
	const char *name, *summary;
	const char *manufacturer, *model, *revision; /* AT+CGMI, AT+CGMM, AT+CGMR */
	enum sim_ati_style ati;
	const char *ati_product;
	int gprs;         /* AT+CGREG, AT+CGATT exist */
	int cnma;         /* AT+CNMA exists */
	int clip_crc;     /* AT+CLIP, AT+CRC exist */
	int ifc;          /* AT+IFC exists */
	int siemens_q;    /* AT\Q<n> (Siemens flow control) exists */
	int cmee_default; /* AT+CMEE at power-on and after ATZ/AT&F */
	enum sim_unknown_reply unknown;
	enum sim_prompt prompt;
	int answer_delay_ms;      /* between a command's echo and its answer */
	int64_t send_duration_ms; /* AT+CMGS, unless the send_duration fault says otherwise */
	int urc_in_command;       /* unsolicited lines may come between the echo and the answer */
	int index_base;           /* first message storage index: 1, or 0 */
	int huawei_urcs;          /* ^RSSI, ^HCSQ, ^MODE now and then until AT^CURC=0 */
	int cell_urcs;            /* +CREG: with a new cell now and then while AT+CREG=2 */
	const char *const *boot;  /* lines after power-on, NULL-terminated */
};

const struct sim_profile *sim_profile_default(void);
const struct sim_profile *sim_profile_find(const char *name);
/* The names, space-separated. */
void sim_profile_names(char *out, size_t outmax);
struct sim_modem;
/* Sets the profile and the identity it answers with (settings given later override it). */
void sim_profile_apply(struct sim_modem *m, const struct sim_profile *p);

enum sim_mem { SIM_MEM_SM = 0, SIM_MEM_ME, SIM_MEM_SR, SIM_MEM_COUNT };

/* <stat> values of AT+CMGL/+CMGR in PDU mode. */
enum sim_stat { SIM_STAT_UNREAD = 0, SIM_STAT_READ = 1, SIM_STAT_UNSENT = 2, SIM_STAT_SENT = 3 };

struct sim_slot {
	int used;
	enum sim_stat stat;
	size_t len, tpdu_len; /* the PDU with its SMSC field, and the TPDU alone */
	uint8_t pdu[PDU_MAX];
};

struct sim_storage {
	int size;
	struct sim_slot slot[SIM_STORE_MAX];
};

int sim_store_used(const struct sim_storage *st);
/* Stores a PDU in the first free slot; returns its 1-based index, or -1 when full. */
int sim_store_put(struct sim_storage *st, enum sim_stat stat, const uint8_t *pdu, size_t len, size_t tpdu_len);
/* Returns the used slot at a 1-based index, or NULL. */
struct sim_slot *sim_store_get(struct sim_storage *st, int index);
const char *sim_mem_name(enum sim_mem mem);
int sim_mem_parse(const char *name);

/* One line of a modem's history as the control socket shows it. */
struct sim_record {
	uint64_t seq;
	int64_t time_ms;
	char peer[SIM_NUMBER_MAX];
	char status[48];
	int mr;
	size_t len;
	uint8_t tpdu[PDU_TPDU_MAX];
};

struct sim_ring {
	struct sim_record *rec; /* SIM_RECORDS_MAX entries */
	size_t head, count;
};

struct sim_stats {
	unsigned long submitted, rejected, send_errors, lost, duplicated, delivered_out;
	unsigned long expired, unknown_dest, received, reports_received, resets;
};

enum sim_pin_state { SIM_PIN_READY = 0, SIM_PIN_SIM_PIN, SIM_PIN_SIM_PUK };

struct sim_modem {
	struct sim_net *net;
	int index;
	char number[SIM_NUMBER_MAX];

	/* Identity and static settings. */
	const struct sim_profile *profile;
	char imsi[SIM_STR_MAX], imei[SIM_STR_MAX];
	char manufacturer[SIM_STR_MAX], model[SIM_STR_MAX], revision[SIM_STR_MAX];
	char operator_name[SIM_STR_MAX], smsc[SIM_NUMBER_MAX];
	char pin[16], puk[16];
	int csq;
	int storage_size;
	struct sim_faults faults;

	/* Pseudo-terminal: we keep the slave open too so the master never sees a hangup when a
	 * client closes it, and a client can reopen the same path at any time. */
	int master, slave;
	char pty_path[PATH_MAX];
	char link_path[PATH_MAX];
	int resetting;
	struct sim_timer reset_timer;

	uint8_t in[SIM_IN_MAX];
	size_t in_len;
	uint8_t out[SIM_OUT_MAX];
	size_t out_len;
	unsigned long out_dropped;
	char urc[SIM_URC_MAX];
	size_t urc_len;

	/* AT interpreter state. */
	char line[SIM_AT_LINE_MAX + 1];
	size_t line_len;
	int line_overflow;
	int pdu_mode_input; /* after the "> " prompt */
	int pdu_expect;     /* TPDU length given to AT+CMGS */
	char pdu_hex[SIM_PDU_HEX_MAX + 1];
	size_t pdu_hex_len;
	int pdu_overflow;
	int resp_started;
	int busy; /* AT+CMGS is "sending": input waits */
	struct sim_timer busy_timer;
	int busy_mr, busy_cms; /* what the send answers when the duration is over */
	int answering;         /* a command line waits out the profile's answer delay: input waits */
	char pending_line[SIM_AT_LINE_MAX + 1];
	struct sim_timer answer_timer;
	struct sim_timer noise_timer; /* the profile's unsolicited lines now and then */
	struct sim_timer ring_timer;  /* an incoming call ("ring" control command) */
	int rings_left;
	char caller[SIM_NUMBER_MAX];
	int cell; /* cell id shown by +CREG: with AT+CREG=2 */
	uint64_t noise_rng;
	int cnma_due; /* +CMT/+CDS shown with AT+CSMS=1 and not yet acknowledged */
	int csms, clip, crc, curc, ifc_dce, ifc_dte;
	int echo, cmee, cscs, cmgf, creg_n, cgreg_n, cmms, cfun;
	int cnmi[5];
	enum sim_mem mem[3];
	enum sim_pin_state pin_state;
	int pin_attempts, puk_attempts;
	uint8_t next_mr;

	struct sim_storage store[SIM_MEM_COUNT];
	struct sim_ring sent, received;
	struct sim_stats stats;
};

struct sim_msg;

struct sim_net {
	char rundir[PATH_MAX];
	struct sim_modem *modem[SIM_MODEMS_MAX];
	int n_modems;
	uint64_t rng;
	uint64_t seq;
	/* Network-wide settings. */
	char smsc[SIM_NUMBER_MAX];
	int64_t default_validity_s;
	int64_t retry_ms;
	int64_t reset_ms;
	struct sim_modem defaults; /* settings new modems start from */
	struct sim_msg *inflight;
	int n_inflight;
};

/* sim_config.c */
void sim_defaults_init(struct sim_net *net);
/* Loads an INI file: [network], [defaults] and [modem NUMBER] sections. */
int sim_config_load(struct sim_net *net, const char *path);
struct sim_modem *sim_modem_add(struct sim_net *net, const char *number);
struct sim_modem *sim_modem_find(struct sim_net *net, const char *number);
/* Applies one "key value" setting (config key or control "set"); 0, or -1 with a reason. */
int sim_modem_set(struct sim_modem *m, const char *key, const char *value, char *why, size_t whylen);
void sim_faults_clear(struct sim_faults *f);
int sim_number_valid(const char *s);

/* sim_pty.c */
int sim_pty_open(struct sim_modem *m);
void sim_pty_close(struct sim_modem *m);
void sim_modem_write(struct sim_modem *m, const char *buf, size_t len);
void sim_modem_flush(struct sim_modem *m);
void sim_modem_read(struct sim_modem *m);
/* Runs the input that waited while the modem was busy. */
void sim_modem_process(struct sim_modem *m);
/* Drops the link for net->reset_ms and brings the modem back in its power-on state. */
void sim_modem_reset(struct sim_modem *m);
void sim_modem_free(struct sim_modem *m);

/* sim_at.c */
void sim_at_power_on(struct sim_modem *m);
/* Feeds input bytes; stops early (returning the count used) when the modem turns busy. */
size_t sim_at_input(struct sim_modem *m, const uint8_t *buf, size_t len);
/* Queues an unsolicited result code; it goes out when no command is being answered. */
void sim_at_urc(struct sim_modem *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_at_flush_urc(struct sim_modem *m);
int sim_at_idle(const struct sim_modem *m);
/* The storage index the modem shows for a slot (1-based inside; 0-based on some profiles). */
int sim_at_index(const struct sim_modem *m, int slot);
/* Rings count times (RING or +CRING, with +CLIP when enabled) until the call is answered. */
void sim_at_ring(struct sim_modem *m, const char *caller, int count);
/* A +CMT or +CDS went out: with AT+CSMS=1 the client owes an AT+CNMA. */
void sim_at_direct_shown(struct sim_modem *m);

/* sim_net.c */
void sim_net_seed(struct sim_net *net, uint64_t seed);
/* Takes a SUBMIT (SMSC field included; NULL if the hex was bad) from a modem; tpdu_len is the
 * length AT+CMGS announced, or -1. Returns the message reference (0-255) or -(CMS error). */
int sim_net_submit(struct sim_modem *from, const uint8_t *pdu, size_t len, int tpdu_len);
/* Hands an SMS-DELIVER or STATUS-REPORT TPDU to a modem now, or queues it if the modem cannot
 * take it. Writes what happened to where. Returns 0, or -1 if the TPDU is malformed. */
int sim_net_inject(struct sim_modem *to, const uint8_t *tpdu, size_t len, char *where, size_t wherelen);
/* Called when a modem registers again or gets storage back: retries what waits for it. */
void sim_net_kick(struct sim_modem *m);
void sim_net_free(struct sim_net *net);
int sim_net_pending(const struct sim_net *net);

/* Records: appends and returns the new record's sequence number. */
uint64_t sim_record_add(struct sim_net *net, struct sim_ring *ring, const char *peer, int mr, const uint8_t *tpdu,
			size_t len, const char *status);
void sim_record_set_status(struct sim_ring *ring, uint64_t seq, const char *status);
/* Formats a record as one control-socket line (no newline). */
void sim_record_format(const struct sim_record *r, int is_sent, char *out, size_t outmax);

/* sim_control.c */
int sim_control_open(struct sim_net *net);
void sim_control_close(struct sim_net *net);
/* poll() integration: fills at most max pollfds, then handles their events. */
int sim_control_pollfds(struct pollfd *pfd, int max);
void sim_control_events(struct sim_net *net, const struct pollfd *pfd, int n);
/* The --ctl client: sends one command, prints the reply; returns the exit status. */
int sim_control_client(const char *rundir, const char *command);

#endif
