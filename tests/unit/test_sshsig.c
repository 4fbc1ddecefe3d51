/* Unit tests for the sshsig module: OpenSSH keys, SSHSIG, allowed_signers,
 * SSH-signed git commits and tags. Every vector in vectors/sshsig and
 * vectors/git-ssh-signed-commit gives the answer its README expects. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bpgate/sshagent.h"
#include "bpgate/sshkey.h"
#include "bpgate/sshsig.h"

#define T2023 ((time_t)1700000000) /* 2023-11-14, a "now" inside every vector's validity */

static void vec(bpg_buf *out, const char *rel)
{
	const char *dir = getenv("BPG_SHARED_DIR");
	char path[1024];
	bpg_error err;

	cr_assert(dir, "BPG_SHARED_DIR is not set");
	snprintf(path, sizeof(path), "%s/vectors/%s", dir, rel);
	bpg_buf_clear(out);
	cr_assert_eq(bpg_file_read(out, path, 1 << 20, &err), 0, "%s", err.message);
}

static bpg_allowed_signers *signers_from(const char *rel)
{
	bpg_buf b = BPG_BUF_INIT;
	bpg_allowed_signers *s = NULL;
	bpg_error err;

	vec(&b, rel);
	cr_assert_eq(bpg_allowed_signers_parse(&s, b.ptr, b.size, rel, &err), 0, "%s", err.message);
	bpg_buf_dispose(&b);
	return s;
}

static bpg_sshsig_reason verify_vec(const char *dir, const char *sigf, const char *msgf,
	const char *principal, const char *ns, time_t now)
{
	bpg_buf sig = BPG_BUF_INIT, msg = BPG_BUF_INIT;
	char p[256];
	bpg_sshsig_result res;
	bpg_error err;
	int rc;

	snprintf(p, sizeof(p), "%s/allowed_signers", dir);
	bpg_allowed_signers *s = signers_from(p);
	snprintf(p, sizeof(p), "%s/%s", dir, sigf);
	vec(&sig, p);
	snprintf(p, sizeof(p), "%s/%s", dir, msgf);
	vec(&msg, p);
	bpg_error_clear(&err);
	rc = bpg_sshsig_verify(&res, msg.ptr, msg.size, sig.ptr, sig.size, ns, principal, s, now, &err);
	cr_assert_eq(rc == 0, res.reason == BPG_SSHSIG_OK, "%s: rc %d reason %d", sigf, rc, res.reason);
	if (rc != 0)
		cr_assert_eq(rc, BPG_EVERIFY, "%s: %d %s", sigf, rc, err.message);
	bpg_allowed_signers_free(s);
	bpg_buf_dispose(&sig);
	bpg_buf_dispose(&msg);
	return res.reason;
}

/* --- vectors/sshsig: the README table, row by row ---------------------- */

Test(sshsig, vectors_accept)
{
	cr_assert_eq(verify_vec("sshsig", "message.txt.file-sha512.sig", "message.txt", "reviewer@example.com", "file", T2023), BPG_SSHSIG_OK);
	cr_assert_eq(verify_vec("sshsig", "message.txt.file-sha256.sig", "message.txt", "reviewer@example.com", "file", T2023), BPG_SSHSIG_OK);
	cr_assert_eq(verify_vec("sshsig", "message.txt.release-approval.sig", "message.txt", "reviewer@example.com",
		"release-approval@example.com", T2023), BPG_SSHSIG_OK);
}

Test(sshsig, vectors_reject_with_the_right_reason)
{
	cr_assert_eq(verify_vec("sshsig", "message.txt.release-approval.sig", "message.txt", "file-only@example.com",
		"release-approval@example.com", T2023), BPG_SSHSIG_NAMESPACE_NOT_ALLOWED);
	cr_assert_eq(verify_vec("sshsig", "message.txt.file-sha512.sig", "message.txt", "expired-reviewer@example.com", "file", T2023),
		BPG_SSHSIG_EXPIRED);
	cr_assert_eq(verify_vec("sshsig", "message.txt.file-sha512.sig", "message.txt", "reviewer@example.com",
		"release-approval@example.com", T2023), BPG_SSHSIG_WRONG_NAMESPACE);
	cr_assert_eq(verify_vec("sshsig", "message.txt.file-sha512.sig", "negative/flipped-byte-message.txt", "reviewer@example.com", "file", T2023),
		BPG_SSHSIG_BAD_SIGNATURE);
	cr_assert_eq(verify_vec("sshsig", "negative/namespace-git.sig", "message.txt", "reviewer@example.com", "file", T2023),
		BPG_SSHSIG_WRONG_NAMESPACE);
	cr_assert_eq(verify_vec("sshsig", "negative/wrong-key.file-sha512.sig", "message.txt", "reviewer@example.com", "file", T2023),
		BPG_SSHSIG_NOT_ALLOWED);
	cr_assert_eq(verify_vec("sshsig", "negative/wrong-key-pubkey-swapped.sig", "message.txt", "reviewer@example.com", "file", T2023),
		BPG_SSHSIG_BAD_SIGNATURE);
	cr_assert_eq(verify_vec("sshsig", "negative/truncated.sig", "message.txt", "reviewer@example.com", "file", T2023),
		BPG_SSHSIG_MALFORMED);
	cr_assert_eq(verify_vec("sshsig", "negative/hashalg-tampered.sig", "message.txt", "reviewer@example.com", "file", T2023),
		BPG_SSHSIG_BAD_SIGNATURE);
	cr_assert_eq(verify_vec("sshsig", "negative/version-2.sig", "message.txt", "reviewer@example.com", "file", T2023),
		BPG_SSHSIG_MALFORMED);
}

