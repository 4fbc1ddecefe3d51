/* Unit tests for the sign module: minisign keys and signatures against the
 * shared vectors, secret key hygiene, bundle manifests and the bundle check. */
#include <criterion/criterion.h>
#include <git2.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpgate/bundle.h"
#include "bpgate/sign.h"
#include "bpgate/util.h"

static char *vec_path(const char *rel)
{
	const char *shared = getenv("BPG_SHARED_DIR");
	bpg_buf b = BPG_BUF_INIT;

	cr_assert(shared, "BPG_SHARED_DIR must be set (meson sets it)");
	cr_assert_eq(bpg_buf_printf(&b, "%s/vectors/%s", shared, rel), 0);
	return bpg_buf_detach(&b);
}

static void slurp(bpg_buf *out, const char *rel)
{
	char *p = vec_path(rel);
	bpg_error err = { 0, "" };

	cr_assert_eq(bpg_file_read(out, p, 1 << 20, &err), 0, "%s", err.message);
	free(p);
}

static bpg_minisign_pubkey pubkey(const char *rel)
{
	bpg_minisign_pubkey pk;
	bpg_error err = { 0, "" };
	char *p = vec_path(rel);

	cr_assert_eq(bpg_minisign_pubkey_load(&pk, p, &err), 0, "%s", err.message);
	free(p);
	return pk;
}

/* Verify as `bpgate verify`: parse the signature file, then check it. */
static int verify(const char *pub, const char *msg, const char *sig, unsigned flags, bpg_error *err)
{
	bpg_minisign_pubkey pk = pubkey(pub);
	bpg_buf m = BPG_BUF_INIT, s = BPG_BUF_INIT;
	bpg_minisign_sig *parsed = NULL;
	int rc;

	slurp(&m, msg);
	slurp(&s, sig);
	rc = bpg_minisign_sig_parse(&parsed, s.ptr, s.size, sig, err);
	if (rc == 0)
		rc = bpg_minisign_sig_verify(parsed, &pk, m.ptr, m.size, flags, err);
	bpg_minisign_sig_free(parsed);
	bpg_buf_dispose(&m);
	bpg_buf_dispose(&s);
	return rc;
}

#define PUB "minisign/test-only-minisign-ed25519.pub"
#define PUB_ENC "minisign/test-only-minisign-ed25519-encrypted.pub"
#define MSG "minisign/message.txt"

Test(minisign, vectors_accept)
{
	bpg_error err = { 0, "" };

	cr_assert_eq(verify(PUB, MSG, "minisign/message.txt.minisig", 0, &err), 0, "%s", err.message);
	cr_assert_eq(verify(PUB, MSG, "minisign/message.txt.default-comments.minisig", 0, &err), 0, "%s", err.message);
	cr_assert_eq(verify(PUB, MSG, "minisign/message.txt.legacy.minisig", 0, &err), 0, "%s", err.message);
	cr_assert_eq(verify(PUB_ENC, MSG, "minisign/message.txt.encrypted-key.minisig", 0, &err), 0, "%s",
		err.message);
	cr_assert_eq(verify(PUB, MSG, "minisign/message.txt.minisig", BPG_MINISIGN_REQUIRE_PREHASH, &err), 0);
}

Test(minisign, vectors_reject)
{
	bpg_error err = { 0, "" };

	cr_assert_eq(verify(PUB, MSG, "minisign/message.txt.legacy.minisig", BPG_MINISIGN_REQUIRE_PREHASH, &err),
		BPG_EVERIFY);
	cr_assert_eq(verify(PUB_ENC, MSG, "minisign/message.txt.minisig", 0, &err), BPG_EVERIFY);
	cr_assert_str_eq(err.message,
		"signature key id is EFA250982BA1E92B but the key id in the public key is 83DEB5B3280F6297");
	cr_assert_eq(verify(PUB, "minisign/negative/flipped-byte-message.txt", "minisign/message.txt.minisig", 0,
		&err), BPG_EVERIFY);
	cr_assert_eq(verify(PUB, MSG, "minisign/negative/truncated-signature.minisig", 0, &err), BPG_EINVALID);
	cr_assert(strstr(err.message, "line 2"), "%s", err.message);
	cr_assert_eq(verify(PUB, MSG, "minisign/negative/modified-trusted-comment.minisig", 0, &err), BPG_EVERIFY);
	cr_assert(strstr(err.message, "trusted comment"), "%s", err.message);
	cr_assert_eq(verify(PUB, MSG, "minisign/negative/prehash-flag-flipped.minisig", 0, &err), BPG_EVERIFY);
	cr_assert_eq(verify(PUB, MSG, "minisign/negative/wrong-key-keyid-forged.minisig", 0, &err), BPG_EVERIFY);
}

