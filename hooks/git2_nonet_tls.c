/*
 * libgit2's HTTPS transport (mbedTLS), closed: the TLS half of git2_nonet.c.
 *
 * libgit2.a calls mbedTLS for two things: SHA-256 (linked from libmbedcrypto.a, the real
 * code) and HTTPS streams. git_libgit2_init() sets up an HTTPS configuration (entropy
 * pool, DRBG, cipher list, CA chain) that bpgate never uses, at the cost of three shared
 * libraries and the entropy pool's set-up in every hook. Here that set-up succeeds doing
 * nothing, and the TLS handshake fails before it sends anything (mbedtls_ssl_handshake),
 * so an https:// remote through libgit2 errors ("SSL error: ... TLS is not in this
 * program"): its TCP connection is opened and closed without a byte. The CA bundle is not read either (gitinit.c answers libgit2's
 * mbedtls_x509_crt_parse_file during init, and fails every other call in this program).
 * Prototypes from mbedTLS's own headers (libmbedtls-dev, a dependency of libgit2-dev).
 * Owns nothing; one flag (the cipher list below).
 */
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <stdbool.h>
#include <string.h>

/* The fields libgit2 reads back (ca_chain, p_rng: freed by its shutdown) are set as
 * mbedTLS sets them: the structures are public in mbedTLS 2. */
void mbedtls_ssl_config_init(mbedtls_ssl_config *conf)
{
	memset(conf, 0, sizeof(*conf));
}

int mbedtls_ssl_config_defaults(mbedtls_ssl_config *conf, int endpoint, int transport, int preset)
{
	(void)conf, (void)endpoint, (void)transport, (void)preset;
	return 0;
}

void mbedtls_ssl_config_free(mbedtls_ssl_config *conf)
{
	(void)conf;
}

/* libgit2 wants at least one known cipher suite in its list (else init fails): the first
 * name it asks about is "known", no other */
int mbedtls_ssl_get_ciphersuite_id(const char *ciphersuite_name)
{
	static bool given;

	(void)ciphersuite_name;
	if (given)
		return 0;
	given = true;
	return 1;
}

void mbedtls_ssl_conf_ciphersuites(mbedtls_ssl_config *conf, const int *ciphersuites)
{
	(void)conf, (void)ciphersuites;
}

void mbedtls_ssl_conf_authmode(mbedtls_ssl_config *conf, int authmode)
{
	conf->authmode = (unsigned)authmode & 3;
}

void mbedtls_ssl_conf_ca_chain(mbedtls_ssl_config *conf, mbedtls_x509_crt *ca_chain, mbedtls_x509_crl *ca_crl)
{
	conf->ca_chain = ca_chain;
	conf->ca_crl = ca_crl;
}

void mbedtls_ssl_conf_min_version(mbedtls_ssl_config *conf, int major, int minor)
{
	(void)conf, (void)major, (void)minor;
}

void mbedtls_ssl_conf_rng(mbedtls_ssl_config *conf, int (*f_rng)(void *, unsigned char *, size_t), void *p_rng)
{
	conf->f_rng = f_rng;
	conf->p_rng = p_rng;
}

void mbedtls_entropy_init(mbedtls_entropy_context *ctx)
{
	(void)ctx; /* never read: mbedtls_entropy_func and _free do not look at it */
}

void mbedtls_entropy_free(mbedtls_entropy_context *ctx)
{
	(void)ctx;
}

int mbedtls_entropy_func(void *data, unsigned char *output, size_t len)
{
	(void)data, (void)output, (void)len;
	return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
}

void mbedtls_ctr_drbg_init(mbedtls_ctr_drbg_context *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
}

void mbedtls_ctr_drbg_free(mbedtls_ctr_drbg_context *ctx)
{
	(void)ctx;
}

int mbedtls_ctr_drbg_seed(mbedtls_ctr_drbg_context *ctx, int (*f_entropy)(void *, unsigned char *, size_t),
	void *p_entropy, const unsigned char *custom, size_t len)
{
	(void)ctx, (void)f_entropy, (void)p_entropy, (void)custom, (void)len;
	return 0; /* nothing will ever draw from it: no TLS session is created */
}

int mbedtls_ctr_drbg_random(void *p_rng, unsigned char *output, size_t output_len)
{
	(void)p_rng, (void)output, (void)output_len;
	return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}

void mbedtls_x509_crt_init(mbedtls_x509_crt *crt)
{
	memset(crt, 0, sizeof(*crt));
}

void mbedtls_x509_crt_free(mbedtls_x509_crt *crt)
{
	(void)crt;
}

int mbedtls_x509_crt_parse_path(mbedtls_x509_crt *chain, const char *path)
{
	(void)chain, (void)path;
	return MBEDTLS_ERR_X509_FILE_IO_ERROR;
}

int mbedtls_x509_crt_verify_info(char *buf, size_t size, const char *prefix, uint32_t flags)
{
	(void)prefix, (void)flags;
	if (buf && size)
		buf[0] = '\0';
	return 0;
}

void mbedtls_ssl_init(mbedtls_ssl_context *ssl)
{
	memset(ssl, 0, sizeof(*ssl));
}

void mbedtls_ssl_free(mbedtls_ssl_context *ssl)
{
	(void)ssl;
}

/* A session object can be made (libgit2 1.5 frees its socket twice when this fails:
 * git_mbedtls_stream_new after mbedtls_stream_wrap), but no handshake ever happens. */
int mbedtls_ssl_setup(mbedtls_ssl_context *ssl, const mbedtls_ssl_config *conf)
{
	ssl->conf = conf;
	return 0;
}

int mbedtls_ssl_set_hostname(mbedtls_ssl_context *ssl, const char *hostname)
{
	(void)ssl, (void)hostname;
	return 0;
}

void mbedtls_ssl_set_bio(mbedtls_ssl_context *ssl, void *p_bio, mbedtls_ssl_send_t *f_send, mbedtls_ssl_recv_t *f_recv,
	mbedtls_ssl_recv_timeout_t *f_recv_timeout)
{
	(void)ssl, (void)p_bio, (void)f_send, (void)f_recv, (void)f_recv_timeout;
}

/* the one door to a TLS session: closed, before a byte is sent */
int mbedtls_ssl_handshake(mbedtls_ssl_context *ssl)
{
	(void)ssl;
	return MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE;
}

int mbedtls_ssl_read(mbedtls_ssl_context *ssl, unsigned char *buf, size_t len)
{
	(void)ssl, (void)buf, (void)len;
	return MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE;
}

int mbedtls_ssl_write(mbedtls_ssl_context *ssl, const unsigned char *buf, size_t len)
{
	(void)ssl, (void)buf, (void)len;
	return MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE;
}

int mbedtls_ssl_close_notify(mbedtls_ssl_context *ssl)
{
	(void)ssl;
	return MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE;
}

const mbedtls_x509_crt *mbedtls_ssl_get_peer_cert(const mbedtls_ssl_context *ssl)
{
	(void)ssl;
	return NULL;
}

uint32_t mbedtls_ssl_get_verify_result(const mbedtls_ssl_context *ssl)
{
	(void)ssl;
	return (uint32_t)-1; /* every verification flag: never verified */
}

void mbedtls_strerror(int errnum, char *buffer, size_t buflen)
{
	static const char msg[] = "TLS is not in this program (bpgate reads local repositories only)";

	(void)errnum;
	if (buffer && buflen) {
		size_t n = strlen(msg) < buflen - 1 ? strlen(msg) : buflen - 1;
		memcpy(buffer, msg, n);
		buffer[n] = '\0';
	}
}