Test(sshsig, expired_key_was_valid_in_2019)
{
	/* 2019-06-01: inside valid-after="20190101Z",valid-before="20200101Z". */
	cr_assert_eq(verify_vec("sshsig", "message.txt.file-sha512.sig", "message.txt", "expired-reviewer@example.com", "file",
		(time_t)1559347200), BPG_SSHSIG_OK);
	cr_assert_eq(verify_vec("sshsig", "message.txt.file-sha512.sig", "message.txt", "expired-reviewer@example.com", "file",
		(time_t)1500000000), BPG_SSHSIG_NOT_YET_VALID);
}

Test(sshsig, error_messages_are_precise)
{
	bpg_buf sig = BPG_BUF_INIT, msg = BPG_BUF_INIT;
	bpg_allowed_signers *s = signers_from("sshsig/allowed_signers");
	bpg_sshsig_result res;
	bpg_error err;

	vec(&msg, "sshsig/message.txt");
	vec(&sig, "sshsig/message.txt.release-approval.sig");
	cr_assert_eq(bpg_sshsig_verify(&res, msg.ptr, msg.size, sig.ptr, sig.size, "release-approval@example.com",
		"file-only@example.com", s, T2023, &err), BPG_EVERIFY);
	cr_assert_str_eq(err.message, "sshsig/allowed_signers:4: the key may sign only namespaces \"file\", not "
		"'release-approval@example.com' (key SHA256:DpqtkAX2dTrJTU9iR6TCfWdZ2Y7yCXCzHOdSmPmhBuA, principal file-only@example.com)");
	cr_assert_eq(res.line, 4);
	vec(&sig, "sshsig/message.txt.file-sha512.sig");
	cr_assert_eq(bpg_sshsig_verify(&res, msg.ptr, msg.size, sig.ptr, sig.size, "file",
		"expired-reviewer@example.com", s, T2023, &err), BPG_EVERIFY);
	cr_assert_str_eq(err.message, "sshsig/allowed_signers:5: the key is expired (valid-after/valid-before of this line) "
		"(key SHA256:DpqtkAX2dTrJTU9iR6TCfWdZ2Y7yCXCzHOdSmPmhBuA, principal expired-reviewer@example.com)");
	cr_assert_eq(bpg_sshsig_verify(&res, msg.ptr, msg.size, sig.ptr, sig.size, "file",
		"nobody@example.com", s, T2023, &err), BPG_EVERIFY);
	cr_assert_eq(res.reason, BPG_SSHSIG_NOT_ALLOWED);
	cr_assert_str_eq(err.message, "key SHA256:DpqtkAX2dTrJTU9iR6TCfWdZ2Y7yCXCzHOdSmPmhBuA is not listed for principal "
		"nobody@example.com in sshsig/allowed_signers");
	vec(&sig, "sshsig/negative/version-2.sig");
	cr_assert_eq(bpg_sshsig_verify(&res, msg.ptr, msg.size, sig.ptr, sig.size, "file",
		"reviewer@example.com", s, T2023, &err), BPG_EVERIFY);
	cr_assert_str_eq(err.message, "signature: unsupported SSHSIG version 2 (only 1 is defined)");
	bpg_allowed_signers_free(s);
	bpg_buf_dispose(&sig);
	bpg_buf_dispose(&msg);
}

Test(sshsig, verify_without_principal_finds_it)
{
	bpg_buf sig = BPG_BUF_INIT, msg = BPG_BUF_INIT;
	bpg_allowed_signers *s = signers_from("sshsig/allowed_signers");
	bpg_sshsig_result res;
	bpg_error err;

	vec(&msg, "sshsig/message.txt");
	vec(&sig, "sshsig/message.txt.file-sha512.sig");
	cr_assert_eq(bpg_sshsig_verify(&res, msg.ptr, msg.size, sig.ptr, sig.size, "file", NULL, s, T2023, &err), 0,
		"%s", err.message);
	cr_assert_str_eq(res.principal, "reviewer@example.com");
	cr_assert_str_eq(res.fingerprint, "SHA256:DpqtkAX2dTrJTU9iR6TCfWdZ2Y7yCXCzHOdSmPmhBuA");
	cr_assert_eq(res.line, 3);
	bpg_allowed_signers_free(s);
	bpg_buf_dispose(&sig);
	bpg_buf_dispose(&msg);
}

