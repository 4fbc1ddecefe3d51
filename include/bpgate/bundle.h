/*
 * bpgate — release bundles: a manifest (JSON) listing every file of a
 * release with its SHA-256, plus a minisign signature beside it
 * (MANIFEST.minisig), and the check that a bundle found in a commit is
 * signed by a releaser and matches the commit's files.
 *
 * Manifest (format_version 1), written canonically: keys sorted, two-space
 * indent, one trailing LF, so serialising a parsed manifest gives back the
 * same bytes and the signed bytes are reproducible:
 *
 *   {
 *     "created": "2024-05-01T12:00:00Z",           UTC, RFC 3339
 *     "creator": "Ada <ada@example.com>",
 *     "environment": "prod",
 *     "files": {                                    path -> sha256 (hex),
 *       "scenarios/invoice.blueprint.json": "9f86...", one line each
 *     },
 *     "format_version": 1,
 *     "patterns": ["*.json"],                       what "extra file" means
 *     "scenarios": [{"file": "...", "name": "..."}],
 *     "source_commit": "8e8f6da3..." | null
 *   }
 *
 * File paths are relative to the manifest's directory, '/'-separated, with
 * no ".", ".." or empty segment, no leading '/', no '"', '\' or control
 * character: a bundle covers the tree below its manifest. Because each file
 * is one line `    "<path>": "<sha256>",` the stock tools check a bundle:
 *   minisign -Vm MANIFEST -p releaser.pub
 *   sed -n 's/^    "\(.*\)": "\([0-9a-f]\{64\}\)",\{0,1\}$/\2  \1/p' MANIFEST | sha256sum -c
 * (run in the manifest's directory).
 *
 * An EXTRA file is a regular file below the manifest's directory whose path
 * (relative to that directory) matches one of the manifest's patterns
 * (bpg_glob_match), that is not listed, is not in a directory or file whose
 * name starts with '.', and is not bundle machinery (*.bundle.json,
 * *.minisig).
 *
 * Ownership: objects returned through `out` are the caller's, freed with
 * their *_free() (accepts NULL); strings and structs returned by getters are
 * borrowed from the object.
 */
#ifndef INCLUDE_bpgate_bundle_h__
#define INCLUDE_bpgate_bundle_h__

#include "common.h"
#include "buf.h"
#include "sign.h"
#include <stdbool.h>

BPG_BEGIN_DECL

#define BPG_BUNDLE_FORMAT_VERSION 1
#define BPG_BUNDLE_MAX_BYTES ((size_t)16 << 20)  /**< largest manifest read */
#define BPG_BUNDLE_MAX_FILES 20000
#define BPG_BUNDLE_FILE_MAX ((size_t)256 << 20) /**< largest file hashed */
#define BPG_BUNDLE_PATH_MAX 1024

typedef struct bpg_bundle bpg_bundle;

typedef struct {
	const char *path;   /**< relative to the manifest's directory */
	const char *sha256; /**< 64 lower-case hex digits */
} bpg_bundle_file;

typedef struct {
	const char *file; /**< a listed path that is a blueprint */
	const char *name; /**< the scenario name in the blueprint ("" when it has none) */
} bpg_bundle_scenario;

typedef struct {
	const char *environment;            /**< required: the target environment, e.g. "prod" */
	const char *creator;                /**< NULL: git's user.name <user.email>, else $USER */
	const char *const *patterns;        /**< NULL: "*.<ext>" of every listed file */
	size_t npatterns;
	long long created;                  /**< Unix time; < 0: $SOURCE_DATE_EPOCH, else now */
	bool no_git;                        /**< do not look for a repository (source_commit null) */
} bpg_bundle_create_opts;
#define BPG_BUNDLE_CREATE_OPTS_INIT { NULL, NULL, NULL, 0, -1, false }

/**
 * Build a manifest for files (paths as given on the command line, relative
 * to the current directory or absolute) to be written at manifest_path:
 * hashes every file, records each path relative to the manifest's
 * directory (refusing a file outside it), the scenario name of each
 * blueprint, and the HEAD commit of the repository around the manifest
 * (libgit2 discovery, GIT_DIR honoured) when there is one.
 */
BPG_EXTERN(int) bpg_bundle_create(bpg_bundle **out, const char *manifest_path, const char *const *files,
	size_t nfiles, const bpg_bundle_create_opts *opts, bpg_error *err);

/** Parse a manifest strictly (unknown keys, bad paths, bad hashes are errors). */
BPG_EXTERN(int) bpg_bundle_parse(bpg_bundle **out, const char *data, size_t len, const char *name,
	bpg_error *err);

/** Append the canonical text of the manifest. */
BPG_EXTERN(int) bpg_bundle_serialize(bpg_buf *out, const bpg_bundle *bundle, bpg_error *err);

BPG_EXTERN(void) bpg_bundle_free(bpg_bundle *bundle);

BPG_EXTERN(const char *) bpg_bundle_environment(const bpg_bundle *bundle);
BPG_EXTERN(const char *) bpg_bundle_source_commit(const bpg_bundle *bundle); /**< NULL when none */
BPG_EXTERN(const char *) bpg_bundle_created(const bpg_bundle *bundle);
BPG_EXTERN(const char *) bpg_bundle_creator(const bpg_bundle *bundle);
BPG_EXTERN(size_t) bpg_bundle_file_count(const bpg_bundle *bundle);
/** Files in path order. */
BPG_EXTERN(const bpg_bundle_file *) bpg_bundle_file_at(const bpg_bundle *bundle, size_t i);
BPG_EXTERN(size_t) bpg_bundle_scenario_count(const bpg_bundle *bundle);
BPG_EXTERN(const bpg_bundle_scenario *) bpg_bundle_scenario_at(const bpg_bundle *bundle, size_t i);
BPG_EXTERN(size_t) bpg_bundle_pattern_count(const bpg_bundle *bundle);
BPG_EXTERN(const char *) bpg_bundle_pattern_at(const bpg_bundle *bundle, size_t i);

