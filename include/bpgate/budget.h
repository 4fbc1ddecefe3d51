/*
 * bpgate — the budget of one judgement: wall-clock time and memory.
 *
 * A push can be built to make judging it expensive (many files, many
 * modules, many findings). The size limits bound each input; the budget
 * bounds the whole judgement: gathering, the server's facts and the
 * evaluation check it at defined points (before each changed file's content
 * is read, before each block of commits, before each rule, every
 * BPG_BUDGET_EVERY findings) and stop with BPG_ETOOBIG and a message that
 * names the limit. The front end refuses the change.
 *
 * Time is CLOCK_MONOTONIC from bpg_budget_new(). A budget of 0 seconds is
 * spent before the first check: every check refuses (deterministic, used by
 * the tests). Memory is the process's peak resident set (getrusage
 * ru_maxrss): it counts everything the judgement holds (libgit2's objects,
 * jansson's facts, the scanner), works under sanitizers, where RLIMIT_AS
 * cannot (ASan reserves terabytes of address space up front), and needs no
 * allocator interposed in the libraries. It is read at the first check, then
 * at most once per millisecond (a getrusage() per check cost ~2 % of a large
 * push), and at the final check of a judgement (bpg_budget_check_final) in any
 * case; once over, every check refuses. Being checked at points, it
 * can be passed by at most the steps of one millisecond; each step is bounded
 * by the size limits (BPG_GATHER_MAX_BLOB per object read, ...). 0 memory means no
 * memory limit only when max_memory is BPG_BUDGET_UNLIMITED (SIZE_MAX).
 *
 * Ownership: bpg_budget_new() gives the caller a budget (bpg_budget_free).
 * Checks only read it and may run on several threads at once.
 */
#ifndef INCLUDE_bpgate_budget_h__
#define INCLUDE_bpgate_budget_h__

#include "common.h"
#include <stdbool.h>

BPG_BEGIN_DECL

#define BPG_BUDGET_UNLIMITED ((size_t)-1)
/** Defaults of the front ends (bpgate.maxJudgeSeconds, bpgate.maxJudgeMemory). */
#define BPG_BUDGET_DEFAULT_SECONDS 600u
#define BPG_BUDGET_DEFAULT_MEMORY ((size_t)2 << 30)
/** The evaluation checks the budget every this many findings. */
#define BPG_BUDGET_EVERY 1024

typedef struct bpg_budget bpg_budget;

typedef struct {
	unsigned max_seconds;      /**< wall clock from bpg_budget_new(); 0 = spent at once */
	size_t max_memory;         /**< peak resident bytes; BPG_BUDGET_UNLIMITED = none */
	const char *seconds_name;  /**< how the user sets it, for messages ("bpgate.maxJudgeSeconds") */
	const char *memory_name;   /**< ("bpgate.maxJudgeMemory") */
} bpg_budget_opts;

/** Start a budget now. Names are copied. */
BPG_EXTERN(int) bpg_budget_new(bpg_budget **out, const bpg_budget_opts *opts, bpg_error *err);
BPG_EXTERN(void) bpg_budget_free(bpg_budget *b);

/** 0 while within the budget (or b is NULL); else BPG_ETOOBIG with a message
 * naming the limit that was passed. */
BPG_EXTERN(int) bpg_budget_check(const bpg_budget *b, bpg_error *err);
/** The last check of a judgement: the same, reading the memory peak whenever it was last read. */
BPG_EXTERN(int) bpg_budget_check_final(const bpg_budget *b, bpg_error *err);
/** Like bpg_budget_check without a message. */
BPG_EXTERN(bool) bpg_budget_exceeded(const bpg_budget *b);
/** How many times the budget was checked (for tests: the points are defined). */
BPG_EXTERN(unsigned long) bpg_budget_checks(const bpg_budget *b);

/**
 * Parse a size as git config writes it ("512m", "2g", "1048576"; k, m, g
 * suffixes are powers of 1024). BPG_EINVALID on anything else or overflow.
 */
BPG_EXTERN(int) bpg_budget_parse_size(size_t *out, const char *s, bpg_error *err);

BPG_END_DECL

#endif
