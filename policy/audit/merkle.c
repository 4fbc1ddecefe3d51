/*
 * RFC 6962 / RFC 9162 Merkle trees over SHA-256: hashes, roots, inclusion
 * and consistency proofs. Everything is iterative with fixed-size stacks:
 * a tree of up to 2^64 leaves needs at most 64 pending subtree hashes.
 */
#include "bpgate/audit.h"

#include <sodium.h>
#include <string.h>

void bpg_merkle_leaf_hash(bpg_hash *out, const void *data, size_t len)
{
	crypto_hash_sha256_state st;
	const unsigned char prefix = 0x00;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &prefix, 1);
	crypto_hash_sha256_update(&st, data, len);
	crypto_hash_sha256_final(&st, out->b);
}

void bpg_merkle_node_hash(bpg_hash *out, const bpg_hash *left, const bpg_hash *right)
{
	unsigned char in[1 + 2 * BPG_HASH_SIZE];

	/* Copy first: out may alias left or right. */
	in[0] = 0x01;
	memcpy(in + 1, left->b, BPG_HASH_SIZE);
	memcpy(in + 1 + BPG_HASH_SIZE, right->b, BPG_HASH_SIZE);
	crypto_hash_sha256(out->b, in, sizeof(in));
}

/* Largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

/*
 * Root of leaves[lo, hi): push leaves, merging equal-sized perfect subtrees
 * like a binary counter, then fold the remaining perfect subtrees from the
 * right, which is exactly MTH's "unpaired right subtree promoted as is".
 */
static void range_root(bpg_hash *out, const bpg_hash *leaves, uint64_t lo, uint64_t hi)
{
	bpg_hash stack[65];
	size_t top = 0;

	if (hi <= lo) {
		crypto_hash_sha256(out->b, (const unsigned char *)"", 0);
		return;
	}
	for (uint64_t i = lo; i < hi; i++) {
		uint64_t count = i - lo + 1;

		stack[top++] = leaves[i];
		for (; (count & 1) == 0; count >>= 1) {
			bpg_merkle_node_hash(&stack[top - 2], &stack[top - 2], &stack[top - 1]);
			top--;
		}
	}
	while (top > 1) {
		bpg_merkle_node_hash(&stack[top - 2], &stack[top - 2], &stack[top - 1]);
		top--;
	}
	*out = stack[0];
}

void bpg_merkle_root(bpg_hash *out, const bpg_hash *leaves, uint64_t n)
{
	range_root(out, leaves, 0, n);
}

static void proof_reverse(bpg_merkle_proof *p)
{
	for (size_t i = 0, j = p->len; i + 1 < j; i++, j--) {
		bpg_hash t = p->h[i];
		p->h[i] = p->h[j - 1];
		p->h[j - 1] = t;
	}
}

int bpg_merkle_inclusion_proof(bpg_merkle_proof *out, const bpg_hash *leaves,
	uint64_t size, uint64_t index, bpg_error *err)
{
	uint64_t lo = 0, hi = size;

	out->len = 0;
	if (index >= size)
		return bpg_error_set(err, BPG_EINVALID,
			"no entry %llu in a tree of %llu entries", (unsigned long long)index,
			(unsigned long long)size);
	/* Walk from the root down to the leaf (RFC 6962 PATH), then reverse. */
	while (hi - lo > 1) {
		uint64_t k = split_point(hi - lo);

		if (index - lo < k) {
			range_root(&out->h[out->len++], leaves, lo + k, hi);
			hi = lo + k;
		} else {
			range_root(&out->h[out->len++], leaves, lo, lo + k);
			lo += k;
		}
	}
	proof_reverse(out);
	return 0;
}

int bpg_merkle_consistency_proof(bpg_merkle_proof *out, const bpg_hash *leaves,
	uint64_t old_size, uint64_t new_size, bpg_error *err)
{
	uint64_t lo = 0, hi = new_size, m = old_size;
	bool whole = true;

	out->len = 0;
	if (old_size > new_size)
		return bpg_error_set(err, BPG_EINVALID,
			"old tree size %llu is larger than new tree size %llu",
			(unsigned long long)old_size, (unsigned long long)new_size);
	if (old_size == 0 || old_size == new_size)
		return 0;
	/* RFC 6962 SUBPROOF(m, D[lo:hi], whole), iteratively. */
	for (;;) {
		uint64_t k;

		if (m == hi - lo) {
			if (!whole)
				range_root(&out->h[out->len++], leaves, lo, hi);
			break;
		}
		k = split_point(hi - lo);
		if (m <= k) {
			range_root(&out->h[out->len++], leaves, lo + k, hi);
			hi = lo + k;
		} else {
			range_root(&out->h[out->len++], leaves, lo, lo + k);
			lo += k;
			m -= k;
			whole = false;
		}
	}
	proof_reverse(out);
	return 0;
}

