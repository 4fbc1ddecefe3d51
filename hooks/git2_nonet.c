/*
 * libgit2's SSH (libssh2) and Negotiate (GSSAPI/Kerberos) transports, closed.
 *
 * The `bpgate` command links libgit2 statically (hooks/meson.build, option
 * libgit2_static): Debian's libgit2.so pulls in libssh2 -> OpenSSL's libcrypto and
 * GSSAPI -> six Kerberos libraries, ~6 ms of loading and page faults in every
 * process, although bpgate never talks to a remote through libgit2 (it reads local
 * repositories; fetches and pushes run `git`). libgit2.a still references those
 * libraries' functions; this file defines them, so they are never loaded.
 *
 * Fail closed: only libssh2_init()/libssh2_exit() succeed (git_libgit2_init()
 * calls them). Every other function fails as the real library fails when it cannot
 * go on: no SSH session, channel, agent or known-hosts store is ever created,
 * authentication never succeeds, and GSSAPI reports GSS_S_FAILURE (no mechanism).
 * An ssh:// remote through libgit2 therefore errors ("failed to initialize SSH
 * session"), and HTTP Negotiate authentication is unavailable; nothing connects.
 * Owns nothing; no state.
 */
#include <libssh2.h>
#include <stddef.h>
#include <stdint.h>

#define NONET_MSG "bpgate: libgit2's SSH transport is not in this program (bpgate reads local repositories only)"

/* ---- libssh2 (prototypes from its own header: checked by the compiler) ---- */

int libssh2_init(int flags)
{
	(void)flags;
	return 0; /* called by git_libgit2_init(); nothing else works */
}

void libssh2_exit(void)
{
}

LIBSSH2_SESSION *libssh2_session_init_ex(LIBSSH2_ALLOC_FUNC((*my_alloc)), LIBSSH2_FREE_FUNC((*my_free)),
	LIBSSH2_REALLOC_FUNC((*my_realloc)), void *abstract)
{
	(void)my_alloc, (void)my_free, (void)my_realloc, (void)abstract;
	return NULL;
}

void **libssh2_session_abstract(LIBSSH2_SESSION *session)
{
	(void)session;
	return NULL;
}

int libssh2_session_disconnect_ex(LIBSSH2_SESSION *session, int reason, const char *description, const char *lang)
{
	(void)session, (void)reason, (void)description, (void)lang;
	return LIBSSH2_ERROR_SOCKET_NONE;
}

int libssh2_session_free(LIBSSH2_SESSION *session)
{
	(void)session;
	return LIBSSH2_ERROR_SOCKET_NONE;
}

int libssh2_session_handshake(LIBSSH2_SESSION *session, libssh2_socket_t sock)
{
	(void)session, (void)sock;
	return LIBSSH2_ERROR_SOCKET_NONE;
}

const char *libssh2_session_hostkey(LIBSSH2_SESSION *session, size_t *len, int *type)
{
	(void)session;
	if (len)
		*len = 0;
	if (type)
		*type = LIBSSH2_HOSTKEY_TYPE_UNKNOWN;
	return NULL;
}

int libssh2_session_last_error(LIBSSH2_SESSION *session, char **errmsg, int *errmsg_len, int want_buf)
{
	(void)session;
	if (errmsg)
		*errmsg = want_buf ? NULL : (char *)NONET_MSG; /* want_buf: the caller would free it */
	if (errmsg_len)
		*errmsg_len = errmsg && *errmsg ? (int)sizeof(NONET_MSG) - 1 : 0;
	return LIBSSH2_ERROR_SOCKET_NONE;
}

int libssh2_session_method_pref(LIBSSH2_SESSION *session, int method_type, const char *prefs)
{
	(void)session, (void)method_type, (void)prefs;
	return LIBSSH2_ERROR_METHOD_NOT_SUPPORTED;
}

void libssh2_session_set_blocking(LIBSSH2_SESSION *session, int blocking)
{
	(void)session, (void)blocking;
}

const char *libssh2_hostkey_hash(LIBSSH2_SESSION *session, int hash_type)
{
	(void)session, (void)hash_type;
	return NULL;
}

LIBSSH2_CHANNEL *libssh2_channel_open_ex(LIBSSH2_SESSION *session, const char *channel_type,
	unsigned int channel_type_len, unsigned int window_size, unsigned int packet_size, const char *message,
	unsigned int message_len)
{
	(void)session, (void)channel_type, (void)channel_type_len, (void)window_size, (void)packet_size;
	(void)message, (void)message_len;
	return NULL;
}

int libssh2_channel_close(LIBSSH2_CHANNEL *channel)
{
	(void)channel;
	return LIBSSH2_ERROR_SOCKET_NONE;
}

int libssh2_channel_free(LIBSSH2_CHANNEL *channel)
{
	(void)channel;
	return LIBSSH2_ERROR_SOCKET_NONE;
}

int libssh2_channel_process_startup(LIBSSH2_CHANNEL *channel, const char *request, unsigned int request_len,
	const char *message, unsigned int message_len)
{
	(void)channel, (void)request, (void)request_len, (void)message, (void)message_len;
	return LIBSSH2_ERROR_SOCKET_NONE;
}