Test(sshsig, parse_exposes_fields)
{
	bpg_buf b = BPG_BUF_INIT;
	bpg_sshsig *sig = NULL;
	bpg_error err;
	char fp[BPG_SSH_FINGERPRINT_SIZE];

	vec(&b, "sshsig/message.txt.file-sha256.sig");
	cr_assert_eq(bpg_sshsig_parse(&sig, b.ptr, b.size, &err), 0, "%s", err.message);
	cr_assert_str_eq(bpg_sshsig_namespace(sig), "file");
	cr_assert_eq(bpg_sshsig_hashalg(sig), BPG_SSHSIG_SHA256);
	cr_assert_not(bpg_sshsig_is_cert(sig));
	bpg_ssh_pubkey_fingerprint(fp, bpg_sshsig_pubkey(sig));
	cr_assert_str_eq(fp, "SHA256:DpqtkAX2dTrJTU9iR6TCfWdZ2Y7yCXCzHOdSmPmhBuA");
	bpg_sshsig_free(sig);
	/* footer without final LF (as libgit2 hands signatures over) */
	b.size--;
	cr_assert_eq(b.ptr[b.size], '\n');
	cr_assert_eq(bpg_sshsig_parse(&sig, b.ptr, b.size, &err), 0, "%s", err.message);
	bpg_sshsig_free(sig);
	/* trailing data inside the blob, garbage base64, no footer */
	cr_assert_eq(bpg_sshsig_parse(&sig, "-----BEGIN SSH SIGNATURE-----\nU1NI*\n-----END SSH SIGNATURE-----\n", 65, &err),
		BPG_EINVALID);
	cr_assert_null(sig);
	cr_assert_eq(bpg_sshsig_parse(&sig, "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n", 39, &err), BPG_EINVALID);
	bpg_buf_dispose(&b);
}

/* --- vectors/sshsig/cert: certificates signed by a cert-authority ------ */

Test(sshsig, certificate_vectors)
{
	time_t t2025, t2036;
	bpg_error err;

	cr_assert_eq(bpg_ssh_parse_time(&t2025, "20250101Z", 9, &err), 0);
	cr_assert_eq(bpg_ssh_parse_time(&t2036, "20360101Z", 9, &err), 0);
	cr_assert_eq(t2025, 1735689600);
	cr_assert_eq(verify_vec("sshsig/cert", "message.txt.cert-file-sha512.sig", "message.txt", "reviewer2@example.com", "file", t2025),
		BPG_SSHSIG_OK);
	cr_assert_eq(verify_vec("sshsig/cert", "message.txt.cert-file-sha512.sig", "message.txt", "reviewer@example.com", "file", t2025),
		BPG_SSHSIG_BAD_CERTIFICATE);
	cr_assert_eq(verify_vec("sshsig/cert", "message.txt.cert-file-sha512.sig", "message.txt", "reviewer2@example.com", "file", t2036),
		BPG_SSHSIG_EXPIRED);
	cr_assert_eq(verify_vec("sshsig/cert", "message.txt.cert-file-sha512.sig", "message.txt", "reviewer2@example.com", "git", t2025),
		BPG_SSHSIG_WRONG_NAMESPACE);
}

Test(sshsig, certificate_is_not_a_plain_key)
{
	/* The certified key listed as a plain key does not accept a certificate
	 * signature, and the CA key never signs as a plain key. */
	bpg_buf sig = BPG_BUF_INIT, msg = BPG_BUF_INIT;
	bpg_allowed_signers *s = NULL;
	bpg_sshsig_result res;
	bpg_error err;
	const char *as = "reviewer2@example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN6ru0sxU0XAwR1MhmLEjWTPKfWCNXgLdfVyWSlZdgb0\n";

	cr_assert_eq(bpg_allowed_signers_parse(&s, as, strlen(as), "x", &err), 0, "%s", err.message);
	vec(&msg, "sshsig/cert/message.txt");
	vec(&sig, "sshsig/cert/message.txt.cert-file-sha512.sig");
	cr_assert_eq(bpg_sshsig_verify(&res, msg.ptr, msg.size, sig.ptr, sig.size, "file", "reviewer2@example.com", s,
		1735689600, &err), BPG_EVERIFY);
	cr_assert_eq(res.reason, BPG_SSHSIG_NOT_ALLOWED);
	bpg_allowed_signers_free(s);
	bpg_buf_dispose(&sig);
	bpg_buf_dispose(&msg);
}

/* --- keys and signing -------------------------------------------------- */

