/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Runs the configured handler program for one fetched message: body on stdin (an anonymous
 * file, so a handler that never reads it cannot block us), metadata in the environment, bounded
 * run time. Without a handler, prints the message as one JSON line. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "log.h"

extern char **environ;

static int print_json(const struct smswake_message *m)
{
	json_t *o = json_object();
	char *b64 = NULL, *text;
	size_t n = (m->body_len + 2) / 3 * 4 + 1;
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o_ = 0;
	int rc = -1;

	b64 = malloc(n);
	if (o == NULL || b64 == NULL)
		goto done;
	/* Standard base64 with padding, as the server's API uses. */
	for (i = 0; i + 3 <= m->body_len; i += 3) {
		uint32_t v = (uint32_t)m->body[i] << 16 | (uint32_t)m->body[i + 1] << 8 | m->body[i + 2];
		b64[o_++] = tab[v >> 18];
		b64[o_++] = tab[(v >> 12) & 63];
		b64[o_++] = tab[(v >> 6) & 63];
		b64[o_++] = tab[v & 63];
	}
	if (m->body_len - i > 0) {
		uint32_t v = (uint32_t)m->body[i] << 16 | (m->body_len - i == 2 ? (uint32_t)m->body[i + 1] << 8 : 0);
		b64[o_++] = tab[v >> 18];
		b64[o_++] = tab[(v >> 12) & 63];
		b64[o_++] = m->body_len - i == 2 ? tab[(v >> 6) & 63] : '=';
		b64[o_++] = '=';
	}
	b64[o_] = '\0';
	json_object_set_new(o, "id", json_integer((json_int_t)m->id));
	json_object_set_new(o, "seq", json_integer((json_int_t)m->seq));
	json_object_set_new(o, "urgency", json_string(m->urgency));
	if (m->topic != NULL)
		json_object_set_new(o, "topic", json_string(m->topic));
	json_object_set_new(o, "content_type", json_string(m->content_type));
	json_object_set_new(o, "body", json_string(b64));
	json_object_set_new(o, "redelivered", json_boolean(m->redelivered));
	text = json_dumps(o, JSON_COMPACT);
	if (text != NULL) {
		rc = printf("%s\n", text) < 0 || fflush(stdout) != 0 ? -1 : 0;
		free(text);
	}
done:
	json_decref(o);
	free(b64);
	return rc;
}

