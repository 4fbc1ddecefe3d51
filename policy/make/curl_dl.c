/* libcurl, opened on first use: see curl_dl.h for why. */
#include "bpg_config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* the real prototypes, to check the table's types against them */
#include <curl/curl.h>

#include "curl_dl.h"

mk_curl_api mk_curl;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[256];

/* Resolve one name into a table slot of the matching type. */
#define RESOLVE(slot, name) do { \
	void *sym_ = dlsym(h, name); \
	if (!sym_) { \
		snprintf(load_error, sizeof(load_error), "%s has no %s", BPG_LIBCURL, name); \
		goto fail; \
	} \
	memcpy(&t.slot, &sym_, sizeof(sym_)); \
} while (0)

static void load(void)
{
	mk_curl_api t;
	void *h = dlopen(BPG_LIBCURL, RTLD_NOW | RTLD_LOCAL);

	memset(&t, 0, sizeof(t));
	if (!h) {
		const char *e = dlerror();
		snprintf(load_error, sizeof(load_error), "%s", e ? e : BPG_LIBCURL ": not found");
		return;
	}
	RESOLVE(global_init, "curl_global_init");
	RESOLVE(easy_init, "curl_easy_init");
	RESOLVE(easy_cleanup, "curl_easy_cleanup");
	RESOLVE(easy_reset, "curl_easy_reset");
	RESOLVE(easy_setopt, "curl_easy_setopt");
	RESOLVE(easy_getinfo, "curl_easy_getinfo");
	RESOLVE(easy_perform, "curl_easy_perform");
	RESOLVE(easy_strerror, "curl_easy_strerror");
	RESOLVE(free, "curl_free");
	RESOLVE(slist_append, "curl_slist_append");
	RESOLVE(slist_free_all, "curl_slist_free_all");
	RESOLVE(url, "curl_url");
	RESOLVE(url_cleanup, "curl_url_cleanup");
	RESOLVE(url_get, "curl_url_get");
	RESOLVE(url_set, "curl_url_set");
	mk_curl = t; /* the handle stays open for the life of the process */
	return;
fail:
	dlclose(h);
}

int mk_curl_load(bpg_error *err)
{
	pthread_once(&once, load);
	if (mk_curl.url_set)
		return 0;
	return bpg_error_set(err, BPG_ERROR, "Make API: cannot load libcurl (the Make API client needs it): %s",
		load_error[0] ? load_error : "unknown error");
}