Test(sshsig, pubkey_line_and_fingerprint)
{
	bpg_buf b = BPG_BUF_INIT, c = BPG_BUF_INIT, f = BPG_BUF_INIT;
	bpg_ssh_pubkey k;
	char fp[BPG_SSH_FINGERPRINT_SIZE];
	bpg_error err;

	vec(&b, "sshsig/test-only-ed25519.pub");
	cr_assert_eq(bpg_ssh_pubkey_parse(&k, &c, b.ptr, b.size, &err), 0, "%s", err.message);
	cr_assert_str_eq(c.ptr, "TEST-ONLY reviewer key (reviewer@example.com)");
	bpg_ssh_pubkey_fingerprint(fp, &k);
	cr_assert_str_eq(fp, "SHA256:DpqtkAX2dTrJTU9iR6TCfWdZ2Y7yCXCzHOdSmPmhBuA");
	cr_assert_eq(bpg_ssh_pubkey_format(&f, &k, c.ptr), 0);
	cr_assert_eq(bpg_buf_puts(&f, "\n"), 0);
	cr_assert_str_eq(f.ptr, b.ptr);
	cr_assert_eq(bpg_ssh_pubkey_parse(&k, NULL, "ssh-rsa AAAAB3NzaC1yc2E= x", 25, &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "expected an 'ssh-ed25519 AAAA...' public key, found 'ssh-rsa' (bpgate handles ssh-ed25519 keys only)");
	cr_assert_eq(bpg_ssh_pubkey_parse(&k, NULL, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICqxQI1Mf9C/CrMkG1TvkcTfAJzVGUeQEq7/lwN5R3d", 79, &err),
		BPG_EINVALID);
	bpg_buf_dispose(&b);
	bpg_buf_dispose(&c);
	bpg_buf_dispose(&f);
}

static void sign_matches(const char *ns, bpg_sshsig_hash h, const char *expect)
{
	bpg_buf key = BPG_BUF_INIT, msg = BPG_BUF_INIT, want = BPG_BUF_INIT, got = BPG_BUF_INIT;
	bpg_ssh_seckey *sk = NULL;
	bpg_error err;

	vec(&key, "sshsig/test-only-ed25519");
	vec(&msg, "sshsig/message.txt");
	vec(&want, expect);
	cr_assert_eq(bpg_ssh_seckey_parse(&sk, key.ptr, key.size, "test-only-ed25519", &err), 0, "%s", err.message);
	cr_assert_str_eq(bpg_ssh_seckey_comment(sk), "TEST-ONLY reviewer key (reviewer@example.com)");
	cr_assert_eq(bpg_sshsig_sign(&got, sk, msg.ptr, msg.size, ns, h, &err), 0, "%s", err.message);
	cr_assert_eq(got.size, want.size);
	cr_assert_str_eq(got.ptr, want.ptr); /* byte-identical to ssh-keygen -Y sign */
	bpg_ssh_seckey_free(sk);
	bpg_buf_dispose(&key);
	bpg_buf_dispose(&msg);
	bpg_buf_dispose(&want);
	bpg_buf_dispose(&got);
}

Test(sshsig, signing_reproduces_ssh_keygen)
{
	sign_matches("file", BPG_SSHSIG_SHA512, "sshsig/message.txt.file-sha512.sig");
	sign_matches("file", BPG_SSHSIG_SHA256, "sshsig/message.txt.file-sha256.sig");
	sign_matches("release-approval@example.com", BPG_SSHSIG_SHA512, "sshsig/message.txt.release-approval.sig");
}

Test(sshsig, seckey_roundtrip_and_corruption)
{
	unsigned char seed[32], raw[64];
	bpg_ssh_seckey *k = NULL, *k2 = NULL;
	bpg_buf f = BPG_BUF_INIT;
	bpg_error err;

	for (int i = 0; i < 32; i++)
		seed[i] = (unsigned char)i;
	cr_assert_eq(bpg_ssh_seckey_from_seed(&k, seed, "test-only@example.com", &err), 0);
	cr_assert_eq(bpg_ssh_seckey_format(&f, k, 0x01020304, &err), 0);
	cr_assert(strncmp(f.ptr, "-----BEGIN OPENSSH PRIVATE KEY-----\n", 36) == 0);
	cr_assert_not(bpg_ssh_seckey_is_encrypted(f.ptr, f.size));
	cr_assert_eq(bpg_ssh_seckey_parse(&k2, f.ptr, f.size, "k", &err), 0, "%s", err.message);
	cr_assert(bpg_ssh_pubkey_equal(bpg_ssh_seckey_pubkey(k), bpg_ssh_seckey_pubkey(k2)));
	cr_assert_str_eq(bpg_ssh_seckey_comment(k2), "test-only@example.com");
	cr_assert_eq(bpg_ssh_seckey_sign_raw(raw, k2, "abc", 3, &err), 0);
	cr_assert_eq(crypto_sign_verify_detached(raw, (const unsigned char *)"abc", 3, bpg_ssh_seckey_pubkey(k)->pk), 0);
	bpg_ssh_seckey_free(k2);
	k2 = NULL;
	/* flip a base64 character inside the private section */
	f.ptr[200] = f.ptr[200] == 'A' ? 'B' : 'A';
	cr_assert_lt(bpg_ssh_seckey_parse(&k2, f.ptr, f.size, "k", &err), 0);
	cr_assert_null(k2);
	sodium_memzero(f.ptr, f.size);
	bpg_buf_dispose(&f);
	bpg_ssh_seckey_free(k);
	bpg_ssh_seckey_free(NULL);
}

Test(sshsig, load_refuses_open_permissions)
{
	bpg_buf key = BPG_BUF_INIT;
	bpg_ssh_seckey *k = NULL;
	char path[] = "/tmp/bpg-sshkey-XXXXXX";
	bpg_error err;
	int fd;

	vec(&key, "sshsig/test-only-ed25519");
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, key.ptr, key.size), (ssize_t)key.size);
	close(fd);
	chmod(path, 0600);
	cr_assert_eq(bpg_ssh_seckey_load(&k, path, &err), 0, "%s", err.message);
	bpg_ssh_seckey_free(k);
	chmod(path, 0644);
	cr_assert_eq(bpg_ssh_seckey_load(&k, path, &err), BPG_EINVALID);
	cr_assert_null(k);
	cr_assert(strstr(err.message, "permissions 0644 are too open"), "%s", err.message);
	unlink(path);
	bpg_buf_dispose(&key);
}

/* --- allowed_signers --------------------------------------------------- */