/* Environment entries "NAME=value" the handler gets on top of ours (old SMSWAKE_* removed). */
static char **build_env(const struct smswake_message *m, char vars[7][512])
{
	size_t n = 0, k = 0;
	char **env;

	for (char **e = environ; *e != NULL; e++)
		n++;
	env = calloc(n + 8, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (char **e = environ; *e != NULL; e++)
		if (strncmp(*e, "SMSWAKE_", 8) != 0)
			env[k++] = *e;
	snprintf(vars[0], 512, "SMSWAKE_MESSAGE_ID=%" PRIu64, m->id);
	snprintf(vars[1], 512, "SMSWAKE_SEQ=%" PRIu64, m->seq);
	snprintf(vars[2], 512, "SMSWAKE_CONTENT_TYPE=%s", m->content_type);
	snprintf(vars[3], 512, "SMSWAKE_URGENCY=%s", m->urgency);
	snprintf(vars[4], 512, "SMSWAKE_REDELIVERED=%d", m->redelivered ? 1 : 0);
	/* 1 when the body was end-to-end encrypted to this device and decrypted here. */
	snprintf(vars[6], 512, "SMSWAKE_ENCRYPTED=%d", m->encrypted ? 1 : 0);
	for (int i = 0; i < 5; i++)
		env[k++] = vars[i];
	env[k++] = vars[6];
	if (m->topic != NULL) {
		snprintf(vars[5], 512, "SMSWAKE_TOPIC=%s", m->topic);
		env[k++] = vars[5];
	}
	env[k] = NULL;
	return env;
}

static int body_fd(const struct smswake_message *m)
{
	int fd = memfd_create("smswake-body", MFD_CLOEXEC);
	size_t off = 0;

	if (fd < 0) {
		FILE *fp = tmpfile(); /* kernels without memfd */
		if (fp == NULL)
			return -1;
		fd = dup(fileno(fp));
		fclose(fp);
		if (fd < 0)
			return -1;
	}
	while (off < m->body_len) {
		ssize_t n = write(fd, m->body + off, m->body_len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

const char *cli_handler_hint(int err)
{
	switch (err) {
	case ENOENT: return "not found: set handler = to the full path of a program that exists";
	case EACCES: return "not executable: chmod +x it, and let the client's user reach its directory";
	case ENOEXEC: return "not a program: give a script a #! line";
	default: return "set handler = to the full path of an executable program";
	}
}

int cli_handler_check(const struct cli_config *cfg, char *err, size_t errmax)
{
	if (cfg->handler == NULL || access(cfg->handler, X_OK) == 0)
		return 0;
	int e = errno;
	snprintf(err, errmax, "handler %s: %s (%s)", cfg->handler, strerror(e), cli_handler_hint(e));
	return -1;
}

/* The child's exec error comes back through a close-on-exec pipe: nothing arrives when exec
 * succeeded, errno when it failed (a handler's own exit status 127 stays its own). */
static int exec_error(int rfd)
{
	int e = 0;
	ssize_t n;

	while ((n = read(rfd, &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(rfd);
	return n == (ssize_t)sizeof(e) ? e : 0;
}

int cli_run_handler(const struct cli_config *cfg, const struct smswake_message *m)
{
	char vars[7][512], *argv[2];
	char **env;
	struct timespec tick = {.tv_sec = 0, .tv_nsec = 20 * 1000000L};
	long waited_ms = 0;
	pid_t pid;
	int fd, status = 0, errpipe[2], e;

	if (cfg->handler == NULL)
		return print_json(m);
	fd = body_fd(m);
	if (fd < 0) {
		log_warn("handler: cannot store the message body");
		return -1;
	}
	/* Everything the child needs is built before fork, so the child does not allocate: only
	 * async-signal-safe calls between fork and exec. */
	env = build_env(m, vars);
	argv[0] = cfg->handler;
	argv[1] = NULL;
	if (env == NULL) {
		close(fd);
		return -1;
	}
	if (pipe2(errpipe, O_CLOEXEC) != 0) {
		log_warn("handler: pipe");
		free(env);
		close(fd);
		return -1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		log_warn("handler: fork");
		free(env);
		close(fd);
		close(errpipe[0]);
		close(errpipe[1]);
		return -1;
	}
	if (pid == 0) {
		close(errpipe[0]);
		if (dup2(fd, STDIN_FILENO) < 0)
			_exit(126);
		execve(cfg->handler, argv, env);
		e = errno;
		(void)!write(errpipe[1], &e, sizeof(e));
		_exit(127);
	}
	free(env);
	close(fd);
	close(errpipe[1]);
	e = exec_error(errpipe[0]);
	if (e != 0) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		log_warnx("handler: cannot run %s: %s (%s); seq %" PRIu64 " left queued", cfg->handler, strerror(e),
			  cli_handler_hint(e), m->seq);
		return -1;
	}
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			log_warn("handler: waitpid");
			return -1;
		}
		if (waited_ms >= (long)cfg->handler_timeout * 1000) {
			log_warnx("handler: %s ran longer than %u s, killed (seq %" PRIu64 ")", cfg->handler,
				  cfg->handler_timeout, m->seq);
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return -1;
		}
		nanosleep(&tick, NULL);
		waited_ms += 20;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		log_warnx("handler: %s exited with %d for seq %" PRIu64 "; left queued", cfg->handler,
			  WEXITSTATUS(status), m->seq);
	else
		log_warnx("handler: %s killed by signal %d for seq %" PRIu64 "; left queued", cfg->handler,
			  WIFSIGNALED(status) ? WTERMSIG(status) : 0, m->seq);
	return -1;
}