Test(minisign, signify_signature_refused_but_its_key_read)
{
	bpg_error err = { 0, "" };
	bpg_minisign_pubkey pk = pubkey("signify/test-only-signify-ed25519.pub");
	char id[BPG_MINISIGN_KEYID_SIZE];

	bpg_minisign_keyid(id, pk.keynum);
	cr_assert_eq(strlen(id), 16);
	/* Like minisign: a signify signature has no trusted comment, so it is refused. */
	cr_assert_eq(verify("signify/test-only-signify-ed25519.pub", "signify/message.txt",
		"signify/message.txt.sig", 0, &err), BPG_EINVALID);
	cr_assert(strstr(err.message, "trusted comment not present"), "%s", err.message);
}

Test(minisign, pubkey_forms_and_keyid)
{
	bpg_minisign_pubkey a = pubkey(PUB), b;
	bpg_error err = { 0, "" };
	char id[BPG_MINISIGN_KEYID_SIZE], b64[BPG_MINISIGN_PUBKEY_B64_SIZE];
	bpg_buf text = BPG_BUF_INIT, file = BPG_BUF_INIT;

	bpg_minisign_keyid(id, a.keynum);
	cr_assert_str_eq(id, "EFA250982BA1E92B");
	bpg_minisign_pubkey_base64(b64, &a);
	cr_assert_str_eq(b64, "RWQr6aErmFCi7516b6h26VsGViwGiLAxTaGSxbXNCyVjXNNTTPHAxVav");
	cr_assert_eq(bpg_minisign_pubkey_parse(&b, "  RWQr6aErmFCi7516b6h26VsGViwGiLAxTaGSxbXNCyVjXNNTTPHAxVav\n",
		58, "-P", &err), 0, "%s", err.message);
	cr_assert(bpg_minisign_pubkey_equal(&a, &b));
	/* Our public key file is minisign's, byte for byte, apart from the comment. */
	cr_assert_eq(bpg_minisign_pubkey_format(&text, &a), 0);
	slurp(&file, PUB);
	cr_assert_str_eq(strchr(text.ptr, '\n'), strchr(file.ptr, '\n'));
	cr_assert_eq(bpg_minisign_pubkey_parse(&b, "RWQr6aErmFCi7516b6h26VsGViwGiLAxTaGSxbXNCyVjXNNTTPHAxVa", 55,
		"-P", &err), BPG_EINVALID);
	cr_assert_eq(bpg_minisign_pubkey_parse(&b, "untrusted comment: x\n", 21, "k", &err), BPG_EINVALID);
	bpg_buf_dispose(&text);
	bpg_buf_dispose(&file);
}

/* Ed25519 is deterministic: re-signing with minisign's key reproduces its file exactly. */
Test(minisign, signing_reproduces_minisign_bytes)
{
	bpg_buf key = BPG_BUF_INIT, msg = BPG_BUF_INIT, want = BPG_BUF_INIT, got = BPG_BUF_INIT;
	bpg_minisign_sign_opts o = BPG_MINISIGN_SIGN_OPTS_INIT;
	bpg_minisign_seckey *sk = NULL;
	bpg_minisign_pubkey pk, vpk = pubkey(PUB);
	bpg_error err = { 0, "" };
	bool enc = true;

	slurp(&key, "minisign/test-only-minisign-ed25519-UNENCRYPTED.key");
	slurp(&msg, MSG);
	slurp(&want, "minisign/message.txt.minisig");
	cr_assert_eq(bpg_minisign_seckey_is_encrypted(&enc, key.ptr, key.size, "k", &err), 0);
	cr_assert_not(enc);
	cr_assert_eq(bpg_minisign_seckey_parse(&sk, key.ptr, key.size, NULL, "k", &err), 0, "%s", err.message);
	bpg_minisign_seckey_pubkey(&pk, sk);
	cr_assert(bpg_minisign_pubkey_equal(&pk, &vpk));
	o.untrusted_comment = "signature from TEST-ONLY minisign key";
	o.trusted_comment = "timestamp:1700000000\tfile:message.txt\thashed";
	cr_assert_eq(bpg_minisign_sign(&got, sk, msg.ptr, msg.size, &o, &err), 0, "%s", err.message);
	cr_assert_eq(got.size, want.size);
	cr_assert_eq(memcmp(got.ptr, want.ptr, want.size), 0, "got:\n%s", got.ptr);
	/* Legacy mode and the default trusted comment. */
	bpg_buf_clear(&got);
	o.legacy = true;
	o.trusted_comment = NULL;
	o.file_name = "dir/message.txt";
	o.timestamp = 42;
	cr_assert_eq(bpg_minisign_sign(&got, sk, msg.ptr, msg.size, &o, &err), 0);
	cr_assert(strstr(got.ptr, "\ntrusted comment: timestamp:42\tfile:message.txt\n"), "%s", got.ptr);
	cr_assert(strstr(got.ptr, "\nRWQr6aErmFCi7"), "legacy signatures start with Ed: %s", got.ptr);
	/* A control character in the trusted comment is refused (minisign 0.12's rule). */
	o.trusted_comment = "a\nb";
	cr_assert_eq(bpg_minisign_sign(&got, sk, msg.ptr, msg.size, &o, &err), BPG_EINVALID);
	bpg_minisign_seckey_free(sk);
	bpg_buf_dispose(&key);
	bpg_buf_dispose(&msg);
	bpg_buf_dispose(&want);
	bpg_buf_dispose(&got);
}

