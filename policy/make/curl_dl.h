/*
 * libcurl, opened on first use (curl_dl.c). Only the Make API client needs
 * HTTPS, so libbpgate does not link libcurl: loading it with every program
 * (and its ~30 libraries: TLS, Kerberos, LDAP, IDN...) cost each client hook
 * several milliseconds of start-up. The module's files include this after
 * <curl/curl.h>; the curl_* names below then call through the table that
 * mk_curl_load() fills. Call mk_curl_load() (once is enough, it is cheap
 * after) before any other curl_* call: every entry to the module does.
 */
#ifndef BPG_MAKE_CURL_DL_H
#define BPG_MAKE_CURL_DL_H

#include <curl/curl.h>

#include "bpgate/common.h"

typedef struct {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *curl);
	void (*easy_reset)(CURL *curl);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	CURLcode (*easy_perform)(CURL *curl);
	const char *(*easy_strerror)(CURLcode code);
	void (*free)(void *p);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
	CURLU *(*url)(void);
	void (*url_cleanup)(CURLU *u);
	CURLUcode (*url_get)(const CURLU *u, CURLUPart what, char **part, unsigned int flags);
	CURLUcode (*url_set)(CURLU *u, CURLUPart what, const char *part, unsigned int flags);
} mk_curl_api;

/* Filled by mk_curl_load(); all NULL before. */
extern mk_curl_api mk_curl;

/* Open libcurl (BPG_LIBCURL, e.g. libcurl.so.4) and resolve what the client
 * uses, once per process. 0, or BPG_ERROR with "Make API: cannot load
 * libcurl ..." (every later call fails the same way). */
int mk_curl_load(bpg_error *err);

/* The client's calls go through the table (libcurl's own type-checking
 * macros for setopt/getinfo are dropped with it). */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init (*mk_curl.global_init)
#define curl_easy_init (*mk_curl.easy_init)
#define curl_easy_cleanup (*mk_curl.easy_cleanup)
#define curl_easy_reset (*mk_curl.easy_reset)
#define curl_easy_setopt (*mk_curl.easy_setopt)
#define curl_easy_getinfo (*mk_curl.easy_getinfo)
#define curl_easy_perform (*mk_curl.easy_perform)
#define curl_easy_strerror (*mk_curl.easy_strerror)
#define curl_free (*mk_curl.free)
#define curl_slist_append (*mk_curl.slist_append)
#define curl_slist_free_all (*mk_curl.slist_free_all)
#define curl_url (*mk_curl.url)
#define curl_url_cleanup (*mk_curl.url_cleanup)
#define curl_url_get (*mk_curl.url_get)
#define curl_url_set (*mk_curl.url_set)

#endif