ssize_t libssh2_channel_read_ex(LIBSSH2_CHANNEL *channel, int stream_id, char *buf, size_t buflen)
{
	(void)channel, (void)stream_id, (void)buf, (void)buflen;
	return LIBSSH2_ERROR_SOCKET_NONE;
}

ssize_t libssh2_channel_write_ex(LIBSSH2_CHANNEL *channel, int stream_id, const char *buf, size_t buflen)
{
	(void)channel, (void)stream_id, (void)buf, (void)buflen;
	return LIBSSH2_ERROR_SOCKET_NONE;
}

void libssh2_channel_set_blocking(LIBSSH2_CHANNEL *channel, int blocking)
{
	(void)channel, (void)blocking;
}

LIBSSH2_AGENT *libssh2_agent_init(LIBSSH2_SESSION *session)
{
	(void)session;
	return NULL;
}

int libssh2_agent_connect(LIBSSH2_AGENT *agent)
{
	(void)agent;
	return LIBSSH2_ERROR_AGENT_PROTOCOL;
}

int libssh2_agent_disconnect(LIBSSH2_AGENT *agent)
{
	(void)agent;
	return LIBSSH2_ERROR_AGENT_PROTOCOL;
}

void libssh2_agent_free(LIBSSH2_AGENT *agent)
{
	(void)agent;
}

int libssh2_agent_list_identities(LIBSSH2_AGENT *agent)
{
	(void)agent;
	return LIBSSH2_ERROR_AGENT_PROTOCOL;
}

int libssh2_agent_get_identity(LIBSSH2_AGENT *agent, struct libssh2_agent_publickey **store,
	struct libssh2_agent_publickey *prev)
{
	(void)agent, (void)prev;
	if (store)
		*store = NULL;
	return LIBSSH2_ERROR_AGENT_PROTOCOL;
}

int libssh2_agent_userauth(LIBSSH2_AGENT *agent, const char *username, struct libssh2_agent_publickey *identity)
{
	(void)agent, (void)username, (void)identity;
	return LIBSSH2_ERROR_AUTHENTICATION_FAILED;
}

LIBSSH2_KNOWNHOSTS *libssh2_knownhost_init(LIBSSH2_SESSION *session)
{
	(void)session;
	return NULL;
}

void libssh2_knownhost_free(LIBSSH2_KNOWNHOSTS *hosts)
{
	(void)hosts;
}

int libssh2_knownhost_readfile(LIBSSH2_KNOWNHOSTS *hosts, const char *filename, int type)
{
	(void)hosts, (void)filename, (void)type;
	return LIBSSH2_ERROR_FILE;
}

int libssh2_knownhost_checkp(LIBSSH2_KNOWNHOSTS *hosts, const char *host, int port, const char *key, size_t keylen,
	int typemask, struct libssh2_knownhost **knownhost)
{
	(void)hosts, (void)host, (void)port, (void)key, (void)keylen, (void)typemask;
	if (knownhost)
		*knownhost = NULL;
	return LIBSSH2_KNOWNHOST_CHECK_FAILURE;
}

int libssh2_userauth_authenticated(LIBSSH2_SESSION *session)
{
	(void)session;
	return 0;
}

char *libssh2_userauth_list(LIBSSH2_SESSION *session, const char *username, unsigned int username_len)
{
	(void)session, (void)username, (void)username_len;
	return NULL;
}

int libssh2_userauth_password_ex(LIBSSH2_SESSION *session, const char *username, unsigned int username_len,
	const char *password, unsigned int password_len, LIBSSH2_PASSWD_CHANGEREQ_FUNC((*passwd_change_cb)))
{
	(void)session, (void)username, (void)username_len, (void)password, (void)password_len, (void)passwd_change_cb;
	return LIBSSH2_ERROR_AUTHENTICATION_FAILED;
}

int libssh2_userauth_publickey_fromfile_ex(LIBSSH2_SESSION *session, const char *username, unsigned int username_len,
	const char *publickey, const char *privatekey, const char *passphrase)
{
	(void)session, (void)username, (void)username_len, (void)publickey, (void)privatekey, (void)passphrase;
	return LIBSSH2_ERROR_AUTHENTICATION_FAILED;
}

int libssh2_userauth_publickey_frommemory(LIBSSH2_SESSION *session, const char *username, size_t username_len,
	const char *publickeyfiledata, size_t publickeyfiledata_len, const char *privatekeyfiledata,
	size_t privatekeyfiledata_len, const char *passphrase)
{
	(void)session, (void)username, (void)username_len, (void)publickeyfiledata, (void)publickeyfiledata_len;
	(void)privatekeyfiledata, (void)privatekeyfiledata_len, (void)passphrase;
	return LIBSSH2_ERROR_AUTHENTICATION_FAILED;
}

