/*
 * Evaluation: run every rule of the registry over the facts, collect
 * findings, sort them into a deterministic order and decide. Pure: no I/O,
 * no clock, no globals written (on large facts the rules run on two threads,
 * see eval_parallel, with the same decision).
 */
#include "engine.h"
#include "bpgate/report.h"
#include "bpgate/testhook.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	bpg_finding f;
	size_t rule_index;
	size_t seq;
} finding_slot;

struct bpg_decision {
	finding_slot *v;
	size_t n, cap;
	bpg_mode *modes;        /* per registry rule */
	size_t *counts;         /* findings per registry rule */
	size_t sev[3];
	bool refused;
	bool overflow;          /* a rule reached BPG_FINDINGS_MAX */
	bool server;            /* facts of a push judged on the server (context pre-receive) */
	json_t *facts;          /* the facts judged (a reference): where SARIF shows findings without a file */
	size_t steps;           /* bpg_ev_count */
	/* a rule's findings while rules run on two threads (eval_pool): counted
	 * against the limit with every other rule's */
	atomic_size_t *shared_total;
};

struct bpg_eval {
	const bpg_policy *policy;
	const json_t *facts;
	bpg_decision *d;
	size_t rule;
	const bpg_budget *budget; /* or NULL */
};

const char *bpg_severity_name(bpg_severity s)
{
	return s == BPG_SEV_ERROR ? "error" : s == BPG_SEV_WARNING ? "warning" : "info";
}

const char *bpg_mode_name(bpg_mode m)
{
	return m == BPG_MODE_ENFORCE ? "enforce" : m == BPG_MODE_WARN ? "warn" : "off";
}

const char *bpg_rule_outcome_name(bpg_rule_outcome o)
{
	static const char *n[] = { "pass", "fail", "warn", "note", "off", "server-only" };
	return o <= BPG_RULE_SERVER_ONLY ? n[o] : "?";
}

const bpg_policy *bpg_ev_policy(const bpg_eval *ev) { return ev->policy; }
const json_t *bpg_ev_facts(const bpg_eval *ev) { return ev->facts; }

const json_t *bpg_ev_param(const bpg_eval *ev, const char *name)
{
	return json_object_get(ev->policy->rules[ev->rule].params, name);
}

const char *bpg_ev_param_str(const bpg_eval *ev, const char *name)
{
	return json_string_value(bpg_ev_param(ev, name));
}

bool bpg_ev_param_bool(const bpg_eval *ev, const char *name)
{
	return json_is_true(bpg_ev_param(ev, name));
}

void bpg_ev_count(bpg_eval *ev, size_t n) { ev->d->steps += n; }
size_t bpg_decision_steps(const bpg_decision *d) { return d->steps; }

const char *bpg_ev_now(const bpg_eval *ev)
{
	const char *t = bpg_jstr(ev->facts, "time");
	return t ? t : "";
}

static char *sdup(const char *s)
{
	return s ? bpg_strdup(s) : NULL;
}

static char *safe_dup(const char *s)
{
	bpg_buf b = BPG_BUF_INIT;
	if (!s)
		return NULL;
	if (bpg_safe_put(&b, s, strlen(s), 2048) < 0 || (!b.ptr && bpg_buf_puts(&b, "") < 0)) {
		bpg_buf_dispose(&b);
		return NULL;
	}
	return bpg_buf_detach(&b);
}

int bpg_ev_emit(bpg_eval *ev, bpg_severity sev, const bpg_where *w, const char *fix,
	const char *fmt, ...)
{
	bpg_decision *d = ev->d;
	char msg[2048];
	finding_slot *s;
	va_list ap;

	/* Never drop a finding: the one dropped could be the blocking one. The
	 * whole decision is refused instead (bpg_evaluate). */
	if (d->shared_total ? atomic_fetch_add(d->shared_total, 1) >= BPG_FINDINGS_MAX : d->n >= BPG_FINDINGS_MAX) {
		d->overflow = true;
		return BPG_ETOOBIG;
	}
	/* the judgement's budget, every BPG_BUDGET_EVERY findings */
	if (ev->budget && d->n && d->n % BPG_BUDGET_EVERY == 0 && bpg_budget_exceeded(ev->budget))
		return BPG_ETOOBIG;
	if (!(s = bpg_array_grow(d->v, &d->cap, d->n + 1, sizeof(*s), 16)))
		return BPG_ENOMEM;
	d->v = s;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s = &d->v[d->n];
	memset(s, 0, sizeof(*s));
	s->rule_index = ev->rule;
	s->seq = d->n;
	s->f.rule = bpg_rule_table[ev->rule]->info.id;
	s->f.severity = sev;
	s->f.mode = ev->policy->rules[ev->rule].mode;
	s->f.blocking = sev == BPG_SEV_ERROR && s->f.mode == BPG_MODE_ENFORCE;
	s->f.message = safe_dup(msg);
	s->f.fix = sdup(fix);
	if (w) {
		s->f.file = sdup(w->file);
		s->f.pointer = sdup(w->pointer);
		s->f.commit = sdup(w->commit);
		s->f.ref = sdup(w->ref);
		s->f.line = w->line;
		s->f.column = w->column;
	}
	d->n++;
	if (!s->f.message || (fix && !s->f.fix) || (w && ((w->file && !s->f.file) ||
	    (w->pointer && !s->f.pointer) || (w->commit && !s->f.commit) || (w->ref && !s->f.ref))))
		return BPG_ENOMEM;
	return 0;
}

