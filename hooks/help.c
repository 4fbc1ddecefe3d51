/*
 * `bpgate <command> [<subcommand>] --help`: the usage and every option of each command
 * and subcommand, on stdout. The dispatcher (bpgate.c) asks here before it runs a command,
 * so `--help` never runs a command (nor needs a repository). A command with subcommands
 * lists them under "subcommands:" (tests/e2e/cli_help.sh reads that list to ask each of
 * them for its own --help). Keep the options here in step with the command's parser.
 */
#include "cli.h"

#include <string.h>

typedef struct {
	const char *command;
	const char *sub; /* NULL: the command itself */
	const char *text; /* after "usage: " */
} help_entry;

#define FMT_OPT "  --format FORMAT      output format: "
#define LOG_OPTS \
	"  --log DIR            the log directory (default $BPGATE_AUDIT_DIR, else ./bpgate-audit)\n" \
	"  --key VKEY           the log's verification key (default DIR/log.vkey)\n" \
	"  --state DIR          where this verifier keeps the newest checkpoint it saw\n" \
	"                       (default $BPGATE_AUDIT_STATE, $XDG_STATE_HOME/bpgate/audit)\n" \
	"  --witness FILE       also check against the checkpoints in FILE (repeatable, at most 64)\n"

static const help_entry entries[] = {
	{ "blueprint", NULL,
		"bpgate blueprint <subcommand>\n"
		"Show the model bpgate reads from an exported Make.com blueprint.\n\n"
		"subcommands:\n"
		"  show FILE [--format text|json]   modules, routes, connections, webhooks, settings\n" },
	{ "blueprint", "show",
		"bpgate blueprint show FILE [--format text|json]\n"
		"Parse FILE (an exported blueprint) and print its model.\n\n"
		"options:\n"
		FMT_OPT "text (default) or json\n"
		"  -h, --help           this help\n" },
	{ "diff", NULL,
		"bpgate diff OLD NEW [--format text|json]\n"
		"       bpgate diff --setup [--global]\n"
		"Semantic diff of two blueprints, keyed by module id; or make `git diff` use it.\n\n"
		"options:\n"
		FMT_OPT "text (default) or json\n"
		"  --setup              configure git's diff driver for *.blueprint.json in this repository\n"
		"  --global             with --setup: in the global git configuration instead\n"
		"  -h, --help           this help\n" },
	{ "scan", NULL,
		"bpgate scan [--format text|json|sarif] [--ignore FILE] [--strict] PATH...\n"
		"Scan files for personal data and secrets. PATH: a file, a directory (walked) or - for stdin.\n\n"
		"options:\n"
		FMT_OPT "text (default), json or sarif\n"
		"  --ignore FILE        accepted fingerprints (default: .bpgate/ignore when it exists)\n"
		"  --strict             synthetic findings (known test values) fail too\n"
		"  -h, --help           this help\n" },
	{ "keygen", NULL,
		"bpgate keygen [-W] [-f] [-c COMMENT] [--passphrase-fd N] -p PUBKEY -s SECKEY\n"
		"       bpgate keygen -R -s SECKEY -p PUBKEY\n"
		"Create a minisign-compatible Ed25519 key pair.\n\n"
		"options:\n"
		"  -p PUBKEY            where to write the public key\n"
		"  -s SECKEY            where to write the secret key\n"
		"  -W                   no passphrase (the secret key is not encrypted)\n"
		"  -f                   overwrite existing files\n"
		"  -c COMMENT           the untrusted comment of the secret key\n"
		"  --passphrase-fd N    read the passphrase from file descriptor N (scripts)\n"
		"  -R                   recreate PUBKEY from SECKEY (which may be an OpenSSH ed25519 key)\n"
		"  -h, --help           this help\n" },
	{ "sign", NULL,
		"bpgate sign [-l] [-x SIGFILE] [-t TRUSTED_COMMENT] [-c UNTRUSTED_COMMENT] [--passphrase-fd N] "
		"-s SECKEY -m FILE\n"
		"Sign FILE in minisign's format (prehashed unless -l).\n\n"
		"options:\n"
		"  -s SECKEY            the secret key (minisign, or an OpenSSH ed25519 key)\n"
		"  -m FILE              the file to sign\n"
		"  -x SIGFILE           the signature file (default FILE.minisig)\n"
		"  -t TRUSTED_COMMENT   the signed comment (default timestamp:<unix>\\tfile:<name>\\thashed)\n"
		"  -c UNTRUSTED_COMMENT the comment line that is not signed\n"
		"  -l                   legacy signature over the raw file (signify can verify it)\n"
		"  -W                   accepted for minisign compatibility (unencrypted keys are detected)\n"
		"  --passphrase-fd N    read the passphrase from file descriptor N\n"
		"  -h, --help           this help\n" },
	{ "verify", NULL,
		"bpgate verify [-H] [-q|-Q] [-x SIGFILE] (-p PUBKEY_FILE | -P PUBKEY) -m FILE\n"
		"Verify a minisign signature. Exit 0 valid, 1 does not verify, 2 malformed input or usage.\n\n"
		"options:\n"
		"  -p PUBKEY_FILE       the public key file\n"
		"  -P PUBKEY            the public key as a string\n"
		"  -m FILE              the signed file\n"
		"  -x SIGFILE           the signature (default FILE.minisig)\n"
		"  -H                   refuse legacy (not prehashed) signatures\n"
		"  -q                   quiet\n"
		"  -Q                   print only the trusted comment\n"
		"  -h, --help           this help\n" },
	{ "bundle", NULL,
		"bpgate bundle <subcommand>\n"
		"Release bundles: a manifest of every file of a release with its SHA-256, and its signature.\n\n"
		"subcommands:\n"
		"  create               write a manifest of FILE... for an environment\n"
		"  sign                 sign a manifest (writes MANIFEST.minisig)\n"
		"  verify               verify a manifest's signature and recompute every hash\n" },
	{ "bundle", "create",
		"bpgate bundle create --env ENV --out MANIFEST [--pattern GLOB]... [--creator TEXT] FILE...\n"
		"Write the release manifest of FILE... (name it *.bundle.json).\n\n"
		"options:\n"
		"  --env ENV            the target environment\n"
		"  --out MANIFEST       where to write the manifest\n"
		"  --pattern GLOB       also take the files matching GLOB (repeatable)\n"
		"  --creator TEXT       who created it\n"
		"  -h, --help           this help\n" },
	{ "bundle", "sign",
		"bpgate bundle sign [-t TRUSTED_COMMENT] [--passphrase-fd N] -s SECKEY MANIFEST\n"
		"Sign a manifest; writes MANIFEST.minisig.\n\n"
		"options:\n"
		"  -s SECKEY            the releaser's secret key\n"
		"  -t TRUSTED_COMMENT   the signed comment\n"
		"  --passphrase-fd N    read the passphrase from file descriptor N\n"
		"  -h, --help           this help\n" },
	{ "bundle", "verify",
		"bpgate bundle verify (-p PUBKEY_FILE | -P PUBKEY) MANIFEST\n"
		"Verify the manifest's signature, recompute every listed hash, refuse extra files.\n\n"
		"options:\n"
		"  -p PUBKEY_FILE       the releaser's public key file\n"
		"  -P PUBKEY            the public key as a string\n"
		"  -h, --help           this help\n" },
	{ "sshsig", NULL,
		"bpgate sshsig <subcommand>\n"
		"SSHSIG signatures, as ssh-keygen -Y makes and checks them.\n\n"
		"subcommands:\n"
		"  verify               verify a signature against allowed_signers (ssh-keygen -Y verify)\n"
		"  sign                 sign stdin or FILE... (ssh-keygen -Y sign)\n"
		"  find-principals      the principals of allowed_signers whose key made a signature\n"
		"  check-novalidate     check a signature without an allowed_signers file\n" },
	{ "sshsig", "verify",
		"bpgate sshsig verify -f ALLOWED_SIGNERS -I PRINCIPAL -n NAMESPACE -s SIG [-O verify-time=T] < MESSAGE\n\n"
		"options:\n"
		"  -f ALLOWED_SIGNERS   the allowed_signers file\n"
		"  -I PRINCIPAL         the principal that must have signed\n"
		"  -n NAMESPACE         the signature's namespace (e.g. git, bpgate-approval@v1)\n"
		"  -s SIG               the armored signature\n"
		"  -O verify-time=T     check key validity at time T (YYYYMMDD[HHMM[SS]])\n"
		"  -h, --help           this help\n" },
	{ "sshsig", "sign",
		"bpgate sshsig sign -f KEY -n NAMESPACE [-O hashalg=sha256|sha512] [FILE...] < MESSAGE > SIG\n\n"
		"options:\n"
		"  -f KEY               the private key (an ed25519 key is signed in-process, others by ssh-keygen)\n"
		"  -n NAMESPACE         the namespace\n"
		"  -O hashalg=ALG       sha512 (default) or sha256\n"
		"  -h, --help           this help\n" },
	{ "sshsig", "find-principals",
		"bpgate sshsig find-principals -f ALLOWED_SIGNERS -s SIG [-O verify-time=T]\n\n"
		"options:\n"
		"  -f ALLOWED_SIGNERS   the allowed_signers file\n"
		"  -s SIG               the armored signature\n"
		"  -O verify-time=T     check key validity at time T\n"
		"  -h, --help           this help\n" },
	{ "sshsig", "check-novalidate",
		"bpgate sshsig check-novalidate -n NAMESPACE -s SIG < MESSAGE\n\n"
		"options:\n"
		"  -n NAMESPACE         the namespace\n"
		"  -s SIG               the armored signature\n"
		"  -h, --help           this help\n" },
	{ "verify-commit", NULL,
		"bpgate verify-commit [-v] [-f ALLOWED_SIGNERS] [--now | --verify-time T] REV...\n"
		"Verify the SSH signature of each commit or annotated tag REV (namespace \"git\").\n\n"
		"options:\n"
		"  -f ALLOWED_SIGNERS   default: .bpgate/allowed_signers of the working tree\n"
		"  --now                check key validity at the current time, not the committer time\n"
		"  --verify-time T      check key validity at time T\n"
		"  -v, --verbose        also print the signed payload of each REV\n"
		"  -h, --help           this help\n" },
	{ "audit", NULL,
		"bpgate audit <subcommand> [--log DIR] [--key VKEY]\n"
		"The append-only, hash-chained and signed audit log.\n\n"
		"subcommands:\n"
		"  keygen               new log key: PREFIX.skey (secret, 0600), PREFIX.vkey\n"
		"  append               append the JSON entry read from stdin\n"
		"  checkpoint           print the latest signed checkpoint\n"
		"  verify               check every entry against the latest checkpoint\n"
		"  witness              keep checkpoints (add FILE...|-) or show them (show)\n"
		"  prove                inclusion proof of entry N\n"
		"  check-proof          check a JSON inclusion proof offline\n"
		"  consistency          consistency proof between two tree sizes or checkpoints\n"
		"  repair               remove an interrupted append's tail (saved to torn-*)\n"
		"  syslog               the entries as RFC 5424 lines\n"
		"  export               chain-of-custody rows and change metrics of the releases\n\n"
		"options (every subcommand):\n" LOG_OPTS
		"  -h, --help           this help\n" },
	{ "audit", "keygen",
		"bpgate audit keygen NAME [--out PREFIX]\n"
		"New log key pair for the log called NAME (e.g. git.example.com/audit).\n\n"
		"options:\n"
		"  --out PREFIX         write PREFIX.skey (0600) and PREFIX.vkey\n"
		"  -h, --help           this help\n" },
	{ "audit", "append",
		"bpgate audit append --signing-key SKEY [--log DIR] [--syslog[=SOCKET]] < entry.json\n\n"
		"options:\n"
		"  --signing-key SKEY   the log's secret key (signs the new checkpoint)\n"
		"  --log DIR            the log directory\n"
		"  --syslog[=SOCKET]    also send the entry as an RFC 5424 line (default /dev/log)\n"
		"  -h, --help           this help\n" },
	{ "audit", "checkpoint",
		"bpgate audit checkpoint [--log DIR] [--key VKEY]\n\n"
		"options:\n" LOG_OPTS
		"  -h, --help           this help\n" },
	{ "audit", "verify",
		"bpgate audit verify [--since CHECKPOINT] [--log DIR] [--key VKEY]\n\n"
		"options:\n"
		"  --since CHECKPOINT   check only what was appended after CHECKPOINT (a file)\n" LOG_OPTS
		"  -h, --help           this help\n" },
	{ "audit", "witness",
		"bpgate audit witness add FILE...|- [--key VKEY] [--state DIR]\n"
		"       bpgate audit witness show [--key VKEY] [--state DIR]\n\n"
		"options:\n" LOG_OPTS
		"  -h, --help           this help\n" },
	{ "audit", "prove",
		"bpgate audit prove N [--log DIR] [--key VKEY] [--format text|json]\n\n"
		"options:\n"
		FMT_OPT "text (default) or json\n" LOG_OPTS
		"  -h, --help           this help\n" },
	{ "audit", "check-proof",
		"bpgate audit check-proof FILE --key VKEY\n\n"
		"options:\n"
		"  --key VKEY           the log's verification key\n"
		"  -h, --help           this help\n" },
	{ "audit", "consistency",
		"bpgate audit consistency OLD [NEW] [--log DIR] [--key VKEY] [--format text|json]\n"
		"OLD, NEW: a tree size or a checkpoint file.\n\n"
		"options:\n"
		FMT_OPT "text (default) or json\n" LOG_OPTS
		"  -h, --help           this help\n" },
	{ "audit", "repair",
		"bpgate audit repair [--log DIR] [--key VKEY]\n\n"
		"options:\n"
		"  --log DIR            the log directory\n"
		"  --key VKEY           the log's verification key\n"
		"  -h, --help           this help\n" },
	{ "audit", "syslog",
		"bpgate audit syslog [--log DIR] [--from N] [--hostname H] [--send[=SOCKET]]\n\n"
		"options:\n"
		"  --log DIR            the log directory\n"
		"  --from N             start at entry N\n"
		"  --hostname H         the HOSTNAME field (default: this host's name)\n"
		"  --send[=SOCKET]      send to the syslog socket (default /dev/log) instead of printing\n"
		"  -h, --help           this help\n" },
	{ "audit", "export",
		"bpgate audit export --since DATE --until DATE [--format json|csv] [--metrics] [--repo DIR] [--env ENV]\n\n"
		"options:\n"
		"  --since DATE         from DATE: YYYY-MM-DD (UTC) or YYYY-MM-DDTHH:MM:SSZ\n"
		"  --until DATE         to DATE (a day is included)\n"
		FMT_OPT "json (default) or csv\n"
		"  --metrics            the change metrics only (with --format csv: metric,value lines)\n"
		"  --repo DIR           the repository the releases came from\n"
		"  --env ENV            only this environment\n" LOG_OPTS
		"  -h, --help           this help\n" },
	{ "evidence", NULL,
		"bpgate evidence <subcommand>\n"
		"       bpgate evidence REV --key KEY.pem [--repo DIR] [--audit-dir DIR] [--log-key VKEY] [--env ENV]\n"
		"                       [--out FILE] [--html FILE] [--markdown FILE]\n"
		"Release evidence: in-toto statements in DSSE envelopes, signed with Ed25519.\n"
		"With REV: build the evidence package of the release of REV.\n\n"
		"subcommands:\n"
		"  keygen               Ed25519 key: PREFIX.pem (PKCS#8, 0600), PREFIX.pub\n"
		"  sign                 wrap an in-toto Statement in a DSSE envelope\n"
		"  verify               verify an envelope or an evidence package, offline\n\n"
		"options (REV):\n"
		"  --key KEY.pem        the signing key\n"
		"  --repo DIR           the repository (default .)\n"
		"  --audit-dir DIR      the audit log (also --log)\n"
		"  --log-key VKEY       the audit log's verification key\n"
		"  --env ENV            the environment of the release\n"
		"  --out FILE           where to write the package (an in-toto bundle, .jsonl)\n"
		"  --html FILE          also write a page for people\n"
		"  --markdown FILE      also write it as Markdown\n"
		"  -h, --help           this help\n" },
	{ "evidence", "keygen",
		"bpgate evidence keygen --out PREFIX\n\n"
		"options:\n"
		"  --out PREFIX         write PREFIX.pem (PKCS#8, 0600) and PREFIX.pub\n"
		"  -h, --help           this help\n" },
	{ "evidence", "sign",
		"bpgate evidence sign STATEMENT --key KEY.pem [--out FILE]\n\n"
		"options:\n"
		"  --key KEY.pem        the signing key\n"
		"  --out FILE           where to write the envelope\n"
		"  -h, --help           this help\n" },
	{ "evidence", "verify",
		"bpgate evidence verify FILE --key PUB [--key PUB...] [--threshold N] [--artifact FILE...] [--log-key VKEY]\n"
		"       [--allowed-signers FILE] [--repo DIR] [--html FILE] [--markdown FILE]\n"
		"FILE: one envelope (.json) or an in-toto bundle (.jsonl, one envelope a line).\n\n"
		"options:\n"
		"  --key PUB            a trusted public key (repeatable, at most 16)\n"
		"  --threshold N        distinct keys that must have signed (1 to 16, default 1)\n"
		"  --artifact FILE      FILE must be a subject, by SHA-256 (repeatable, at most 64)\n"
		"  --log-key VKEY       check the audit-log proofs with this key\n"
		"  --allowed-signers F  check the approvals' SSHSIG signatures against F\n"
		"  --repo DIR           check the package against this repository\n"
		"  --html FILE          write the verified page\n"
		"  --markdown FILE      write it as Markdown\n"
		"  -h, --help           this help\n" },
	{ "policy", NULL,
		"bpgate policy <subcommand>\n"
		"Policy files (.bpgate/).\n\n"
		"subcommands:\n"
		"  check                load and validate the policy files, list every problem\n"
		"  test                 run the policy tests (.bpgate/tests/*.json)\n"
		"  rules                list the rules with their parameters and defaults\n" },
	{ "policy", "check",
		"bpgate policy check [DIR]\n"
		"Load and validate .bpgate/ of DIR (default .): file, line, column and what was expected.\n\n"
		"options:\n"
		"  -h, --help           this help\n" },
	{ "policy", "test",
		"bpgate policy test [-v] [DIR]\n"
		"Run every policy test of DIR (default .): a change as JSON and its expected decision.\n\n"
		"options:\n"
		"  -v                   print each test, not only failures\n"
		"  -h, --help           this help\n" },
	{ "policy", "rules",
		"bpgate policy rules\n"
		"List the rules the engine knows, with their parameters and defaults.\n\n"
		"options:\n"
		"  -h, --help           this help\n" },
	{ "explain", NULL,
		"bpgate explain [--format text|json|sarif] (--facts FILE [--policy DIR] | [RANGE])\n"
		"Print the facts of a change and the outcome rule by rule.\n\n"
		"options:\n"
		"  --facts FILE         judge a facts document (from check --facts or a server decision)\n"
		"  --policy DIR         with --facts: the policy directory (default .)\n"
		FMT_OPT "text (default), json or sarif\n"
		"  -h, --help           this help\n" },
	{ "init", NULL,
		"bpgate init [--pack NAME] [--force] [--early-check] [--repository-id ID]\n"
		"Govern this repository: write .bpgate/ from a shipped pack and install the hooks.\n\n"
		"options:\n"
		"  --pack NAME          the pack (default: regulated; $BPGATE_PACKS overrides where packs are)\n"
		"  --force              overwrite an existing .bpgate/\n"
		"  --early-check        install the pre-commit hook too (see bpgate install --help)\n"
		"  --repository-id ID   the server's repository id (32 hex digits; default: a new random one)\n"
		"  -h, --help           this help\n" },
	{ "install", NULL,
		"bpgate install [--early-check | --uninstall]\n"
		"Install the commit-msg and pre-push hooks (a hook already there runs first).\n"
		"commit-msg judges the message and the staged content, in one process per commit.\n\n"
		"options:\n"
		"  --early-check        also install pre-commit: refuse the content before the editor opens\n"
		"                       (the content is then judged twice per commit)\n"
		"  --uninstall          remove them and put back what was there before\n"
		"  -h, --help           this help\n" },
	{ "hook", NULL,
		"bpgate hook <subcommand>\n"
		"What the installed hooks run; git calls these.\n\n"
		"subcommands:\n"
		"  pre-commit           judge the staged files\n"
		"  commit-msg MSGFILE   judge the commit message (trailers) and the staged files (all of pre-commit)\n"
		"  pre-push REMOTE URL  judge every ref pushed (ref lines on stdin, as git gives them)\n" },
	{ "hook", "pre-commit",
		"bpgate hook pre-commit\n\n"
		"options:\n"
		"  -h, --help           this help\n" },
	{ "hook", "commit-msg",
		"bpgate hook commit-msg MSGFILE\n\n"
		"options:\n"
		"  -h, --help           this help\n" },
	{ "hook", "pre-push",
		"bpgate hook pre-push REMOTE URL < ref-lines\n\n"
		"options:\n"
		"  -h, --help           this help\n" },
	{ "check", NULL,
		"bpgate check [--format text|json|sarif] [--explain] [--facts] [--max-judge-seconds N] "
		"[--max-judge-memory SIZE] [RANGE]\n"
		"Judge a range of commits as the hooks and the server would (for CI).\n\n"
		"options:\n"
		FMT_OPT "text (default), json or sarif\n"
		"  --explain            the outcome rule by rule\n"
		"  --facts              print the gathered facts document instead\n"
		"  --max-judge-seconds N    refuse when judging takes longer (also bpgate.maxJudgeSeconds)\n"
		"  --max-judge-memory SIZE  refuse when judging needs more memory (also bpgate.maxJudgeMemory)\n"
		"  -h, --help           this help\n" },
	{ "inventory", NULL,
		"bpgate inventory [--format text|json|csv]\n"
		"Every blueprint with its catalog entry and what it shows.\n\n"
		"options:\n"
		FMT_OPT "text (default), json or csv\n"
		"  -h, --help           this help\n" },
	{ "approve", NULL,
		"bpgate approve REV --for ENV [-f KEY] [--as PRINCIPAL] [--remote NAME] [--repository NAME]\n"
		"                      [--no-push] [--check-policy | --check-only]\n"
		"Sign an approval of REV's tree for ENV (SSHSIG) and push it to refs/bpgate/approvals/.\n\n"
		"options:\n"
		"  --for ENV            the environment the approval is for\n"
		"  -f KEY               the SSH key to sign with\n"
		"  --as PRINCIPAL       your principal in .bpgate/allowed_signers (default: found from the key)\n"
		"  --remote NAME        where to push it (default origin)\n"
		"  --repository NAME    the repository name bound into the approval (default bpgate.repository)\n"
		"  --no-push            create the approval ref, do not push it\n"
		"  --check-policy       ask the policy whether this approval would count, then approve\n"
		"  --check-only         only ask (exit 0 admitted, 1 not, with the reason)\n"
		"  -h, --help           this help\n" },
	{ "uat", NULL,
		"bpgate uat <subcommand>\n"
		"UAT sign-offs: the evidence the uat-evidence rule wants.\n\n"
		"subcommands:\n"
		"  signoff SCENARIO     sign off a scenario's UAT for the tree at REV\n" },
	{ "uat", "signoff",
		"bpgate uat signoff SCENARIO [--rev REV] [-f KEY] [--as PRINCIPAL] [--result pass|fail] [--notes TEXT]\n"
		"Write and sign uat/SCENARIO/signoff.json (+ .sig) for the scenario's files at REV.\n\n"
		"options:\n"
		"  --rev REV            the revision tested (default HEAD)\n"
		"  -f KEY               the SSH key to sign with\n"
		"  --as PRINCIPAL       your principal in .bpgate/allowed_signers\n"
		"  --result pass|fail   the outcome (default pass)\n"
		"  --notes TEXT         free text recorded with it\n"
		"  -h, --help           this help\n" },
	{ "pending", NULL,
		"bpgate pending [--repo DIR] [--env ENV] [--policy-ref REF] [--format text|json]\n"
		"Break-glass changes still waiting for retroactive approval.\n\n"
		"options:\n"
		"  --repo DIR           the repository (default .)\n"
		"  --env ENV            only this environment\n"
		"  --policy-ref REF     read the policy from REF (default: bpgate.policyRef, else HEAD)\n"
		FMT_OPT "text (default) or json\n"
		"  -h, --help           this help\n" },
	{ "rollback", NULL,
		"bpgate rollback SCENARIO [--env ENV] [--to REV] [--repo DIR] [--remote NAME] [--with-others]\n"
		"                       [--dry-run] [--no-fetch] [--deploy]\n"
		"Prepare a rollback of a scenario to its previous release, with its impact.\n\n"
		"options:\n"
		"  --env ENV            the environment (default prod)\n"
		"  --to REV             roll back to REV's tree (a tree the branch had) instead of the previous release\n"
		"  --repo DIR           the repository (default .)\n"
		"  --remote NAME        the remote to fetch from (default origin)\n"
		"  --with-others        accept that other scenarios change too\n"
		"  --dry-run            create nothing; print the equivalent git commands\n"
		"  --no-fetch           do not fetch the branch and the release records first\n"
		"  --deploy             push it, and once the gate accepted it see it deployed to Make\n"
		"  -h, --help           this help\n" },
	{ "make", NULL,
		"bpgate make <subcommand> [<args>]\n"
		"The link to Make: pull, deploy with a drift guard, drift, instant disable (docs/readme/make.md).\n"
		"The API token: $BPGATE_MAKE_TOKEN, else --token-file FILE or git config bpgate.makeTokenFile (0600).\n\n"
		"subcommands:\n"
		"  pull      write the live blueprints of the source environment's team into the working tree\n"
		"  deploy    deploy an environment's branch to its Make team (compare and swap, records, audit)\n"
		"  drift     compare what runs in Make with the environment's branch\n"
		"  disable   stop a scenario in Make now, recorded\n"
		"  enable    start it again, recorded\n"
		"  health    measure an environment's health from Make's executions (a signed record)\n" },
	{ "make", "health",
		"bpgate make health --env ENV [--window 24h] [--key SSH_KEY] [--as PRINCIPAL] [--keep N]\n"
		"                   [--format text|json] [--token-file FILE]\n"
		"Read each catalogued scenario's executions of the window from Make, compute its rates and\n"
		"p50/p95, and write a signed health record (refs/bpgate/health/ENV/...) the stage-health rule\n"
		"reads. The signer holds the observers role. Scope scenarios:read.\n\n"
		"options:\n"
		"  --env ENV            the environment measured (required)\n"
		"  --window SPAN        Nh or Nd, at most 31 days (default 24h)\n"
		"  --key SSH_KEY        the signing key (default: git config bpgate.healthKey)\n"
		"  --as PRINCIPAL       the signer's principal in allowed_signers\n"
		"  --keep N             keep the newest N records (default 168)\n"
		FMT_OPT "text (default) or json\n"
		"  --token-file FILE    the API token file (mode 0600)\n"
		"  -h, --help           this help\n" },
	{ "make", "pull",
		"bpgate make pull [SCENARIO...] [--env ENV] [--token-file FILE]\n"
		"Write each catalogued scenario's live blueprint (with its scheduling) at its catalog \"blueprint\"\n"
		"path, in a byte-stable form; ids mapped back to git's through the environment's map. Scope scenarios:read.\n\n"
		"options:\n"
		"  --env ENV            the environment (default: the one nothing promotes into, dev)\n"
		"  --token-file FILE    the API token file (mode 0600)\n"
		"  -h, --help           this help\n" },
	{ "make", "deploy",
		"bpgate make deploy --env ENV [REV] [--dry-run] [--adopt-drift \"TICKET-1: reason\"] [--create]\n"
		"                   [--token-file FILE]\n"
		"Deploy REV (default: the environment's branch) to ENV's Make team; an edit made in Make since the\n"
		"last deployment refuses that scenario. Scopes scenarios:read, scenarios:write. Needs the audit log.\n"
		"Exit: 0 deployed or nothing to do, 1 refused or not deployed, 2 error.\n\n"
		"options:\n"
		"  --env ENV            the environment (required)\n"
		"  --dry-run            read and compare, write nothing\n"
		"  --adopt-drift TEXT   overwrite edits made in Make; \"TICKET: reason\" is recorded\n"
		"  --create             create scenarios the catalog has but Make has not\n"
		"  --token-file FILE    the API token file (mode 0600)\n"
		"  -h, --help           this help\n" },
	{ "make", "drift",
		"bpgate make drift [--env ENV] [--format text|json|sarif] [--token-file FILE]\n"
		"Compare every catalogued scenario in ENV's team with ENV's branch, mapped. Scope scenarios:read.\n"
		"Exit: 0 clean, 1 drift, 2 error.\n\n"
		"options:\n"
		"  --env ENV            the environment (default: the end of the promotion chain, prod)\n"
		FMT_OPT "text (default), json or sarif\n"
		"  --token-file FILE    the API token file (mode 0600)\n"
		"  -h, --help           this help\n" },
	{ "make", "disable",
		"bpgate make disable SCENARIO --env ENV --reason \"INC-42: what happened\" [--token-file FILE]\n"
		"Stop the scenario in ENV's Make team now; recorded (refs/bpgate/switches/) and audited.\n"
		"Run for a server principal, it needs a role of environments.ENV.make.roles.disable\n"
		"(default: emergency, releasers). Scope scenarios:write.\n\n"
		"options:\n"
		"  --env ENV            the environment (required)\n"
		"  --reason TEXT        \"TICKET: what happened\" (required)\n"
		"  --token-file FILE    the API token file (mode 0600)\n"
		"  -h, --help           this help\n" },
	{ "make", "enable",
		"bpgate make enable SCENARIO --env ENV --reason \"INC-42: fixed\" [--token-file FILE]\n"
		"Start the scenario in ENV's Make team again; recorded and audited (the same roles as disable).\n\n"
		"options:\n"
		"  --env ENV            the environment (required)\n"
		"  --reason TEXT        \"TICKET: why\" (required)\n"
		"  --token-file FILE    the API token file (mode 0600)\n"
		"  -h, --help           this help\n" },
	{ "status", NULL,
		"bpgate status [REV] [--repo DIR]\n"
		"Where REV (default HEAD) stands: the environments that have its tree, the approvals recorded.\n\n"
		"options:\n"
		"  --repo DIR           the repository (default .)\n"
		"  -h, --help           this help\n" },
	{ "version", NULL,
		"bpgate version\n"
		"Print the version (also bpgate --version).\n\n"
		"options:\n"
		"  -h, --help           this help\n" },
};

static const help_entry *find(const char *command, const char *sub)
{
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		const help_entry *e = &entries[i];
		if (strcmp(e->command, command) != 0)
			continue;
		if (sub ? (e->sub && strcmp(e->sub, sub) == 0) : !e->sub)
			return e;
	}
	return NULL;
}

int cli_help(FILE *out, const char *command, const char *sub)
{
	const help_entry *e = sub ? find(command, sub) : NULL;

	if (!e)
		e = find(command, NULL);
	if (!e)
		return -1;
	fprintf(out, "usage: %s", e->text);
	return 0;
}

bool cli_is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}
