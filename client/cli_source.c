/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SMS sources for `smswake-client run`. A source delivers received SMS as lines (hex PDU, hex
 * user data with its header, or the text form). Here: a FIFO that any SMS stack can write to (a
 * modem script, a test). The device's own modem is the other source, in cli_source_modem.c. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define FIFO_BUF 4096

struct fifo {
	int fd;
	char buf[FIFO_BUF];
	size_t len;
	int discarding; /* inside a line longer than the buffer: drop it up to its end */
};

static int fifo_open(void **state, const struct cli_config *cfg)
{
	const char *path = cfg->sms_fifo;
	struct fifo *f;
	struct stat st;

	if (path == NULL)
		return -1;
	if (mkfifo(path, 0600) != 0 && errno != EEXIST)
		return -1;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	/* Read-write so the FIFO always has a writer: no end-of-file each time a writer closes. */
	f->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (f->fd < 0 || fstat(f->fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
		if (f->fd >= 0)
			close(f->fd);
		free(f);
		errno = errno ? errno : EINVAL;
		return -1;
	}
	*state = f;
	return 0;
}

/* Takes one complete line out of the buffer, if there is one. */
static int take_line(struct fifo *f, char *line, size_t max)
{
	char *nl = memchr(f->buf, '\n', f->len);
	size_t n;

	if (nl == NULL) {
		if (f->len == sizeof(f->buf)) {
			f->len = 0;
			f->discarding = 1;
		}
		return 0;
	}
	n = (size_t)(nl - f->buf);
	if (!f->discarding && n < max) {
		memcpy(line, f->buf, n);
		line[n] = '\0';
	}
	memmove(f->buf, nl + 1, f->len - n - 1);
	f->len -= n + 1;
	if (f->discarding || n >= max) {
		f->discarding = 0;
		return 0;
	}
	return 1;
}

static int fifo_wait(void *state, int timeout_ms, char *line, size_t max)
{
	struct fifo *f = state;
	struct pollfd pfd = {.fd = f->fd, .events = POLLIN};

	for (;;) {
		ssize_t n;
		int r;

		if (take_line(f, line, max))
			return 1;
		r = poll(&pfd, 1, timeout_ms);
		if (r < 0)
			return errno == EINTR ? -2 : -1;
		if (r == 0)
			return 0;
		n = read(f->fd, f->buf + f->len, sizeof(f->buf) - f->len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return -1;
		f->len += (size_t)n;
		timeout_ms = 0; /* data arrived: only drain what is there */
		if (take_line(f, line, max))
			return 1;
	}
}

static void fifo_close(void *state)
{
	struct fifo *f = state;

	if (f != NULL) {
		close(f->fd);
		free(f);
	}
}

const struct sms_source_ops sms_source_fifo = {
	.name = "fifo",
	.open = fifo_open,
	.wait = fifo_wait,
	.close = fifo_close,
};

static const struct sms_source_ops *const sources[] = {
	&sms_source_fifo,
	&sms_source_modem,
};

const struct sms_source_ops *sms_source_find(const char *name)
{
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
		if (strcmp(sources[i]->name, name) == 0)
			return sources[i];
	return NULL;
}
