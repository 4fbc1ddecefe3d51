/*
 * Checking the shape of a large facts document ahead, on a thread of its own,
 * while the caller gathers the rest (bpg_facts_precheck_start in policy.h).
 *
 * On the 2,000-commit push the check of "commits" and "files" takes about as
 * long as the server's own facts that the gate gathers after them; the two
 * ran one after the other, both before the rules. The findings are those of
 * checking in place, in the same order (schema.c splices them where the
 * member is met), so the decision and its error message do not change.
 */
#include "engine.h"
#include "bpgate/testhook.h"

#include <pthread.h>
#include <stdlib.h>

/* Fewer commits and files than this: checked in place (a thread costs more). */
#define PRECHECK_THREAD_MIN 256

static const char *const members[] = { "commits", "files" };
static const char *const pointers[] = { "/commits", "/files" };
#define NMEMBERS (sizeof(members) / sizeof(members[0]))

struct bpg_facts_precheck {
	json_t *value[NMEMBERS];     /* a reference on each member checked ahead (NULL: not) */
	size_t size[NMEMBERS];       /* its entries when the check started */
	bpg_diags *diags[NMEMBERS];  /* what checking it found */
	int rc;                      /* the thread's: < 0 when it ran out of memory */
	pthread_t thread;
	bool running;
};

static void *precheck_thread(void *arg)
{
	bpg_facts_precheck *pc = arg;

	for (size_t i = 0; i < NMEMBERS && pc->rc == 0; i++) {
		bpg_buf ptr = BPG_BUF_INIT;
		bpg_vctx vc = { pc->diags[i], "facts", NULL, 0, NULL, NULL, 0 };
		if (!pc->value[i])
			continue;
		if ((pc->rc = bpg_buf_puts(&ptr, pointers[i])) == 0)
			pc->rc = bpg_schema_check(&vc, pc->value[i], bpg_facts_member_schema(members[i]), &ptr);
		bpg_buf_dispose(&ptr);
	}
	return NULL;
}

int bpg_facts_precheck_start(bpg_facts_precheck **out, const json_t *facts, bpg_error *err)
{
	bpg_facts_precheck *pc;
	size_t n = 0;

	*out = NULL;
	if (!(pc = bpg_calloc(1, sizeof(*pc))))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	for (size_t i = 0; i < NMEMBERS; i++)
		n += json_array_size(json_object_get(facts, members[i]));
	/* test builds: BPGATE_TEST_FLAGS=precheck-threads checks small facts ahead too */
	if (!json_is_object(facts) || (n < PRECHECK_THREAD_MIN && !bpg_test_flag("precheck-threads")))
		goto done; /* nothing ahead: bpg_evaluate_prechecked checks it all in place */
	for (size_t i = 0; i < NMEMBERS; i++) {
		json_t *v = json_object_get(facts, members[i]);
		if (!v)
			continue;
		if (bpg_diags_new(&pc->diags[i]) < 0) {
			bpg_facts_precheck_free(pc);
			return bpg_error_set(err, BPG_ENOMEM, "out of memory");
		}
		pc->value[i] = json_incref(v); /* the member may be replaced meanwhile, never freed */
		pc->size[i] = json_array_size(v);
	}
	/* without a thread, nothing is checked ahead (the members are checked in place) */
	if (pthread_create(&pc->thread, NULL, precheck_thread, pc) == 0) {
		pc->running = true;
	} else {
		for (size_t i = 0; i < NMEMBERS; i++) {
			json_decref(pc->value[i]);
			pc->value[i] = NULL;
		}
	}
done:
	*out = pc;
	return 0;
}

/* Wait for the thread; what it checked, as bpg_facts_check takes it. Nothing when the
 * thread ran out of memory: checking in place then fails (or not) exactly as it would
 * have. A member whose number of entries changed since (against the contract: a gatherer
 * added to it) is not taken either, so it is checked in place. */
static void precheck_finish(bpg_prechecked *pre, size_t *npre, bpg_facts_precheck *pc)
{
	*npre = 0;
	if (!pc)
		return;
	if (pc->running) {
		pthread_join(pc->thread, NULL);
		pc->running = false;
	}
	if (pc->rc < 0)
		return;
	for (size_t i = 0; i < NMEMBERS; i++)
		if (pc->value[i] && json_array_size(pc->value[i]) == pc->size[i])
			pre[(*npre)++] = (bpg_prechecked){ pointers[i], pc->value[i], pc->diags[i] };
}

int bpg_evaluate_prechecked(bpg_decision **out, const bpg_policy *policy, const json_t *facts,
	const bpg_budget *budget, bpg_facts_precheck *pc, bpg_error *err)
{
	bpg_prechecked pre[NMEMBERS];
	size_t npre;

	*out = NULL;
	precheck_finish(pre, &npre, pc);
	return bpg_evaluate_checked(out, policy, facts, budget, pre, npre, err);
}

void bpg_facts_precheck_free(bpg_facts_precheck *pc)
{
	if (!pc)
		return;
	if (pc->running)
		pthread_join(pc->thread, NULL);
	for (size_t i = 0; i < NMEMBERS; i++) {
		json_decref(pc->value[i]);
		bpg_diags_free(pc->diags[i]);
	}
	free(pc);
}
