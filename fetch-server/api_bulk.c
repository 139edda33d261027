/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Provider API: bulk registration (POST /v1/devices/bulk, api.md "Bulk registration"). Each
 * item is read as a single registration is; all of them are stored in one transaction or none
 * is, so a provider retries a failed request as it is, after fixing what the answer names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_common.h"
#include "util.h"

#define BULK_MAX STORE_DEVICE_ADD_MANY_MAX

/* A bulk registration across its group commit (r->write_ctx); the tokens are wiped when
 * answered. */
struct bulk_ctx {
	size_t n;
	char (*token)[96];             /* n tokens, after dev[] in the same allocation */
	struct store_device_new dev[]; /* the store's array as it is */
};

static void bulk_wipe(struct bulk_ctx *bc)
{
	for (size_t i = 0; i < bc->n; i++)
		explicit_bzero(bc->token[i], sizeof(bc->token[i]));
}

/* 409 listing every item whose msisdn is taken: the provider drops or fixes them all at once. */
static enum MHD_Result bulk_conflict(struct request *r, const struct bulk_ctx *bc)
{
	json_t *idx = json_array();
	size_t first = bc->n;
	char msg[160];

	for (size_t i = 0; i < bc->n; i++) {
		if (!bc->dev[i].conflict)
			continue;
		if (first == bc->n)
			first = i;
		json_array_append_new(idx, json_integer((json_int_t)i));
	}
	if (first == bc->n) {
		json_decref(idx);
		return http_reply_error(r, 500, "internal", "conflict without a conflicting device");
	}
	snprintf(msg, sizeof(msg),
		 "%zu msisdns are already registered or repeated in the request (first: devices[%zu] %s); "
		 "nothing was stored",
		 json_array_size(idx), first, bc->dev[first].d.msisdn);
	return http_reply_json(r, 409,
			       json_pack("{s:s, s:s, s:o}", "error", "conflict", "message", msg, "indexes", idx), NULL);
}

/* Called again once the devices' group committed: 201 only now, when all of them are durable. */
static enum MHD_Result bulk_created(struct request *r, int rc)
{
	struct bulk_ctx *bc = r->write_ctx;
	enum MHD_Result ret;
	json_t *arr;
	size_t i;

	if (rc == STORE_CONFLICT) {
		ret = bulk_conflict(r, bc);
		goto out;
	}
	if (rc != STORE_OK) {
		ret = api_store_error(r, rc, "device");
		goto out;
	}
	arr = json_array();
	for (i = 0; i < bc->n; i++) {
		struct store_device d;
		json_t *j;

		if (store_device_get(r->srv->store, r->principal.id, bc->dev[i].d.id, &d) != STORE_OK)
			break;
		j = api_device_json(r, &d);
		if (api_device_secrets(r, &d, bc->token[i], j) != 0) {
			json_decref(j);
			break;
		}
		json_array_append_new(arr, j);
	}
	if (i < bc->n) {
		json_decref(arr);
		ret = http_reply_error(r, 500, "internal", "cannot read back devices[%zu]", i);
	} else {
		ret = http_reply_json(r, 201, json_pack("{s:o}", "devices", arr), NULL);
	}
out:
	bulk_wipe(bc);
	return ret;
}

/* Reads every item before anything is queued: the first bad one is answered 400 with its index. */
static int bulk_read(struct request *r, json_t *devs, struct bulk_ctx *bc)
{
	struct api_tags tags;
	json_t *v;
	size_t i;
	int rc = 0;

	r->item_key = "devices";
	json_array_foreach (devs, i, v) {
		struct store_device_new *n = &bc->dev[i];

		r->item = i;
		if (!json_is_object(v)) {
			http_reply_error(r, 400, "invalid_field", "a device must be a JSON object");
			rc = -1;
			break;
		}
		if ((rc = api_device_read(r, v, &n->d, &tags)) != 0)
			break;
		n->ntags = tags.n;
		memcpy(n->tags, tags.tag, sizeof(n->tags));
	}
	r->item_key = NULL;
	return rc;
}

enum MHD_Result api_device_bulk(struct request *r)
{
	static const char *const allowed[] = {"devices", NULL};
	struct bulk_ctx *bc;
	json_t *body, *devs;
	size_t n;
	int rc;

	if (http_write_finished(r, &rc))
		return bulk_created(r, rc);
	body = http_json_body(r);
	if (body == NULL)
		return MHD_YES;
	if (http_json_check_fields(r, body, allowed) != 0)
		goto answered;
	devs = json_object_get(body, "devices");
	n = json_array_size(devs);
	if (!json_is_array(devs) || n == 0 || n > BULK_MAX) {
		http_reply_error(r, 400, "invalid_field",
				 "'devices' must be an array of 1 to %d devices; split larger fleets into several "
				 "requests",
				 BULK_MAX);
		goto answered;
	}
	bc = calloc(1, sizeof(*bc) + n * (sizeof(bc->dev[0]) + sizeof(bc->token[0])));
	if (bc == NULL) {
		http_reply_error(r, 500, "internal", "out of memory");
		goto answered;
	}
	r->write_ctx = bc;
	bc->n = n;
	bc->token = (char(*)[96])(void *)&bc->dev[n];
	if (bulk_read(r, devs, bc) != 0)
		goto answered;
	json_decref(body);
	for (size_t i = 0; i < n; i++) {
		if (keys_new_token("swd", bc->token[i], sizeof(bc->token[i]), bc->dev[i].token_hash) != 0) {
			bulk_wipe(bc);
			return http_reply_error(r, 500, "internal", "cannot create a token");
		}
	}
	http_write_begin(r);
	rc = store_device_add_many_async(r->srv->store, bc->dev, n, util_now_ms(), http_write_done, r);
	if (rc != STORE_OK)
		http_write_done(r, rc);
	return MHD_YES;
answered:
	json_decref(body);
	return MHD_YES;
}