int bpg_merkle_verify_inclusion(uint64_t index, uint64_t size, const bpg_hash *leaf,
	const bpg_merkle_proof *proof, const bpg_hash *root, bpg_error *err)
{
	uint64_t fn = index, sn;
	bpg_hash r = *leaf;

	if (index >= size)
		return bpg_error_set(err, BPG_EVERIFY,
			"inclusion proof: index %llu is outside a tree of %llu entries",
			(unsigned long long)index, (unsigned long long)size);
	if (proof->len > BPG_MERKLE_MAX_PROOF)
		return bpg_error_set(err, BPG_EVERIFY, "inclusion proof: too many hashes");
	sn = size - 1;
	for (size_t i = 0; i < proof->len; i++) {
		if (sn == 0)
			return bpg_error_set(err, BPG_EVERIFY,
				"inclusion proof: %zu hashes, more than the tree of %llu entries needs",
				proof->len, (unsigned long long)size);
		if ((fn & 1) == 1 || fn == sn) {
			bpg_merkle_node_hash(&r, &proof->h[i], &r);
			if ((fn & 1) == 0)
				while ((fn & 1) == 0 && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			bpg_merkle_node_hash(&r, &r, &proof->h[i]);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return bpg_error_set(err, BPG_EVERIFY,
			"inclusion proof: %zu hashes, fewer than the tree of %llu entries needs",
			proof->len, (unsigned long long)size);
	if (memcmp(r.b, root->b, BPG_HASH_SIZE) != 0)
		return bpg_error_set(err, BPG_EVERIFY,
			"inclusion proof: entry %llu does not lead to the root of the tree of %llu entries",
			(unsigned long long)index, (unsigned long long)size);
	return 0;
}

int bpg_merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
	const bpg_hash *old_root, const bpg_hash *new_root, const bpg_merkle_proof *proof,
	bpg_error *err)
{
	bpg_hash fr, sr;
	const bpg_hash *path = proof->h;
	size_t n = proof->len, start = 0;
	uint64_t fn, sn;
	bool pow2;

	if (old_size > new_size)
		return bpg_error_set(err, BPG_EVERIFY,
			"consistency: the newer tree (%llu entries) is smaller than the older (%llu): rolled back",
			(unsigned long long)new_size, (unsigned long long)old_size);
	if (n > BPG_MERKLE_MAX_PROOF)
		return bpg_error_set(err, BPG_EVERIFY, "consistency proof: too many hashes");
	if (old_size == new_size) {
		if (n != 0)
			return bpg_error_set(err, BPG_EVERIFY,
				"consistency proof: must be empty for two trees of the same size");
		if (memcmp(old_root->b, new_root->b, BPG_HASH_SIZE) != 0)
			return bpg_error_set(err, BPG_EVERIFY,
				"consistency: two trees of %llu entries with different roots: the log was rewritten",
				(unsigned long long)old_size);
		return 0;
	}
	if (old_size == 0) {
		if (n != 0)
			return bpg_error_set(err, BPG_EVERIFY,
				"consistency proof: must be empty from the empty tree");
		return 0;
	}
	if (n == 0)
		return bpg_error_set(err, BPG_EVERIFY, "consistency proof: empty");
	/* When the old tree is a perfect subtree its root is the implicit first hash. */
	pow2 = (old_size & (old_size - 1)) == 0;
	fn = old_size - 1;
	sn = new_size - 1;
	while ((fn & 1) == 1) {
		fn >>= 1;
		sn >>= 1;
	}
	if (pow2) {
		fr = sr = *old_root;
	} else {
		fr = sr = path[0];
		start = 1;
	}
	for (size_t i = start; i < n; i++) {
		const bpg_hash *c = &path[i];

		if (sn == 0)
			return bpg_error_set(err, BPG_EVERIFY,
				"consistency proof: more hashes than %llu -> %llu needs",
				(unsigned long long)old_size, (unsigned long long)new_size);
		if ((fn & 1) == 1 || fn == sn) {
			bpg_merkle_node_hash(&fr, c, &fr);
			bpg_merkle_node_hash(&sr, c, &sr);
			if ((fn & 1) == 0)
				while ((fn & 1) == 0 && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			bpg_merkle_node_hash(&sr, &sr, c);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return bpg_error_set(err, BPG_EVERIFY,
			"consistency proof: fewer hashes than %llu -> %llu needs",
			(unsigned long long)old_size, (unsigned long long)new_size);
	if (memcmp(fr.b, old_root->b, BPG_HASH_SIZE) != 0 || memcmp(sr.b, new_root->b, BPG_HASH_SIZE) != 0)
		return bpg_error_set(err, BPG_EVERIFY,
			"consistency: the tree of %llu entries does not extend the tree of %llu entries: the log was rewritten",
			(unsigned long long)new_size, (unsigned long long)old_size);
	return 0;
}

/* ------------------------------------------------------------ frontier */

void bpg_merkle_frontier_init(bpg_merkle_frontier *f)
{
	memset(f, 0, sizeof(*f));
}

void bpg_merkle_frontier_push(bpg_merkle_frontier *f, const bpg_hash *leaf)
{
	uint64_t count;

	f->h[f->len++] = *leaf;
	f->size++;
	/* A binary counter: each trailing zero bit of the new size merges two equal subtrees. */
	for (count = f->size; (count & 1) == 0 && f->len >= 2; count >>= 1) {
		bpg_merkle_node_hash(&f->h[f->len - 2], &f->h[f->len - 2], &f->h[f->len - 1]);
		f->len--;
	}
}

void bpg_merkle_frontier_root(bpg_hash *out, const bpg_merkle_frontier *f)
{
	bpg_hash r;

	if (f->len == 0) {
		crypto_hash_sha256(out->b, (const unsigned char *)"", 0);
		return;
	}
	/* MTH promotes the unpaired right subtree: fold from the right. */
	r = f->h[f->len - 1];
	for (size_t i = f->len - 1; i-- > 0;)
		bpg_merkle_node_hash(&r, &f->h[i], &r);
	*out = r;
}

/* Root of [lo, hi): a frontier subtree when left of the old size, else new leaves. */
static int frontier_node(bpg_hash *out, const bpg_merkle_frontier *old, const bpg_hash *new_leaves,
	uint64_t lo, uint64_t hi, bpg_error *err)
{
	uint64_t start = 0;

	if (lo >= old->size) {
		range_root(out, new_leaves, lo - old->size, hi - old->size);
		return 0;
	}
	for (size_t i = 0; i < old->len; i++) {
		uint64_t sz = (uint64_t)1 << (63 - __builtin_clzll(old->size - start));

		if (start == lo && start + sz == hi) {
			*out = old->h[i];
			return 0;
		}
		start += sz;
	}
	return bpg_error_set(err, BPG_ERROR, "consistency proof: node [%llu, %llu) is not in the frontier",
		(unsigned long long)lo, (unsigned long long)hi);
}

int bpg_merkle_frontier_consistency_proof(bpg_merkle_proof *out, const bpg_merkle_frontier *old,
	const bpg_hash *new_leaves, uint64_t nnew, bpg_error *err)
{
	uint64_t lo = 0, hi = old->size + nnew, m = old->size;
	bool whole = true;
	int rc;

	out->len = 0;
	if (old->size == 0 || nnew == 0)
		return 0;
	/* The loop of bpg_merkle_consistency_proof(), nodes taken from the frontier. */
	for (;;) {
		uint64_t k;

		if (m == hi - lo) {
			if (!whole && (rc = frontier_node(&out->h[out->len++], old, new_leaves, lo, hi, err)) < 0)
				return rc;
			break;
		}
		k = split_point(hi - lo);
		if (m <= k) {
			if ((rc = frontier_node(&out->h[out->len++], old, new_leaves, lo + k, hi, err)) < 0)
				return rc;
			hi = lo + k;
		} else {
			if ((rc = frontier_node(&out->h[out->len++], old, new_leaves, lo, lo + k, err)) < 0)
				return rc;
			lo += k;
			m -= k;
			whole = false;
		}
	}
	proof_reverse(out);
	return 0;
}
