/*
 * The rule registry: evaluation order and the ids policy files name.
 * To add a rule: write policy/engine/rule_<x>.c defining a bpg_rule_def,
 * declare it below and add one row to the table (and the file to meson.build).
 */
#include "engine.h"

extern const bpg_rule_def bpg_rule_blueprint_parses, bpg_rule_catalogued, bpg_rule_change_template,
	bpg_rule_scan_findings, bpg_rule_writeback_dlq, bpg_rule_writeback_errors, bpg_rule_confidential,
	bpg_rule_connections, bpg_rule_data_contract, bpg_rule_bundle_signed, bpg_rule_high_risk,
	bpg_rule_schema_drift;
/* server rules (rules_server_*.c; judge pushes in context pre-receive only) */
extern const bpg_rule_def bpg_rule_protected_branch, bpg_rule_server_refs, bpg_rule_promotion, bpg_rule_rollback,
	bpg_rule_first_parent_history,
	bpg_rule_break_glass, bpg_rule_break_glass_overdue, bpg_rule_approvals, bpg_rule_policy_change,
	bpg_rule_segregation, bpg_rule_change_window, bpg_rule_signed_push, bpg_rule_uat_evidence,
	bpg_rule_stage_health;

const bpg_rule_def *const bpg_rule_table[] = {
	&bpg_rule_blueprint_parses,
	&bpg_rule_catalogued,
	&bpg_rule_change_template,
	&bpg_rule_scan_findings,
	&bpg_rule_writeback_dlq,
	&bpg_rule_writeback_errors,
	&bpg_rule_confidential,
	&bpg_rule_connections,
	&bpg_rule_data_contract,
	&bpg_rule_bundle_signed,
	&bpg_rule_high_risk,
	&bpg_rule_schema_drift,
	&bpg_rule_protected_branch,
	&bpg_rule_server_refs,
	&bpg_rule_promotion,
	&bpg_rule_rollback,
	&bpg_rule_first_parent_history,
	&bpg_rule_break_glass,
	&bpg_rule_break_glass_overdue,
	&bpg_rule_approvals,
	&bpg_rule_policy_change,
	&bpg_rule_segregation,
	&bpg_rule_change_window,
	&bpg_rule_signed_push,
	&bpg_rule_uat_evidence,
	&bpg_rule_stage_health,
};

const size_t bpg_rule_table_len = sizeof(bpg_rule_table) / sizeof(bpg_rule_table[0]);

bool bpg_rule_server_only(size_t i)
{
	static const bpg_rule_def *const server[] = { &bpg_rule_protected_branch, &bpg_rule_server_refs,
		&bpg_rule_promotion, &bpg_rule_rollback, &bpg_rule_first_parent_history, &bpg_rule_break_glass,
		&bpg_rule_break_glass_overdue, &bpg_rule_approvals, &bpg_rule_policy_change, &bpg_rule_segregation,
		&bpg_rule_change_window, &bpg_rule_signed_push, &bpg_rule_uat_evidence, &bpg_rule_stage_health };
	if (i >= bpg_rule_table_len)
		return false;
	for (size_t k = 0; k < sizeof(server) / sizeof(server[0]); k++)
		if (bpg_rule_table[i] == server[k])
			return true;
	return false;
}
