/*
 * libFuzzer target for the audit module's parsers of outside bytes: signed
 * notes and checkpoints, entries-file records, JSON inclusion proofs, DSSE
 * envelopes and in-toto Statements, Merkle proof verification, syslog lines.
 * The first byte picks the parser; the rest is the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bpgate/audit.h"
#include "bpgate/dsse.h"
#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char vkey[] = "audit.example.com/test-only-log+e9be9be8+AcGLHOKRa2JgJaezAlqp+0Y+FwJCm1l/k8V6RmQZb/m+";
static const char dsse_pub[] = "2deddd96ff5501e71273395d9fd419f895fce88fddd7cf755cb9d313125f5b7a";

static void fuzz_merkle(const uint8_t *d, size_t n)
{
	bpg_merkle_proof p;
	bpg_hash a, b;
	uint64_t x = 0, y = 0;

	if (n < 16 + 64)
		return;
	memcpy(&x, d, 8);
	memcpy(&y, d + 8, 8);
	memcpy(a.b, d + 16, 32);
	memcpy(b.b, d + 48, 32);
	d += 80;
	n -= 80;
	p.len = n / 32 > BPG_MERKLE_MAX_PROOF ? BPG_MERKLE_MAX_PROOF : n / 32;
	memcpy(p.h, d, p.len * 32);
	(void)bpg_merkle_verify_inclusion(x, y, &a, &p, &b, NULL);
	(void)bpg_merkle_verify_consistency(x, y, &a, &b, &p, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;
	size_t n = size ? size - 1 : 0;
	bpg_note_verifier *v = NULL;
	bpg_dsse_key *k = NULL;
	bpg_buf b = BPG_BUF_INIT, t = BPG_BUF_INIT;
	bpg_checkpoint cp;
	json_t *j = NULL;

	if (size == 0)
		return 0;
	bpg_note_verifier_parse(&v, vkey, strlen(vkey), NULL);
	switch (data[0] % 7) {
	case 0:
		(void)bpg_checkpoint_open(&cp, s, n, v, NULL, NULL);
		(void)bpg_checkpoint_parse(&cp, s, n, NULL);
		break;
	case 1: {
		uint64_t idx;
		bpg_hash h;
		const char *e;
		size_t elen;
		if (bpg_audit__record_parse(&idx, &h, &e, &elen, s, n, NULL) == 0)
			(void)bpg_audit__entry_check(e, elen, NULL);
		break;
	}
	case 2:
		(void)bpg_audit_proof_check(s, n, v, NULL, NULL, NULL);
		break;
	case 3: {
		const bpg_dsse_key *keys[1];
		if (bpg_dsse_key_parse_public(&k, dsse_pub, 64, NULL) == 0) {
			keys[0] = k;
			if (bpg_dsse_verify(&b, &t, s, n, keys, 1, 1, NULL) == 0)
				(void)bpg_intoto_parse(&j, b.ptr, b.size, NULL);
		}
		json_decref(j);
		(void)bpg_intoto_parse(&j, s, n, NULL);
		json_decref(j);
		j = NULL;
		break;
	}
	case 4:
		(void)bpg_syslog_format(&b, NULL, 1, s, n, NULL, 0, NULL);
		break;
	case 5:
		(void)bpg_dsse_key_parse_public(&k, s, n, NULL);
		bpg_dsse_key_free(k);
		k = NULL;
		(void)bpg_dsse_key_parse_private(&k, s, n, NULL);
		bpg_note_verifier_free(v);
		v = NULL;
		(void)bpg_note_verifier_parse(&v, s, n, NULL);
		break;
	default:
		fuzz_merkle(data + 1, n);
		break;
	}
	json_decref(j);
	bpg_dsse_key_free(k);
	bpg_note_verifier_free(v);
	bpg_buf_dispose(&b);
	bpg_buf_dispose(&t);
	return 0;
}