/* Where a finding without a file is shown in SARIF: its commit's first
 * changed file, else the change's first file (NULL when there is none).
 * Read from the facts the decision keeps a reference to (no allocation). */
const char *bpg_decision_anchor(const bpg_decision *d, const char *commit)
{
	size_t i;
	json_t *c;

	if (commit)
		json_array_foreach(json_object_get(d->facts, "commits"), i, c) {
			const char *id = json_string_value(json_object_get(c, "id"));
			const char *p = json_string_value(json_array_get(json_object_get(c, "paths"), 0));
			if (id && p && strcmp(id, commit) == 0)
				return p;
		}
	return json_string_value(json_object_get(json_array_get(json_object_get(d->facts, "files"), 0), "path"));
}

static void free_finding_strings(bpg_finding *f)
{
	free((char *)f->message);
	free((char *)f->fix);
	free((char *)f->file);
	free((char *)f->pointer);
	free((char *)f->commit);
	free((char *)f->ref);
}

void bpg_decision_free(bpg_decision *d)
{
	if (!d)
		return;
	json_decref(d->facts);
	for (size_t i = 0; i < d->n; i++)
		free_finding_strings(&d->v[i].f);
	free(d->v);
	free(d->modes);
	free(d->counts);
	free(d);
}

static int cmp_opt(const char *a, const char *b)
{
	if (!a || !b)
		return a ? 1 : b ? -1 : 0; /* absent first: change-level findings lead */
	return strcmp(a, b);
}

/* JSON pointers compare token by token, numbers by value ("/flow/2" < "/flow/10"). */
static int cmp_pointer(const char *a, const char *b)
{
	if (!a || !b)
		return cmp_opt(a, b);
	while (*a && *b) {
		if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
			size_t la = strspn(a, "0123456789"), lb = strspn(b, "0123456789");
			if (la != lb)
				return la < lb ? -1 : 1;
			int c = strncmp(a, b, la);
			if (c)
				return c;
			a += la, b += lb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++, b++;
	}
	return *a ? 1 : *b ? -1 : 0;
}