/* The vector's encrypted key uses minisign's 1 GiB scrypt parameters (a few seconds). */
Test(minisign, encrypted_vector_key_decrypts, .timeout = 120)
{
	bpg_buf key = BPG_BUF_INIT;
	bpg_minisign_seckey *sk = NULL;
	bpg_minisign_pubkey pk, vpk = pubkey(PUB_ENC);
	bpg_error err = { 0, "" };
	bool enc = false;

	slurp(&key, "minisign/test-only-minisign-ed25519-ENCRYPTED.key");
	cr_assert_eq(bpg_minisign_seckey_is_encrypted(&enc, key.ptr, key.size, "k", &err), 0);
	cr_assert(enc);
	cr_assert_eq(bpg_minisign_seckey_parse(&sk, key.ptr, key.size, NULL, "k", &err), BPG_EINVALID);
	cr_assert_eq(bpg_minisign_seckey_parse(&sk, key.ptr, key.size, "wrong-password", "k", &err), BPG_EVERIFY);
	cr_assert_str_eq(err.message, "k: wrong passphrase for this key");
	cr_assert_eq(bpg_minisign_seckey_parse(&sk, key.ptr, key.size, "test-only-password", "k", &err), 0,
		"%s", err.message);
	bpg_minisign_seckey_pubkey(&pk, sk);
	cr_assert(bpg_minisign_pubkey_equal(&pk, &vpk));
	bpg_minisign_seckey_free(sk);
	bpg_buf_dispose(&key);
}

static char *tmpdir(void)
{
	char *d = strdup("/tmp/bpg-test-sign-XXXXXX");

	cr_assert(mkdtemp(d));
	return d;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	bpg_buf p = BPG_BUF_INIT;
	bpg_error err = { 0, "" };

	cr_assert_eq(bpg_buf_printf(&p, "%s/%s", dir, name), 0);
	cr_assert_eq(bpg_file_write_atomic(p.ptr, text, strlen(text), 0644, &err), 0, "%s", err.message);
	bpg_buf_dispose(&p);
}