Test(sshsig, pattern_lists_as_ssh)
{
#define M(p, n) bpg_ssh_pattern_list_match(p, strlen(p), n, strlen(n))
	cr_assert(M("*@example.com", "alice@example.com"));
	cr_assert_not(M("*@example.com", "alice@example.org"));
	cr_assert(M("a?ice@x,bob@x", "bob@x"));
	cr_assert_not(M("*@example.com,!mallory@example.com", "mallory@example.com"));
	cr_assert_not(M("!mallory@example.com,*@example.com", "mallory@example.com"));
	cr_assert(M("!mallory@example.com,*@example.com", "alice@example.com"));
	cr_assert_not(M("!mallory@example.com", "alice@example.com")); /* negation alone never matches */
	cr_assert_not(M("Alice@x", "alice@x"));                       /* case-sensitive */
	cr_assert(M("file,release-*", "release-approval@example.com"));
	cr_assert_not(M("", "x"));
	/* no exponential blow-up */
	char pat[200], name[400];
	memset(pat, 0, sizeof(pat));
	for (int i = 0; i < 98; i++)
		pat[i] = i % 2 ? 'a' : '*';
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	name[sizeof(name) - 2] = 'b';
	cr_assert_not(M(pat, name));
#undef M
}

Test(sshsig, allowed_signers_errors_name_file_and_line)
{
	static const struct { const char *text, *msg; } cases[] = {
		{ "# c\n\nalice@x badopt=\"1\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICqxQI1Mf9C/CrMkG1TvkcTfAJzVGUeQEq7/lwN5R3d6\n",
		  "f:3: unknown option 'badopt' (known: cert-authority, namespaces=\"...\", valid-after=\"...\", valid-before=\"...\")" },
		{ "alice@x namespaces=file ssh-ed25519 AAAA\n", "f:1: option 'namespaces' needs a double-quoted value" },
		{ "alice@x namespaces=\"file ssh-ed25519 AAAA\n", "f:1: unterminated quoted value of option 'namespaces'" },
		{ "alice@x valid-before=\"2020\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICqxQI1Mf9C/CrMkG1TvkcTfAJzVGUeQEq7/lwN5R3d6\n",
		  "f:1: invalid time '2020': expected YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS, optionally followed by Z for UTC" },
		{ "alice@x\n", "f:1: missing key after the principals" },
		{ "alice@x ssh-ed25519 !!!\n", "f:1: the ssh-ed25519 key is not valid base64" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bpg_allowed_signers *s = NULL;
		bpg_error err;
		cr_assert_lt(bpg_allowed_signers_parse(&s, cases[i].text, strlen(cases[i].text), "f", &err), 0, "case %zu", i);
		cr_assert_null(s);
		cr_assert_str_eq(err.message, cases[i].msg, "case %zu", i);
	}
}

Test(sshsig, allowed_signers_other_key_types_never_match)
{
	const char *text = "bob@x ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== bob\n"
		"alice@x,alice@y cert-authority,namespaces=\"git, file\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICqxQI1Mf9C/CrMkG1TvkcTfAJzVGUeQEq7/lwN5R3d6\n";
	bpg_allowed_signers *s = NULL;
	bpg_error err;

	cr_assert_eq(bpg_allowed_signers_parse(&s, text, strlen(text), "f", &err), 0, "%s", err.message);
	cr_assert_eq(bpg_allowed_signers_count(s), 2);
	bpg_allowed_signers_free(s);
}

Test(sshsig, find_principals_by_key)
{
	bpg_allowed_signers *s = signers_from("sshsig/allowed_signers");
	bpg_buf b = BPG_BUF_INIT, out = BPG_BUF_INIT;
	bpg_ssh_pubkey k;
	bpg_error err;

	vec(&b, "sshsig/test-only-ed25519.pub");
	cr_assert_eq(bpg_ssh_pubkey_parse(&k, NULL, b.ptr, b.size, &err), 0);
	cr_assert_eq(bpg_allowed_signers_find_principals(&out, s, &k, NULL, T2023, &err), 2);
	cr_assert_str_eq(out.ptr, "reviewer@example.com\nfile-only@example.com\n");
	bpg_buf_clear(&out);
	cr_assert_eq(bpg_allowed_signers_find_principals(&out, s, &k, "release-approval@example.com", T2023, &err), 1);
	cr_assert_str_eq(out.ptr, "reviewer@example.com\n");
	bpg_buf_clear(&out);
	cr_assert_eq(bpg_allowed_signers_find_principals(&out, s, &k, "file", (time_t)1559347200, &err), 3);
	vec(&b, "sshsig/test-only-ed25519-other.pub");
	cr_assert_eq(bpg_ssh_pubkey_parse(&k, NULL, b.ptr, b.size, &err), 0);
	cr_assert_eq(bpg_allowed_signers_find_principals(&out, s, &k, NULL, T2023, &err), 0);
	bpg_allowed_signers_free(s);
	bpg_buf_dispose(&b);
	bpg_buf_dispose(&out);
}

Test(sshsig, times_local_and_utc)
{
	time_t t;
	bpg_error err;

	cr_assert_eq(bpg_ssh_parse_time(&t, "20240102030405Z", 15, &err), 0);
	cr_assert_eq(t, 1704164645);
	cr_assert_eq(bpg_ssh_parse_time(&t, "202401020304Z", 13, &err), 0);
	cr_assert_eq(t, 1704164640);
	setenv("TZ", "UTC", 1);
	tzset();
	cr_assert_eq(bpg_ssh_parse_time(&t, "20240102030405", 14, &err), 0);
	cr_assert_eq(t, 1704164645);
	cr_assert_eq(bpg_ssh_parse_time(&t, "20241302", 8, &err), BPG_EINVALID);
	cr_assert_eq(bpg_ssh_parse_time(&t, "2024010", 7, &err), BPG_EINVALID);
}

/* --- git commits and tags --------------------------------------------- */

static bpg_sshsig_reason verify_git(const char *rel, bpg_gitsig_kind kind, int expect_rc)
{
	bpg_allowed_signers *s = signers_from("git-ssh-signed-commit/allowed_signers");
	bpg_buf raw = BPG_BUF_INIT;
	bpg_sshsig_result res;
	bpg_error err;
	char p[256];

	snprintf(p, sizeof(p), "git-ssh-signed-commit/%s", rel);
	vec(&raw, p);
	cr_assert_eq(bpg_gitsig_verify(&res, kind, raw.ptr, raw.size, s, (time_t)1704164645, &err), expect_rc,
		"%s: %s", rel, err.message);
	if (expect_rc == 0) {
		cr_assert_str_eq(res.principal, "release-signer@example.com");
		cr_assert_eq(res.fingerprint[0], 'S');
	}
	bpg_allowed_signers_free(s);
	bpg_buf_dispose(&raw);
	return res.reason;
}

Test(sshsig, git_vectors)
{
	cr_assert_eq(verify_git("commit.raw", BPG_GITSIG_COMMIT, 0), BPG_SSHSIG_OK);
	cr_assert_eq(verify_git("tag.raw", BPG_GITSIG_TAG, 0), BPG_SSHSIG_OK);
	cr_assert_eq(verify_git("negative/tampered-message.commit.raw", BPG_GITSIG_COMMIT, BPG_EVERIFY), BPG_SSHSIG_BAD_SIGNATURE);
	cr_assert_eq(verify_git("negative/wrong-namespace.commit.raw", BPG_GITSIG_COMMIT, BPG_EVERIFY), BPG_SSHSIG_WRONG_NAMESPACE);
	cr_assert_eq(verify_git("negative/untrusted-key.commit.raw", BPG_GITSIG_COMMIT, BPG_EVERIFY), BPG_SSHSIG_NOT_ALLOWED);
	cr_assert_eq(verify_git("negative/truncated-signature.commit.raw", BPG_GITSIG_COMMIT, BPG_EVERIFY), BPG_SSHSIG_MALFORMED);
	/* a commit is not a tag and vice versa */
	cr_assert_eq(verify_git("commit.raw", BPG_GITSIG_TAG, BPG_EINVALID), BPG_SSHSIG_MALFORMED);
	cr_assert_eq(verify_git("tag.raw", BPG_GITSIG_COMMIT, BPG_EINVALID), BPG_SSHSIG_MALFORMED);
}

Test(sshsig, git_extract_is_byte_exact)
{
	bpg_buf raw = BPG_BUF_INIT, want = BPG_BUF_INIT, payload = BPG_BUF_INIT, sig = BPG_BUF_INIT;
	int64_t when;
	bpg_error err;

	vec(&raw, "git-ssh-signed-commit/commit.raw");
	cr_assert_eq(bpg_gitsig_extract(&payload, &sig, &when, BPG_GITSIG_COMMIT, raw.ptr, raw.size, &err), 0, "%s", err.message);
	cr_assert_eq(when, 1704164645);
	vec(&want, "git-ssh-signed-commit/commit.payload");
	cr_assert_eq(payload.size, want.size);
	cr_assert_eq(memcmp(payload.ptr, want.ptr, want.size), 0);
	vec(&want, "git-ssh-signed-commit/commit.sig");
	cr_assert_str_eq(sig.ptr, want.ptr);
	bpg_buf_clear(&payload);
	bpg_buf_clear(&sig);
	vec(&raw, "git-ssh-signed-commit/tag.raw");
	cr_assert_eq(bpg_gitsig_extract(&payload, &sig, &when, BPG_GITSIG_TAG, raw.ptr, raw.size, &err), 0, "%s", err.message);
	cr_assert_eq(when, 1704164645);
	vec(&want, "git-ssh-signed-commit/tag.payload");
	cr_assert_str_eq(payload.ptr, want.ptr);
	vec(&want, "git-ssh-signed-commit/tag.sig");
	cr_assert_str_eq(sig.ptr, want.ptr);
	bpg_buf_dispose(&raw);
	bpg_buf_dispose(&want);
	bpg_buf_dispose(&payload);
	bpg_buf_dispose(&sig);
}

Test(sshsig, git_signature_moved_into_body_is_unsigned)
{
	/* The README's extra must-reject case: the valid signature block moved
	 * from the gpgsig header to the end of the message. */
	bpg_allowed_signers *s = signers_from("git-ssh-signed-commit/allowed_signers");
	bpg_buf raw = BPG_BUF_INIT, payload = BPG_BUF_INIT, sig = BPG_BUF_INIT, moved = BPG_BUF_INIT;
	bpg_sshsig_result res;
	bpg_error err;

	vec(&raw, "git-ssh-signed-commit/commit.raw");
	cr_assert_eq(bpg_gitsig_extract(&payload, &sig, NULL, BPG_GITSIG_COMMIT, raw.ptr, raw.size, &err), 0);
	cr_assert_eq(bpg_buf_put(&moved, payload.ptr, payload.size), 0);
	cr_assert_eq(bpg_buf_printf(&moved, "gpgsig %s", sig.ptr), 0); /* also a 'gpgsig ' line in the body */
	cr_assert_eq(bpg_gitsig_verify(&res, BPG_GITSIG_COMMIT, moved.ptr, moved.size, s, (time_t)1704164645, &err),
		BPG_ENOTFOUND);
	cr_assert_str_eq(err.message, "the commit is unsigned: it has no gpgsig header (the signature block in its "
		"message body does not sign it)");
	/* two gpgsig headers: ambiguous, refused */
	bpg_buf_clear(&moved);
	const char *hdr_end = strstr(raw.ptr, "gpgsig ");
	cr_assert_eq(bpg_buf_put(&moved, raw.ptr, (size_t)(hdr_end - raw.ptr)), 0);
	cr_assert_eq(bpg_buf_put(&moved, hdr_end, raw.size - (size_t)(hdr_end - raw.ptr)), 0);
	const char *again = strstr(moved.ptr, "\n\n");
	bpg_buf two = BPG_BUF_INIT;
	cr_assert_eq(bpg_buf_put(&two, moved.ptr, (size_t)(again - moved.ptr) + 1), 0);
	cr_assert_eq(bpg_buf_puts(&two, "gpgsig x\n"), 0);
	cr_assert_eq(bpg_buf_puts(&two, again + 1), 0);
	cr_assert_eq(bpg_gitsig_verify(&res, BPG_GITSIG_COMMIT, two.ptr, two.size, s, (time_t)1704164645, &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "the commit has more than one gpgsig header; refusing an ambiguous signature");
	bpg_allowed_signers_free(s);
	bpg_buf_dispose(&raw);
	bpg_buf_dispose(&payload);
	bpg_buf_dispose(&sig);
	bpg_buf_dispose(&moved);
	bpg_buf_dispose(&two);
}

/* ---- ssh-agent client against a fake agent that says what the test wants --- */

typedef struct {
	int lfd;
	const unsigned char *reply; /* sent as is (length prefix included) */
	size_t len;
	unsigned char request[512]; /* the first bytes of the request it got */
	size_t request_len;
} fake_agent;

static void *fake_agent_serve(void *arg)
{
	fake_agent *f = arg;
	unsigned char hdr[4];
	int c = accept(f->lfd, NULL, NULL);

	if (c < 0)
		return NULL;
	if (read(c, hdr, 4) == 4) {
		size_t n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3], got = 0;
		unsigned char sink[512];
		while (got < n) {
			ssize_t r = read(c, sink, n - got < sizeof(sink) ? n - got : sizeof(sink));
			if (r <= 0)
				break;
			if (got < sizeof(f->request))
				memcpy(f->request + got, sink, (size_t)r < sizeof(f->request) - got ? (size_t)r : sizeof(f->request) - got);
			got += (size_t)r;
		}
		f->request_len = got;
		if (f->len && write(c, f->reply, f->len) < 0)
			f->len = 0;
	}
	close(c);
	return NULL;
}

/* Run one exchange: the agent answers `reply`; returns what sign (or has) gave. */
static int agent_exchange(const unsigned char *reply, size_t len, bool list, const bpg_ssh_pubkey *key,
	const char *msg, unsigned char sig[64], bool *has, bpg_error *err)
{
	char dir[] = "/tmp/bpg-agent-XXXXXX", path[64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	fake_agent f = { -1, reply, len, { 0 }, 0 };
	bpg_ssh_agent *a = NULL;
	pthread_t t;
	int rc;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cr_assert((f.lfd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	cr_assert_eq(bind(f.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(f.lfd, 1), 0);
	cr_assert_eq(pthread_create(&t, NULL, fake_agent_serve, &f), 0);
	rc = bpg_ssh_agent_open(&a, path, err);
	cr_assert_eq(rc, 0, "%s", err->message);
	rc = list ? bpg_ssh_agent_has(has, a, key, err) : bpg_ssh_agent_sign_raw(sig, a, key, msg, strlen(msg), err);
	bpg_ssh_agent_free(a);
	pthread_join(t, NULL);
	close(f.lfd);
	unlink(path);
	rmdir(dir);
	if (!list) { /* the request: type 13, the key blob, the message, flags 0 */
		cr_assert_eq(f.request[0], 13);
		cr_assert_eq(f.request_len, 1 + 4 + BPG_SSH_PUBKEY_BLOB_SIZE + 4 + strlen(msg) + 4);
	}
	return rc;
}

static size_t put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	return 4;
}

/* A sign response (type 14) carrying an ssh-ed25519 signature blob. */
static size_t sign_response(unsigned char *out, const unsigned char raw[64])
{
	size_t n = 4;
	out[n++] = 14;
	n += put32(out + n, 4 + 11 + 4 + 64);
	n += put32(out + n, 11);
	memcpy(out + n, "ssh-ed25519", 11);
	n += 11;
	n += put32(out + n, 64);
	memcpy(out + n, raw, 64);
	n += 64;
	put32(out, (uint32_t)(n - 4));
	return n;
}

Test(sshsig, agent_client_checks_every_reply)
{
	unsigned char pk[32], sk[64], seed[32], raw[64], sig[64], buf[512];
	const char *msg = "minisign: BLAKE2b-512 of the file goes here";
	bpg_ssh_pubkey key;
	bpg_error err;
	bool has = false;
	size_t n;

	cr_assert(sodium_init() >= 0);
	memset(seed, 7, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	memcpy(key.pk, pk, 32);
	crypto_sign_detached(raw, NULL, (const unsigned char *)msg, strlen(msg), sk);

	/* a good signature comes back as is */
	n = sign_response(buf, raw);
	cr_assert_eq(agent_exchange(buf, n, false, &key, msg, sig, NULL, &err), 0, "%s", err.message);
	cr_assert_eq(memcmp(sig, raw, 64), 0);
	/* one that does not verify is refused */
	raw[5] ^= 1;
	n = sign_response(buf, raw);
	cr_assert_eq(agent_exchange(buf, n, false, &key, msg, sig, NULL, &err), BPG_EVERIFY);
	cr_assert(strstr(err.message, "does not verify"), "%s", err.message);
	/* the agent says no */
	const unsigned char failure[] = { 0, 0, 0, 1, 5 };
	cr_assert_eq(agent_exchange(failure, sizeof(failure), false, &key, msg, sig, NULL, &err), BPG_EVERIFY);
	cr_assert(strstr(err.message, "refused to sign"), "%s", err.message);
	const unsigned char failure2[] = { 0, 0, 0, 1, 30 }; /* an older agent's refusal */
	cr_assert_eq(agent_exchange(failure2, sizeof(failure2), false, &key, msg, sig, NULL, &err), BPG_EVERIFY);
	/* lengths that lie: zero, over 256 KiB, longer than what is sent */
	const unsigned char zero[] = { 0, 0, 0, 0 }, huge[] = { 0, 0x10, 0, 0, 14 }, cut[] = { 0, 0, 0, 100, 14, 0 };
	cr_assert_eq(agent_exchange(zero, sizeof(zero), false, &key, msg, sig, NULL, &err), BPG_EINVALID);
	cr_assert_eq(agent_exchange(huge, sizeof(huge), false, &key, msg, sig, NULL, &err), BPG_EINVALID);
	cr_assert(strstr(err.message, "1048576 bytes"), "%s", err.message);
	cr_assert_eq(agent_exchange(cut, sizeof(cut), false, &key, msg, sig, NULL, &err), BPG_EIO);
	cr_assert_eq(agent_exchange(NULL, 0, false, &key, msg, sig, NULL, &err), BPG_EIO, "no reply at all");
	/* a signature of another type, a trailing byte */
	n = sign_response(buf, raw);
	memcpy(buf + 13, "ssh-ed25518", 11);
	cr_assert_eq(agent_exchange(buf, n, false, &key, msg, sig, NULL, &err), BPG_EINVALID);
	n = sign_response(buf, raw);
	buf[n++] = 0;
	put32(buf, (uint32_t)(n - 4));
	cr_assert_eq(agent_exchange(buf, n, false, &key, msg, sig, NULL, &err), BPG_EINVALID);

	/* the list of keys: ours among others, then a truncated list */
	unsigned char blob[BPG_SSH_PUBKEY_BLOB_SIZE], other[32];
	bpg_ssh_pubkey okey;
	memset(other, 9, sizeof(other));
	memcpy(okey.pk, other, 32);
	n = 4;
	buf[n++] = 12;
	n += put32(buf + n, 2);
	bpg_ssh_pubkey_blob(blob, &okey);
	n += put32(buf + n, sizeof(blob));
	memcpy(buf + n, blob, sizeof(blob));
	n += sizeof(blob);
	n += put32(buf + n, 3);
	memcpy(buf + n, "one", 3);
	n += 3;
	bpg_ssh_pubkey_blob(blob, &key);
	n += put32(buf + n, sizeof(blob));
	memcpy(buf + n, blob, sizeof(blob));
	n += sizeof(blob);
	n += put32(buf + n, 0);
	put32(buf, (uint32_t)(n - 4));
	cr_assert_eq(agent_exchange(buf, n, true, &key, NULL, NULL, &has, &err), 0, "%s", err.message);
	cr_assert(has);
	cr_assert_eq(agent_exchange(buf, n, true, &okey, NULL, NULL, &has, &err), 0, "%s", err.message);
	cr_assert(has);
	memset(other, 1, sizeof(other));
	memcpy(okey.pk, other, 32);
	cr_assert_eq(agent_exchange(buf, n, true, &okey, NULL, NULL, &has, &err), 0, "%s", err.message);
	cr_assert_not(has);
	put32(buf + 5, 3); /* claims three keys, holds two */
	cr_assert_eq(agent_exchange(buf, n, true, &key, NULL, NULL, &has, &err), BPG_EINVALID);
	cr_assert(strstr(err.message, "truncated"), "%s", err.message);
}

Test(sshsig, agent_open_says_what_to_do)
{
	bpg_ssh_agent *a = NULL;
	bpg_error err;

	unsetenv("SSH_AUTH_SOCK");
	cr_assert_eq(bpg_ssh_agent_open(&a, NULL, &err), BPG_ENOTFOUND);
	cr_assert(strstr(err.message, "ssh-add"), "%s", err.message);
	cr_assert_null(a);
	cr_assert_eq(bpg_ssh_agent_open(&a, "/nonexistent/agent.sock", &err), BPG_ENOTFOUND);
	cr_assert(strstr(err.message, "/nonexistent/agent.sock"), "%s", err.message);
	bpg_ssh_agent_free(NULL);
}