int libssh2_userauth_publickey(LIBSSH2_SESSION *session, const char *username, const unsigned char *pubkeydata,
	size_t pubkeydata_len, LIBSSH2_USERAUTH_PUBLICKEY_SIGN_FUNC((*sign_callback)), void **abstract)
{
	(void)session, (void)username, (void)pubkeydata, (void)pubkeydata_len, (void)sign_callback, (void)abstract;
	return LIBSSH2_ERROR_AUTHENTICATION_FAILED;
}

int libssh2_userauth_keyboard_interactive_ex(LIBSSH2_SESSION *session, const char *username,
	unsigned int username_len, LIBSSH2_USERAUTH_KBDINT_RESPONSE_FUNC((*response_callback)))
{
	(void)session, (void)username, (void)username_len, (void)response_callback;
	return LIBSSH2_ERROR_AUTHENTICATION_FAILED;
}

/* ---- GSSAPI (RFC 2744 C bindings; Kerberos' headers are not a build dependency) ---- */

typedef uint32_t gss_uint32;
typedef struct { gss_uint32 length; void *elements; } nonet_gss_oid_desc;
typedef struct { size_t length; void *value; } nonet_gss_buffer_desc;
#define NONET_GSS_S_FAILURE (13u << 16) /* GSS_S_FAILURE: a routine error, GSS_ERROR() is true */

/* the name type libgit2 passes to gss_import_name: never dereferenced here */
static nonet_gss_oid_desc nonet_hostbased = { 0, NULL };
extern nonet_gss_oid_desc *GSS_C_NT_HOSTBASED_SERVICE;
nonet_gss_oid_desc *GSS_C_NT_HOSTBASED_SERVICE = &nonet_hostbased;

gss_uint32 gss_indicate_mechs(gss_uint32 *minor, void **mech_set);
gss_uint32 gss_import_name(gss_uint32 *minor, void *input_name, void *name_type, void **output_name);
gss_uint32 gss_init_sec_context(gss_uint32 *minor, void *cred, void **ctx, void *target, void *mech,
	gss_uint32 req_flags, gss_uint32 time_req, void *bindings, void *input, void **actual_mech, void *output,
	gss_uint32 *ret_flags, gss_uint32 *time_rec);
gss_uint32 gss_delete_sec_context(gss_uint32 *minor, void **ctx, void *output);
gss_uint32 gss_display_status(gss_uint32 *minor, gss_uint32 status, int status_type, void *mech,
	gss_uint32 *message_context, nonet_gss_buffer_desc *string);
gss_uint32 gss_release_buffer(gss_uint32 *minor, nonet_gss_buffer_desc *buffer);
gss_uint32 gss_release_name(gss_uint32 *minor, void **name);
gss_uint32 gss_release_oid_set(gss_uint32 *minor, void **set);

gss_uint32 gss_indicate_mechs(gss_uint32 *minor, void **mech_set)
{
	if (minor)
		*minor = 0;
	if (mech_set)
		*mech_set = NULL;
	return NONET_GSS_S_FAILURE;
}

gss_uint32 gss_import_name(gss_uint32 *minor, void *input_name, void *name_type, void **output_name)
{
	(void)input_name, (void)name_type;
	if (minor)
		*minor = 0;
	if (output_name)
		*output_name = NULL;
	return NONET_GSS_S_FAILURE;
}

gss_uint32 gss_init_sec_context(gss_uint32 *minor, void *cred, void **ctx, void *target, void *mech,
	gss_uint32 req_flags, gss_uint32 time_req, void *bindings, void *input, void **actual_mech, void *output,
	gss_uint32 *ret_flags, gss_uint32 *time_rec)
{
	(void)cred, (void)ctx, (void)target, (void)mech, (void)req_flags, (void)time_req, (void)bindings;
	(void)input, (void)output;
	if (minor)
		*minor = 0;
	if (actual_mech)
		*actual_mech = NULL;
	if (ret_flags)
		*ret_flags = 0;
	if (time_rec)
		*time_rec = 0;
	return NONET_GSS_S_FAILURE;
}

gss_uint32 gss_delete_sec_context(gss_uint32 *minor, void **ctx, void *output)
{
	(void)output;
	if (minor)
		*minor = 0;
	if (ctx)
		*ctx = NULL;
	return 0;
}

gss_uint32 gss_display_status(gss_uint32 *minor, gss_uint32 status, int status_type, void *mech,
	gss_uint32 *message_context, nonet_gss_buffer_desc *string)
{
	(void)status, (void)status_type, (void)mech;
	if (minor)
		*minor = 0;
	if (message_context)
		*message_context = 0;
	if (string)
		string->length = 0, string->value = NULL;
	return NONET_GSS_S_FAILURE;
}

gss_uint32 gss_release_buffer(gss_uint32 *minor, nonet_gss_buffer_desc *buffer)
{
	if (minor)
		*minor = 0;
	if (buffer)
		buffer->length = 0, buffer->value = NULL;
	return 0;
}

gss_uint32 gss_release_name(gss_uint32 *minor, void **name)
{
	if (minor)
		*minor = 0;
	if (name)
		*name = NULL;
	return 0;
}

gss_uint32 gss_release_oid_set(gss_uint32 *minor, void **set)
{
	if (minor)
		*minor = 0;
	if (set)
		*set = NULL;
	return 0;
}