static int cmp_finding(const void *x, const void *y)
{
	const finding_slot *a = x, *b = y;
	int c;
	if ((c = cmp_opt(a->f.file, b->f.file)))
		return c;
	if (a->rule_index != b->rule_index)
		return a->rule_index < b->rule_index ? -1 : 1;
	if ((c = cmp_pointer(a->f.pointer, b->f.pointer)) || (c = cmp_opt(a->f.commit, b->f.commit)) ||
	    (c = cmp_opt(a->f.ref, b->f.ref)) || (c = strcmp(a->f.message, b->f.message)))
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * Rules on two threads, for large facts: after the walk through a large push
 * this is the gate's longest stretch on one core (~30 ms for 2,000 commits).
 * Rules only read the facts and the policy. The two threads take rules in
 * turn; each rule's findings go to a decision of their own, and are then
 * taken in rule order, numbered as one thread would have numbered them: the
 * decision is the same, finding for finding. Errors are taken in rule order
 * too: the first rule that failed is the one reported, as one thread would.
 * A change with too many findings is judged again on one thread, which names
 * the rule that reached the limit as it always did.
 */
#define EVAL_THREAD_MIN 256 /* commits and files together; fewer: one thread */

typedef struct {
	const bpg_policy *policy;
	const json_t *facts;
	const bpg_budget *budget;
	atomic_size_t next, total;
	bpg_decision **frag; /* per rule, NULL until it ran */
	int *rc;             /* per rule */
	bool *out_of_budget; /* per rule: the budget ran out before it */
} eval_pool;

static void pool_work(eval_pool *p)
{
	size_t i;
	bpg_error berr;

	while ((i = atomic_fetch_add(&p->next, 1)) < bpg_rule_table_len) {
		bpg_decision *f;
		if (p->policy->rules[i].mode == BPG_MODE_OFF)
			continue;
		if (bpg_budget_check(p->budget, &berr) < 0) {
			p->out_of_budget[i] = true;
			continue;
		}
		if (!(f = bpg_calloc(1, sizeof(*f)))) {
			p->rc[i] = BPG_ENOMEM;
			continue;
		}
		f->shared_total = &p->total;
		p->frag[i] = f;
		bpg_eval ev = { p->policy, p->facts, f, i, p->budget };
		p->rc[i] = bpg_rule_table[i]->eval(&ev);
	}
}

static void *pool_thread(void *arg)
{
	pool_work(arg);
	return NULL;
}

/* Run the rules on two threads and take their findings into d in rule
 * order. 1: too many findings (the caller judges again on one thread). */
static int eval_parallel(bpg_decision *d, const bpg_policy *policy, const json_t *facts, const bpg_budget *budget,
	bpg_error *err)
{
	eval_pool p = { .policy = policy, .facts = facts, .budget = budget };
	pthread_t t;
	bool threaded;
	size_t i;
	int rc = 0;

	atomic_init(&p.next, 0);
	atomic_init(&p.total, 0);
	p.frag = bpg_calloc(bpg_rule_table_len, sizeof(*p.frag));
	p.rc = bpg_calloc(bpg_rule_table_len, sizeof(*p.rc));
	p.out_of_budget = bpg_calloc(bpg_rule_table_len, sizeof(*p.out_of_budget));
	if (!p.frag || !p.rc || !p.out_of_budget) {
		rc = BPG_ENOMEM;
		goto done;
	}
	threaded = pthread_create(&t, NULL, pool_thread, &p) == 0; /* else this thread does all */
	pool_work(&p);
	if (threaded)
		pthread_join(t, NULL);
	for (i = 0; i < bpg_rule_table_len; i++)
		if (p.frag[i] && p.frag[i]->overflow) {
			rc = 1;
			goto done;
		}
	for (i = 0; i < bpg_rule_table_len; i++) {
		bpg_decision *f = p.frag[i];
		if (policy->rules[i].mode == BPG_MODE_OFF)
			continue;
		if (p.out_of_budget[i]) {
			if ((rc = bpg_budget_check(budget, err)) == 0) /* the budget only ever runs out further */
				rc = bpg_error_set(err, BPG_ETOOBIG, "the judgement ran out of its budget");
			goto done;
		}
		if (p.rc[i] < 0) {
			if (p.rc[i] == BPG_ETOOBIG && (rc = bpg_budget_check(budget, err)) < 0)
				goto done; /* err names the limit */
			rc = bpg_error_set(err, p.rc[i], "rule %s could not be evaluated", bpg_rule_table[i]->info.id);
			goto done;
		}
		if (f->n) {
			finding_slot *v = bpg_array_grow(d->v, &d->cap, d->n + f->n, sizeof(*v), 16);
			if (!v) {
				rc = BPG_ENOMEM;
				goto done;
			}
			d->v = v;
		}
		for (size_t k = 0; k < f->n; k++) {
			d->v[d->n] = f->v[k]; /* the strings move with it */
			d->v[d->n].seq = d->n;
			d->n++;
		}
		f->n = 0;
		d->steps += f->steps;
	}
done:
	for (i = 0; p.frag && i < bpg_rule_table_len; i++)
		bpg_decision_free(p.frag[i]);
	free(p.frag);
	free(p.rc);
	free(p.out_of_budget);
	return rc;
}

static bool eval_threaded(const json_t *facts)
{
	size_t n = json_array_size(json_object_get(facts, "commits")) + json_array_size(json_object_get(facts, "files"));
	/* test builds: BPGATE_TEST_FLAGS=eval-threads or eval-serial, to compare the two */
	if (bpg_test_flag("eval-serial"))
		return false;
	return n >= EVAL_THREAD_MIN || bpg_test_flag("eval-threads");
}

int bpg_evaluate(bpg_decision **out, const bpg_policy *policy, const json_t *facts, bpg_error *err)
{
	return bpg_evaluate_budget(out, policy, facts, NULL, err);
}

int bpg_evaluate_budget(bpg_decision **out, const bpg_policy *policy, const json_t *facts,
	const bpg_budget *budget, bpg_error *err)
{
	return bpg_evaluate_checked(out, policy, facts, budget, NULL, 0, err);
}

int bpg_evaluate_checked(bpg_decision **out, const bpg_policy *policy, const json_t *facts,
	const bpg_budget *budget, const bpg_prechecked *pre, size_t npre, bpg_error *err)
{
	bpg_decision *d = NULL;
	bpg_eval ev;
	int rc;

	*out = NULL;
	if ((rc = bpg_budget_check(budget, err)) < 0)
		return rc;
	if ((rc = bpg_facts_check(facts, pre, npre, err)) < 0)
		return rc;
	if (!(d = bpg_calloc(1, sizeof(*d))) || !(d->modes = bpg_calloc(bpg_rule_table_len, sizeof(*d->modes))) ||
	    !(d->counts = bpg_calloc(bpg_rule_table_len, sizeof(*d->counts)))) {
		rc = BPG_ENOMEM;
		goto done;
	}
	ev.policy = policy;
	ev.facts = facts;
	ev.d = d;
	d->facts = json_incref((json_t *)facts);
	d->server = json_string_value(json_object_get(facts, "context")) &&
		strcmp(json_string_value(json_object_get(facts, "context")), "pre-receive") == 0;
	ev.budget = budget;
	for (size_t i = 0; i < bpg_rule_table_len; i++)
		d->modes[i] = policy->rules[i].mode;
	if (eval_threaded(facts) && (rc = eval_parallel(d, policy, facts, budget, err)) <= 0) {
		if (rc < 0)
			goto done;
	} else {
		/* one thread (also: too many findings, judged again here; eval_parallel
		 * found that before taking any finding into d) */
		for (size_t i = 0; i < bpg_rule_table_len; i++) {
			if (d->modes[i] == BPG_MODE_OFF)
				continue;
			ev.rule = i;
			if ((rc = bpg_budget_check(budget, err)) < 0)
				goto done;
			rc = bpg_rule_table[i]->eval(&ev);
			/* checked whatever the rule returned: a rule that ignores an emit
			 * error still cannot have a finding dropped */
			if (d->overflow) {
				rc = bpg_error_set(err, BPG_ETOOBIG, "too many findings to judge: rule %s reached the "
					"limit of %d findings per decision, so the whole change is refused; fix the "
					"findings or split the change", bpg_rule_table[i]->info.id, BPG_FINDINGS_MAX);
				goto done;
			}
			if (rc < 0) {
				if (rc == BPG_ETOOBIG && bpg_budget_check(budget, err) < 0)
					goto done; /* err names the limit */
				bpg_error_set(err, rc, "rule %s could not be evaluated", bpg_rule_table[i]->info.id);
				goto done;
			}
		}
	}
	if ((rc = bpg_budget_check_final(budget, err)) < 0) /* the peak read now, however recently read */
		goto done;
	if (d->n > 1)
		qsort(d->v, d->n, sizeof(*d->v), cmp_finding);
	for (size_t i = 0; i < d->n; i++) {
		d->counts[d->v[i].rule_index]++;
		d->sev[d->v[i].f.severity]++;
		if (d->v[i].f.blocking)
			d->refused = true;
	}
	*out = d;
	d = NULL;
done:
	if (rc == BPG_ENOMEM)
		bpg_error_set(err, rc, "out of memory while evaluating the policy");
	bpg_decision_free(d);
	return rc;
}

bool bpg_decision_refused(const bpg_decision *d) { return d->refused; }

size_t bpg_decision_count(const bpg_decision *d, bpg_severity s)
{
	return (unsigned)s < 3 ? d->sev[s] : 0;
}

size_t bpg_decision_finding_count(const bpg_decision *d) { return d->n; }

const bpg_finding *bpg_decision_finding(const bpg_decision *d, size_t i)
{
	return i < d->n ? &d->v[i].f : NULL;
}

bpg_rule_outcome bpg_decision_rule_outcome(const bpg_decision *d, size_t i, size_t *nfindings)
{
	bpg_rule_outcome o = BPG_RULE_PASS;
	size_t n = 0;

	if (i >= bpg_rule_table_len)
		return BPG_RULE_OFF;
	if (d->modes[i] == BPG_MODE_OFF)
		o = BPG_RULE_OFF;
	else if (!d->server && bpg_rule_server_only(i) && d->counts[i] == 0)
		o = BPG_RULE_SERVER_ONLY;
	for (size_t k = 0; o != BPG_RULE_OFF && k < d->n; k++) {
		const finding_slot *s = &d->v[k];
		if (s->rule_index != i)
			continue;
		n++;
		if (s->f.blocking)
			o = BPG_RULE_FAIL;
		else if (s->f.severity != BPG_SEV_INFO && o != BPG_RULE_FAIL)
			o = BPG_RULE_WARN;
		else if (o == BPG_RULE_PASS)
			o = BPG_RULE_NOTE;
	}
	if (nfindings)
		*nfindings = n;
	return o;
}

size_t bpg_rule_count(void) { return bpg_rule_table_len; }

const bpg_rule_info *bpg_rule_get(size_t i)
{
	return i < bpg_rule_table_len ? &bpg_rule_table[i]->info : NULL;
}

int bpg_rule_index(const char *id)
{
	for (size_t i = 0; i < bpg_rule_table_len; i++)
		if (strcmp(bpg_rule_table[i]->info.id, id) == 0)
			return (int)i;
	return -1;
}
