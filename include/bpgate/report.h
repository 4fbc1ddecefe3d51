/*
 * bpgate — rendering a decision: terminal text, JSON, SARIF 2.1.0.
 *
 * All renderers append to a caller-owned bpg_buf. Strings from the facts
 * (paths, messages, ref names) are escaped: text output never carries raw
 * control bytes; JSON and SARIF are built with jansson.
 */
#ifndef INCLUDE_bpgate_report_h__
#define INCLUDE_bpgate_report_h__

#include "common.h"
#include "buf.h"
#include "policy.h"
#include <stdbool.h>
#include <jansson.h>

BPG_BEGIN_DECL

/** Text reports of more findings than this are grouped by rule: a header
 * with the counts, one line per finding, each distinct fix once. */
#define BPG_REPORT_GROUP_MIN 20

/** SARIF: where a finding without a file of its own is shown — its
 * commit's first changed file, else the change's first file; NULL when the
 * change has no file (then the policy file is named). Read from the facts,
 * which a decision keeps a reference to (json_incref) until bpg_decision_free. */
BPG_EXTERN(const char *) bpg_decision_anchor(const bpg_decision *d, const char *commit);

typedef struct {
	bool color;     /**< SGR colour codes (only when the caller saw a tty and no NO_COLOR) */
	bool by_rule;   /**< `explain` layout: every rule with its outcome, then its findings */
	bool show_info; /**< list info findings in text (they are always in JSON/SARIF) */
} bpg_report_options;

#define BPG_REPORT_OPTIONS_INIT { false, false, true }

/** Short text: one block per finding (where, rule, message, fix) and a summary line. */
BPG_EXTERN(int) bpg_report_text(bpg_buf *out, const bpg_decision *d,
	const bpg_report_options *opts, bpg_error *err);

/**
 * JSON: {"decision":"accept"|"refuse","errors":N,"warnings":N,"infos":N,
 * "findings":[...],"rules":[{"id","mode","outcome","findings"}]} (new reference).
 */
BPG_EXTERN(int) bpg_decision_to_json(json_t **out, const bpg_decision *d, bpg_error *err);
/** SARIF 2.1.0 log with one run of tool "bpgate" (new reference). */
BPG_EXTERN(int) bpg_decision_to_sarif(json_t **out, const bpg_decision *d, bpg_error *err);

/** Serialise either of the above, indented, with a final newline. */
BPG_EXTERN(int) bpg_report_json(bpg_buf *out, const bpg_decision *d, bool sarif, bpg_error *err);

BPG_END_DECL

#endif