/* ---- the files of a tree: a working tree, a git tree, anything -------- */

/**
 * A read-only view of a tree of files, by '/'-separated path relative to
 * its root. read: append the file's bytes to out; BPG_ENOTFOUND when there
 * is no such file. list (optional): call visit(path) for every regular file
 * below dir ("" for the root), paths relative to the root; visit returns
 * < 0 to stop.
 */
typedef int (*bpg_tree_visit_fn)(const char *path, void *visit_payload);
typedef struct {
	int (*read)(bpg_buf *out, const char *path, size_t max, void *payload, bpg_error *err);
	int (*list)(const char *dir, bpg_tree_visit_fn visit, void *visit_payload, void *payload,
		bpg_error *err);
	void *payload;
} bpg_tree;

/** A working tree rooted at root (borrowed string; symbolic links are not followed when listing). */
BPG_EXTERN(void) bpg_tree_workdir(bpg_tree *out, const char *root);

/**
 * A git tree (e.g. a commit's tree) of repo; both borrowed (pass
 * git_repository * and git_tree * as void * so that this header does not
 * need libgit2's). *out must be released with bpg_tree_git_free().
 */
BPG_EXTERN(int) bpg_tree_git(bpg_tree *out, void *repo, const void *tree, bpg_error *err);
BPG_EXTERN(void) bpg_tree_git_free(bpg_tree *tree);

/* ---- the check ---------------------------------------------------------- */

/** A key of the releaser role: its principal and its minisign public key. */
typedef struct {
	const char *principal;
	bpg_minisign_pubkey key;
} bpg_releaser;

typedef enum {
	BPG_BUNDLE_UNSIGNED = 0,  /**< no MANIFEST.minisig */
	BPG_BUNDLE_BAD_SIGNATURE, /**< malformed, or does not verify */
	BPG_BUNDLE_NOT_RELEASER,  /**< signed by a key that is no releaser's */
	BPG_BUNDLE_MALFORMED,     /**< the manifest does not parse */
	BPG_BUNDLE_MISMATCH,      /**< a listed file's SHA-256 differs */
	BPG_BUNDLE_MISSING,       /**< a listed file is absent */
	BPG_BUNDLE_EXTRA,         /**< an unlisted file matches the bundle's patterns */
} bpg_bundle_problem_kind;

typedef struct {
	bpg_bundle_problem_kind kind;
	const char *path;   /**< tree path of the file concerned (the manifest, its .minisig or a listed file) */
	const char *detail; /**< one line: what is wrong and what to do */
} bpg_bundle_problem;

typedef struct bpg_bundle_result bpg_bundle_result;

/**
 * Check a bundle: manifest (its bytes, at manifest_path in tree) and sig
 * (the bytes of manifest_path + ".minisig"; NULL when there is none)
 * against the releasers' keys and the files of tree. Pure apart from the
 * tree callbacks. Every problem is collected (a bad signature does not stop
 * the hash checks). Returns 0 when the check ran (see
 * bpg_bundle_result_ok()), < 0 only when it could not run (a tree read
 * failed other than "not found", out of memory).
 */
BPG_EXTERN(int) bpg_bundle_check(bpg_bundle_result **out, const char *manifest_path,
	const char *manifest, size_t len, const char *sig, size_t siglen,
	const bpg_releaser *releasers, size_t nreleasers, const bpg_tree *tree, bpg_error *err) BPG_MUST_CHECK;

BPG_EXTERN(void) bpg_bundle_result_free(bpg_bundle_result *res);
/** True when signed by a releaser and every file matches. */
BPG_EXTERN(bool) bpg_bundle_result_ok(const bpg_bundle_result *res);
/** The principal whose key made a valid signature, or NULL. */
BPG_EXTERN(const char *) bpg_bundle_result_principal(const bpg_bundle_result *res);
/** The signature's trusted comment when it verified, or NULL. */
BPG_EXTERN(const char *) bpg_bundle_result_trusted_comment(const bpg_bundle_result *res);
/** The parsed manifest, or NULL when it did not parse. */
BPG_EXTERN(const bpg_bundle *) bpg_bundle_result_bundle(const bpg_bundle_result *res);
BPG_EXTERN(size_t) bpg_bundle_result_problem_count(const bpg_bundle_result *res);
BPG_EXTERN(const bpg_bundle_problem *) bpg_bundle_result_problem(const bpg_bundle_result *res, size_t i);
BPG_EXTERN(const char *) bpg_bundle_problem_kind_name(bpg_bundle_problem_kind kind);

/** Is path a bundle manifest by the naming convention (any "*.bundle.json")? */
BPG_EXTERN(bool) bpg_bundle_is_manifest_path(const char *path);

/**
 * Load the releaser keys kept in a governed repository: for each principal,
 * the minisign public key file `<dir>/<principal>.pub` read from tree
 * (dir is usually ".bpgate/keys"). A principal without a key file is
 * skipped; a key file that does not parse is an error naming it.
 * *out is malloc'd (free() it; principals are borrowed from the input).
 */
BPG_EXTERN(int) bpg_releasers_load(bpg_releaser **out, size_t *nout, const bpg_tree *tree,
	const char *dir, const char *const *principals, size_t nprincipals, bpg_error *err);

BPG_END_DECL

#endif