static void rm_rf(const char *dir)
{
	char cmd[512];

	/* test clean-up of a directory this test created under /tmp */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static int pass_from_pipe(char **out, const char *key_path, void *payload, bpg_error *err)
{
	(void)key_path;
	return bpg_passphrase_read(out, *(int *)payload, NULL, false, err);
}

Test(minisign, write_load_modes_and_passphrase_fd)
{
	static const bpg_minisign_kdf cheap = { 524288ULL, 16777216 }; /* INTERACTIVE: fast test */
	char *d = tmpdir();
	bpg_buf path = BPG_BUF_INIT, text = BPG_BUF_INIT;
	bpg_minisign_seckey *sk = NULL, *back = NULL;
	bpg_minisign_pubkey a, b;
	bpg_error err = { 0, "" };
	struct stat st;
	int fds[2];

	cr_assert_eq(bpg_minisign_seckey_generate(&sk, &err), 0);
	cr_assert_eq(bpg_buf_printf(&path, "%s/k.key", d), 0);
	cr_assert_eq(bpg_minisign_seckey_write(path.ptr, sk, "s3cret pass", &cheap, NULL, &err), 0, "%s", err.message);
	cr_assert_eq(stat(path.ptr, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(write(fds[1], "s3cret pass\r\nrest", 17), 17);
	cr_assert_eq(bpg_minisign_seckey_load(&back, path.ptr, pass_from_pipe, &fds[0], &err), 0, "%s", err.message);
	bpg_minisign_seckey_pubkey(&a, sk);
	bpg_minisign_seckey_pubkey(&b, back);
	cr_assert(bpg_minisign_pubkey_equal(&a, &b));
	bpg_minisign_seckey_free(back);
	back = NULL;
	/* No passphrase source: refused with a clear message. */
	cr_assert_eq(bpg_minisign_seckey_load(&back, path.ptr, NULL, NULL, &err), BPG_EINVALID);
	cr_assert(strstr(err.message, "passphrase is needed"));
	/* A key readable by others is refused as ssh does. */
	cr_assert_eq(chmod(path.ptr, 0640), 0);
	cr_assert_eq(bpg_minisign_seckey_load(&back, path.ptr, NULL, NULL, &err), BPG_EINVALID);
	cr_assert(strstr(err.message, "permissions 0640 for"), "%s", err.message);
	cr_assert(strstr(err.message, "are too open"));
	/* Unencrypted: the checksum is written and checked. */
	cr_assert_eq(bpg_minisign_seckey_write(path.ptr, sk, NULL, NULL, "c", &err), 0);
	cr_assert_eq(bpg_minisign_seckey_load(&back, path.ptr, NULL, NULL, &err), 0, "%s", err.message);
	close(fds[0]);
	close(fds[1]);
	bpg_minisign_seckey_free(sk);
	bpg_minisign_seckey_free(back);
	bpg_buf_dispose(&path);
	bpg_buf_dispose(&text);
	rm_rf(d);
	free(d);
}

Test(minisign, sig_parse_strictness)
{
	bpg_minisign_sig *s = NULL;
	bpg_error err = { 0, "" };
	bpg_buf good = BPG_BUF_INIT, crlf = BPG_BUF_INIT;

	slurp(&good, "minisign/message.txt.minisig");
	/* One CR before each LF is tolerated, as minisign does. */
	for (size_t i = 0; i < good.size; i++) {
		if (good.ptr[i] == '\n')
			cr_assert_eq(bpg_buf_putc(&crlf, '\r'), 0);
		cr_assert_eq(bpg_buf_putc(&crlf, good.ptr[i]), 0);
	}
	cr_assert_eq(bpg_minisign_sig_parse(&s, crlf.ptr, crlf.size, "x", &err), 0, "%s", err.message);
	cr_assert_str_eq(bpg_minisign_sig_trusted_comment(s), "timestamp:1700000000\tfile:message.txt\thashed");
	cr_assert_str_eq(bpg_minisign_sig_untrusted_comment(s), "signature from TEST-ONLY minisign key");
	cr_assert(bpg_minisign_sig_prehashed(s));
	bpg_minisign_sig_free(s);
	cr_assert_eq(bpg_minisign_sig_parse(&s, good.ptr, 50, "x", &err), BPG_EINVALID);
	cr_assert_eq(bpg_minisign_sig_parse(&s, "", 0, "x", &err), BPG_EINVALID);
	bpg_buf_dispose(&good);
	bpg_buf_dispose(&crlf);
}

/* ---- bundles ---------------------------------------------------------- */

static const char *BP =
	"{\"name\": \"Invoice sync\", \"flow\": [], \"metadata\": {\"version\": 1}}\n";

typedef struct {
	char *dir;
	bpg_minisign_seckey *sk;
	bpg_releaser rel;
	bpg_buf manifest, sig;
} bundle_fixture;

static void fixture_make(bundle_fixture *f)
{
	static const char *const pats[] = { "*.json" };
	bpg_bundle_create_opts o = BPG_BUNDLE_CREATE_OPTS_INIT;
	bpg_minisign_sign_opts so = BPG_MINISIGN_SIGN_OPTS_INIT;
	bpg_bundle *b = NULL;
	bpg_buf m = BPG_BUF_INIT, p1 = BPG_BUF_INIT, p2 = BPG_BUF_INIT;
	const char *files[2];
	bpg_error err = { 0, "" };
	unsigned char seed[32] = { 1 }, keynum[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	memset(f, 0, sizeof(*f));
	f->dir = tmpdir();
	cr_assert_eq(bpg_buf_printf(&m, "%s/sub", f->dir), 0);
	cr_assert_eq(mkdir(m.ptr, 0755), 0);
	write_file(f->dir, "sub/invoice.blueprint.json", BP);
	write_file(f->dir, "config.json", "{\"a\": 1}\n");
	write_file(f->dir, "notes.txt", "not covered by *.json\n");
	bpg_buf_clear(&m);
	cr_assert_eq(bpg_buf_printf(&m, "%s/release.bundle.json", f->dir), 0);
	cr_assert_eq(bpg_buf_printf(&p1, "%s/sub/invoice.blueprint.json", f->dir), 0);
	cr_assert_eq(bpg_buf_printf(&p2, "%s/config.json", f->dir), 0);
	files[0] = p1.ptr;
	files[1] = p2.ptr;
	o.environment = "prod";
	o.creator = "Ada <ada@example.com>";
	o.created = 1700000000;
	o.no_git = true;
	o.patterns = pats;
	o.npatterns = 1;
	cr_assert_eq(bpg_bundle_create(&b, m.ptr, files, 2, &o, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_bundle_serialize(&f->manifest, b, &err), 0);
	cr_assert_eq(bpg_minisign_seckey_from_seed(&f->sk, seed, keynum, &err), 0);
	so.trusted_comment = "release";
	cr_assert_eq(bpg_minisign_sign(&f->sig, f->sk, f->manifest.ptr, f->manifest.size, &so, &err), 0);
	f->rel.principal = "ada";
	bpg_minisign_seckey_pubkey(&f->rel.key, f->sk);
	bpg_bundle_free(b);
	bpg_buf_dispose(&m);
	bpg_buf_dispose(&p1);
	bpg_buf_dispose(&p2);
}

static void fixture_free(bundle_fixture *f)
{
	rm_rf(f->dir);
	free(f->dir);
	bpg_minisign_seckey_free(f->sk);
	bpg_buf_dispose(&f->manifest);
	bpg_buf_dispose(&f->sig);
}

#define EXPECTED_MANIFEST \
	"{\n" \
	"  \"created\": \"2023-11-14T22:13:20Z\",\n" \
	"  \"creator\": \"Ada <ada@example.com>\",\n" \
	"  \"environment\": \"prod\",\n" \
	"  \"files\": {\n" \
	"    \"config.json\": \"%s\",\n" \
	"    \"sub/invoice.blueprint.json\": \"%s\"\n" \
	"  },\n" \
	"  \"format_version\": 1,\n" \
	"  \"patterns\": [\n" \
	"    \"*.json\"\n" \
	"  ],\n" \
	"  \"scenarios\": [\n" \
	"    {\n" \
	"      \"file\": \"sub/invoice.blueprint.json\",\n" \
	"      \"name\": \"Invoice sync\"\n" \
	"    }\n" \
	"  ],\n" \
	"  \"source_commit\": null\n" \
	"}\n"

Test(bundle, create_is_canonical_and_round_trips)
{
	bundle_fixture f;
	bpg_bundle *b = NULL;
	bpg_buf again = BPG_BUF_INIT, want = BPG_BUF_INIT;
	bpg_error err = { 0, "" };
	char h1[65], h2[65];

	fixture_make(&f);
	bpg_sha256_hex(h1, "{\"a\": 1}\n", 9);
	bpg_sha256_hex(h2, BP, strlen(BP));
	cr_assert_eq(bpg_buf_printf(&want, EXPECTED_MANIFEST, h1, h2), 0);
	cr_assert_str_eq(f.manifest.ptr, want.ptr);
	cr_assert_eq(bpg_bundle_parse(&b, f.manifest.ptr, f.manifest.size, "m", &err), 0, "%s", err.message);
	cr_assert_eq(bpg_bundle_serialize(&again, b, &err), 0);
	cr_assert_str_eq(again.ptr, f.manifest.ptr);
	cr_assert_str_eq(bpg_bundle_environment(b), "prod");
	cr_assert_null(bpg_bundle_source_commit(b));
	cr_assert_eq(bpg_bundle_file_count(b), 2);
	cr_assert_str_eq(bpg_bundle_file_at(b, 1)->path, "sub/invoice.blueprint.json");
	cr_assert_str_eq(bpg_bundle_scenario_at(b, 0)->name, "Invoice sync");
	bpg_bundle_free(b);
	bpg_buf_dispose(&again);
	bpg_buf_dispose(&want);
	fixture_free(&f);
}

Test(bundle, create_refuses_files_outside_and_bad_env)
{
	bundle_fixture f;
	bpg_bundle_create_opts o = BPG_BUNDLE_CREATE_OPTS_INIT;
	bpg_bundle *b = NULL;
	bpg_buf m = BPG_BUF_INIT, p = BPG_BUF_INIT;
	const char *files[1];
	bpg_error err = { 0, "" };

	fixture_make(&f);
	cr_assert_eq(bpg_buf_printf(&m, "%s/sub/x.bundle.json", f.dir), 0);
	cr_assert_eq(bpg_buf_printf(&p, "%s/config.json", f.dir), 0);
	files[0] = p.ptr;
	o.environment = "prod";
	o.no_git = true;
	cr_assert_eq(bpg_bundle_create(&b, m.ptr, files, 1, &o, &err), BPG_EINVALID);
	cr_assert(strstr(err.message, "outside the manifest's directory"), "%s", err.message);
	o.environment = "prod env";
	cr_assert_eq(bpg_bundle_create(&b, m.ptr, files, 1, &o, &err), BPG_EINVALID);
	cr_assert_null(b);
	bpg_buf_dispose(&m);
	bpg_buf_dispose(&p);
	fixture_free(&f);
}

Test(bundle, parse_rejects)
{
	static const char *bad[] = {
		"[]",
		"{\"created\":\"x\",\"creator\":\"y\",\"environment\":\"prod\",\"files\":{},\"format_version\":1,"
		"\"patterns\":[],\"scenarios\":[],\"source_commit\":null}",
		"{\"created\":\"x\",\"creator\":\"y\",\"environment\":\"prod\",\"files\":{\"../a\":\""
		"0000000000000000000000000000000000000000000000000000000000000000\"},\"format_version\":1,"
		"\"patterns\":[],\"scenarios\":[],\"source_commit\":null}",
		"{\"created\":\"x\",\"creator\":\"y\",\"environment\":\"prod\",\"files\":{\"a\":\"00\"},"
		"\"format_version\":1,\"patterns\":[],\"scenarios\":[],\"source_commit\":null}",
		"{\"created\":\"x\",\"creator\":\"y\",\"environment\":\"prod\",\"files\":{\"a\":\""
		"0000000000000000000000000000000000000000000000000000000000000000\"},\"format_version\":2,"
		"\"patterns\":[],\"scenarios\":[],\"source_commit\":null}",
		"{\"created\":\"x\",\"creator\":\"y\",\"environment\":\"prod\",\"files\":{\"a\":\""
		"0000000000000000000000000000000000000000000000000000000000000000\"},\"format_version\":1,"
		"\"patterns\":[],\"scenarios\":[],\"source_commit\":null,\"extra\":1}",
		"{\"created\":\"x\",\"created\":\"x\",\"creator\":\"y\",\"environment\":\"prod\",\"files\":{},"
		"\"format_version\":1,\"patterns\":[],\"scenarios\":[],\"source_commit\":null}",
	};
	bpg_bundle *b = NULL;
	bpg_error err = { 0, "" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(bpg_bundle_parse(&b, bad[i], strlen(bad[i]), "m", &err), BPG_EINVALID, "case %zu", i);
		cr_assert_null(b);
	}
}

static bpg_bundle_result *check_dir(bundle_fixture *f, bool with_sig, const bpg_releaser *rel, size_t nrel)
{
	bpg_bundle_result *res = NULL;
	bpg_error err = { 0, "" };
	bpg_tree tree;

	bpg_tree_workdir(&tree, f->dir);
	cr_assert_eq(bpg_bundle_check(&res, "release.bundle.json", f->manifest.ptr, f->manifest.size,
		with_sig ? f->sig.ptr : NULL, f->sig.size, rel, nrel, &tree, &err), 0, "%s", err.message);
	return res;
}

static void expect_problem(const bpg_bundle_result *res, size_t i, bpg_bundle_problem_kind kind, const char *path)
{
	const bpg_bundle_problem *p = bpg_bundle_result_problem(res, i);

	cr_assert(p, "no problem %zu", i);
	cr_assert_eq(p->kind, kind, "problem %zu: %s %s", i, bpg_bundle_problem_kind_name(p->kind), p->detail);
	cr_assert_str_eq(p->path, path);
}

Test(bundle, check_working_tree)
{
	bundle_fixture f;
	bpg_bundle_result *res;
	bpg_releaser other;
	unsigned char seed[32] = { 2 }, keynum[8] = { 9 };
	bpg_minisign_seckey *osk = NULL;
	bpg_error err = { 0, "" };

	fixture_make(&f);
	res = check_dir(&f, true, &f.rel, 1);
	cr_assert(bpg_bundle_result_ok(res));
	cr_assert_str_eq(bpg_bundle_result_principal(res), "ada");
	cr_assert_str_eq(bpg_bundle_result_trusted_comment(res), "release");
	bpg_bundle_result_free(res);

	res = check_dir(&f, false, &f.rel, 1);
	cr_assert_not(bpg_bundle_result_ok(res));
	cr_assert_eq(bpg_bundle_result_problem_count(res), 1);
	expect_problem(res, 0, BPG_BUNDLE_UNSIGNED, "release.bundle.json.minisig");
	bpg_bundle_result_free(res);

	cr_assert_eq(bpg_minisign_seckey_from_seed(&osk, seed, keynum, &err), 0);
	other.principal = "mallory";
	bpg_minisign_seckey_pubkey(&other.key, osk);
	res = check_dir(&f, true, &other, 1);
	cr_assert_eq(bpg_bundle_result_problem_count(res), 1);
	expect_problem(res, 0, BPG_BUNDLE_NOT_RELEASER, "release.bundle.json.minisig");
	bpg_bundle_result_free(res);
	/* Same key id, other key: the signature itself must fail. */
	memcpy(other.key.keynum, f.rel.key.keynum, 8);
	res = check_dir(&f, true, &other, 1);
	expect_problem(res, 0, BPG_BUNDLE_BAD_SIGNATURE, "release.bundle.json.minisig");
	bpg_bundle_result_free(res);

	/* Tamper: one file changed, one removed, one unlisted file added; notes.txt is not *.json. */
	write_file(f.dir, "config.json", "{\"a\": 2}\n");
	write_file(f.dir, "sub/new.json", "{}\n");
	write_file(f.dir, ".hidden.json", "{}\n");
	write_file(f.dir, "other.bundle.json", "{}\n");
	{
		bpg_buf p = BPG_BUF_INIT;
		cr_assert_eq(bpg_buf_printf(&p, "%s/sub/invoice.blueprint.json", f.dir), 0);
		cr_assert_eq(unlink(p.ptr), 0);
		bpg_buf_dispose(&p);
	}
	res = check_dir(&f, true, &f.rel, 1);
	cr_assert_not(bpg_bundle_result_ok(res));
	cr_assert_eq(bpg_bundle_result_problem_count(res), 3);
	expect_problem(res, 0, BPG_BUNDLE_MISMATCH, "config.json");
	expect_problem(res, 1, BPG_BUNDLE_MISSING, "sub/invoice.blueprint.json");
	expect_problem(res, 2, BPG_BUNDLE_EXTRA, "sub/new.json");
	cr_assert_str_eq(bpg_bundle_result_principal(res), "ada"); /* the signature itself is fine */
	bpg_bundle_result_free(res);

	/* A modified manifest no longer verifies. */
	f.manifest.ptr[20] ^= 1;
	res = check_dir(&f, true, &f.rel, 1);
	expect_problem(res, 0, BPG_BUNDLE_BAD_SIGNATURE, "release.bundle.json.minisig");
	bpg_bundle_result_free(res);
	bpg_minisign_seckey_free(osk);
	fixture_free(&f);
}

/* The same check over a git tree (what the hooks and the server gate see). */
Test(bundle, check_git_tree_and_releaser_keys)
{
	bundle_fixture f;
	git_repository *repo = NULL;
	git_treebuilder *root = NULL, *sub = NULL, *keys = NULL, *dot = NULL;
	git_oid oid, tree_id;
	git_tree *tree = NULL;
	bpg_tree t;
	bpg_bundle_result *res = NULL;
	bpg_releaser *rel = NULL;
	size_t nrel = 0;
	bpg_buf pub = BPG_BUF_INIT, repo_dir = BPG_BUF_INIT;
	const char *principals[] = { "ada", "bob" };
	bpg_error err = { 0, "" };

	fixture_make(&f);
	git_libgit2_init();
	cr_assert_eq(bpg_buf_printf(&repo_dir, "%s/repo.git", f.dir), 0);
	cr_assert_eq(git_repository_init(&repo, repo_dir.ptr, 1), 0);
	cr_assert_eq(git_treebuilder_new(&sub, repo, NULL), 0);
	cr_assert_eq(git_blob_create_from_buffer(&oid, repo, BP, strlen(BP)), 0);
	cr_assert_eq(git_treebuilder_insert(NULL, sub, "invoice.blueprint.json", &oid, GIT_FILEMODE_BLOB), 0);
	cr_assert_eq(git_treebuilder_write(&oid, sub), 0);
	cr_assert_eq(git_treebuilder_new(&root, repo, NULL), 0);
	cr_assert_eq(git_treebuilder_insert(NULL, root, "sub", &oid, GIT_FILEMODE_TREE), 0);
	cr_assert_eq(git_blob_create_from_buffer(&oid, repo, "{\"a\": 1}\n", 9), 0);
	cr_assert_eq(git_treebuilder_insert(NULL, root, "config.json", &oid, GIT_FILEMODE_BLOB), 0);
	cr_assert_eq(git_blob_create_from_buffer(&oid, repo, f.manifest.ptr, f.manifest.size), 0);
	cr_assert_eq(git_treebuilder_insert(NULL, root, "release.bundle.json", &oid, GIT_FILEMODE_BLOB), 0);
	cr_assert_eq(bpg_minisign_pubkey_format(&pub, &f.rel.key), 0);
	cr_assert_eq(git_blob_create_from_buffer(&oid, repo, pub.ptr, pub.size), 0);
	cr_assert_eq(git_treebuilder_new(&keys, repo, NULL), 0);
	cr_assert_eq(git_treebuilder_insert(NULL, keys, "ada.pub", &oid, GIT_FILEMODE_BLOB), 0);
	cr_assert_eq(git_treebuilder_write(&oid, keys), 0);
	cr_assert_eq(git_treebuilder_new(&dot, repo, NULL), 0);
	cr_assert_eq(git_treebuilder_insert(NULL, dot, "keys", &oid, GIT_FILEMODE_TREE), 0);
	cr_assert_eq(git_treebuilder_write(&oid, dot), 0);
	cr_assert_eq(git_treebuilder_insert(NULL, root, ".bpgate", &oid, GIT_FILEMODE_TREE), 0);
	cr_assert_eq(git_blob_create_from_buffer(&oid, repo, "{}", 2), 0);
	cr_assert_eq(git_treebuilder_insert(NULL, root, "stray.json", &oid, GIT_FILEMODE_BLOB), 0);
	cr_assert_eq(git_treebuilder_write(&tree_id, root), 0);
	cr_assert_eq(git_tree_lookup(&tree, repo, &tree_id), 0);

	cr_assert_eq(bpg_tree_git(&t, repo, tree, &err), 0);
	cr_assert_eq(bpg_releasers_load(&rel, &nrel, &t, ".bpgate/keys", principals, 2, &err), 0, "%s", err.message);
	cr_assert_eq(nrel, 1); /* bob has no key file */
	cr_assert_str_eq(rel[0].principal, "ada");
	cr_assert_eq(bpg_bundle_check(&res, "release.bundle.json", f.manifest.ptr, f.manifest.size, f.sig.ptr,
		f.sig.size, rel, nrel, &t, &err), 0, "%s", err.message);
	cr_assert_str_eq(bpg_bundle_result_principal(res), "ada");
	cr_assert_eq(bpg_bundle_result_problem_count(res), 1);
	expect_problem(res, 0, BPG_BUNDLE_EXTRA, "stray.json");
	cr_assert(bpg_bundle_is_manifest_path("release/1.2/x.bundle.json"));
	cr_assert_not(bpg_bundle_is_manifest_path("release/.bundle.json"));
	cr_assert_not(bpg_bundle_is_manifest_path("x.json"));

	bpg_bundle_result_free(res);
	free(rel);
	bpg_tree_git_free(&t);
	git_tree_free(tree);
	git_treebuilder_free(root);
	git_treebuilder_free(sub);
	git_treebuilder_free(keys);
	git_treebuilder_free(dot);
	git_repository_free(repo);
	git_libgit2_shutdown();
	bpg_buf_dispose(&pub);
	bpg_buf_dispose(&repo_dir);
	fixture_free(&f);
}
