/* mailferry - `mailferry batch ...`: create, list, show, set, import, delete
 *
 * Passwords never come from the command line: --*-password-file (a private
 * file), --*-password-env (the name of a variable) or --*-password-prompt.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "batch.h"
#include "batch/csvin.h"
#include "batch/ledger.h"
#include "cli/cli.h"
#include "cli/cliutil.h"
#include "exitcodes.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/secret.h"
#include "util/timeutil.h"

enum {
	O_CSV = 256, O_SOURCE, O_SOURCE_SEC, O_SOURCE_AUTH, O_SOURCE_ADMIN, O_SOURCE_FORM,
	O_SOURCE_DOMAIN, O_SOURCE_SEP, O_SOURCE_PWFILE, O_SOURCE_PWENV, O_SOURCE_PWPROMPT,
	O_SOURCE_CA, O_SOURCE_PLAIN, O_SOURCE_LEGACY, O_SOURCE_PROXY, O_TARGET, O_TARGET_SEC,
	O_TARGET_KIND, O_TARGET_AUTH, O_TARGET_ADMIN, O_TARGET_FORM, O_TARGET_SEP,
	O_TARGET_PWFILE, O_TARGET_PWENV, O_TARGET_PWPROMPT, O_TARGET_CA, O_TARGET_PLAIN,
	O_TARGET_PROXY, O_TENANT, O_CLIENT_ID, O_CLIENT_SECRET_FILE, O_CLIENT_SECRET_ENV,
	O_CLIENT_CERT, O_CLIENT_KEY, O_AUTHORITY, O_GRAPH_URL, O_CA, O_PLAIN, O_EXCLUDE,
	O_CONCURRENCY, O_TARGET_CONNS, O_PIPELINE, O_TIMEOUT, O_MAX_SIZE, O_BANDWIDTH, O_MSG_RATE,
	O_UNKNOWN_COLS, O_NOTICE, O_WELCOME, O_JSON, O_YES, O_CLEAR_EXCLUDES, O_DNS,
};

static const struct option setting_opts[] = {
	{"csv", required_argument, NULL, O_CSV},
	{"source", required_argument, NULL, O_SOURCE},
	{"source-security", required_argument, NULL, O_SOURCE_SEC},
	{"source-auth", required_argument, NULL, O_SOURCE_AUTH},
	{"source-admin", required_argument, NULL, O_SOURCE_ADMIN},
	{"source-admin-form", required_argument, NULL, O_SOURCE_FORM},
	{"source-admin-domain", required_argument, NULL, O_SOURCE_DOMAIN},
	{"source-admin-separator", required_argument, NULL, O_SOURCE_SEP},
	{"source-password-file", required_argument, NULL, O_SOURCE_PWFILE},
	{"source-password-env", required_argument, NULL, O_SOURCE_PWENV},
	{"source-password-prompt", no_argument, NULL, O_SOURCE_PWPROMPT},
	{"source-ca-file", required_argument, NULL, O_SOURCE_CA},
	{"source-allow-plaintext", no_argument, NULL, O_SOURCE_PLAIN},
	{"source-legacy-tls", no_argument, NULL, O_SOURCE_LEGACY},
	{"source-proxy", required_argument, NULL, O_SOURCE_PROXY},
	{"target", required_argument, NULL, O_TARGET},
	{"target-security", required_argument, NULL, O_TARGET_SEC},
	{"target-kind", required_argument, NULL, O_TARGET_KIND},
	{"target-auth", required_argument, NULL, O_TARGET_AUTH},
	{"target-admin", required_argument, NULL, O_TARGET_ADMIN},
	{"target-admin-form", required_argument, NULL, O_TARGET_FORM},
	{"target-admin-separator", required_argument, NULL, O_TARGET_SEP},
	{"target-password-file", required_argument, NULL, O_TARGET_PWFILE},
	{"target-password-env", required_argument, NULL, O_TARGET_PWENV},
	{"target-password-prompt", no_argument, NULL, O_TARGET_PWPROMPT},
	{"target-ca-file", required_argument, NULL, O_TARGET_CA},
	{"target-allow-plaintext", no_argument, NULL, O_TARGET_PLAIN},
	{"target-proxy", required_argument, NULL, O_TARGET_PROXY},
	{"tenant", required_argument, NULL, O_TENANT},
	{"client-id", required_argument, NULL, O_CLIENT_ID},
	{"client-secret-file", required_argument, NULL, O_CLIENT_SECRET_FILE},
	{"client-secret-env", required_argument, NULL, O_CLIENT_SECRET_ENV},
	{"client-cert", required_argument, NULL, O_CLIENT_CERT},
	{"client-key", required_argument, NULL, O_CLIENT_KEY},
	{"authority", required_argument, NULL, O_AUTHORITY},
	{"graph-url", required_argument, NULL, O_GRAPH_URL},
	{"ca-file", required_argument, NULL, O_CA},
	{"allow-plaintext", no_argument, NULL, O_PLAIN},
	{"exclude", required_argument, NULL, O_EXCLUDE},
	{"clear-excludes", no_argument, NULL, O_CLEAR_EXCLUDES},
	{"concurrency", required_argument, NULL, O_CONCURRENCY},
	{"target-connections", required_argument, NULL, O_TARGET_CONNS},
	{"pipeline-depth", required_argument, NULL, O_PIPELINE},
	{"timeout", required_argument, NULL, O_TIMEOUT},
	{"max-message-size", required_argument, NULL, O_MAX_SIZE},
	{"bandwidth", required_argument, NULL, O_BANDWIDTH},
	{"msg-rate", required_argument, NULL, O_MSG_RATE},
	{"allow-unknown-columns", no_argument, NULL, O_UNKNOWN_COLS},
	{"notice-template", required_argument, NULL, O_NOTICE},
	{"welcome-template", required_argument, NULL, O_WELCOME},
	{"dns-server", required_argument, NULL, O_DNS},
	{"json", no_argument, NULL, O_JSON},
	{"yes", no_argument, NULL, O_YES},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* What the options asked for besides settings. */
struct batch_args {
	const char *csv;
	struct mf_secret *source_admin, *target_admin, *client_secret;
	int json, yes;
	int target_kind_set, max_size_set;
};

static void args_clear(struct batch_args *a)
{
	secret_free(a->source_admin);
	secret_free(a->target_admin);
	secret_free(a->client_secret);
}

static int set_str(char **dst, const char *v)
{
	char *n = mf_strdup(v);

	if (!n)
		return -1;
	free(*dst);
	*dst = n;
	return 0;
}

static int parse_uint(const char *v, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);

	if (*end || end == v || n < min || n > max)
		return -1;
	*out = (unsigned)n;
	return 0;
}

static int set_secret(struct mf_secret **dst, int how, const char *v, const char *what,
		      struct mf_err *err)
{
	char prompt[128];

	secret_free(*dst);
	*dst = NULL;
	if (how == 'f')
		return cli_secret_from_file(v, dst, err);
	if (how == 'e')
		return cli_secret_from_env(v, dst, err);
	snprintf(prompt, sizeof(prompt), "%s: ", what);
	return cli_secret_prompt(prompt, dst, err);
}

static int add_exclude(struct mf_batch_settings *s, const char *v)
{
	char **nv = mf_realloc(s->exclude, (s->nexclude + 1) * sizeof(*nv));

	if (!nv)
		return -1;
	s->exclude = nv;
	if (!(nv[s->nexclude] = mf_strdup(v)))
		return -1;
	s->nexclude++;
	return 0;
}

static void clear_excludes(struct mf_batch_settings *s)
{
	for (size_t i = 0; i < s->nexclude; i++)
		free(s->exclude[i]);
	free(s->exclude);
	s->exclude = NULL;
	s->nexclude = 0;
}

/* Applies one option. 0 ok, -1 with err (usage or secret problems). */
static const char *option_name(int c)
{
	for (const struct option *o = setting_opts; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

static int apply_option(int c, const char *v, struct mf_batch_settings *s, struct batch_args *a,
			struct mf_err *err)
{
	int bad = 0;
	uint64_t u64 = 0;
	long secs = 0;

	switch (c) {
	case O_CSV:
		a->csv = v;
		break;
	case O_SOURCE:
	case O_TARGET: {
		struct mf_endpoint *e = c == O_SOURCE ? &s->source : &s->target;
		char *host;
		unsigned port;

		if (cli_parse_hostport(v, &host, &port))
			bad = 1;
		else {
			free(e->host);
			e->host = host;
			e->port = port;
		}
		break;
	}
	case O_SOURCE_SEC:
		bad = mf_security_parse(v, &s->source.security);
		break;
	case O_TARGET_SEC:
		bad = mf_security_parse(v, &s->target.security);
		break;
	case O_SOURCE_AUTH:
		bad = mf_auth_mode_parse(v, &s->source.auth) || s->source.auth == MF_AUTH_OAUTH2;
		break;
	case O_TARGET_AUTH:
		bad = mf_auth_mode_parse(v, &s->target.auth);
		break;
	case O_SOURCE_ADMIN:
		bad = set_str(&s->source.admin_user, v);
		if (!bad && s->source.auth == MF_AUTH_CSV)
			s->source.auth = MF_AUTH_ADMIN;
		break;
	case O_TARGET_ADMIN:
		bad = set_str(&s->target.admin_user, v);
		if (!bad && s->target.auth == MF_AUTH_CSV)
			s->target.auth = MF_AUTH_ADMIN;
		break;
	case O_SOURCE_FORM:
		bad = mf_admin_form_parse(v, &s->source.admin_form);
		break;
	case O_TARGET_FORM:
		bad = mf_admin_form_parse(v, &s->target.admin_form);
		break;
	case O_SOURCE_DOMAIN:
		bad = set_str(&s->source.admin_domain, v);
		break;
	case O_SOURCE_SEP:
	case O_TARGET_SEP:
		bad = strlen(v) != 1;
		(c == O_SOURCE_SEP ? &s->source : &s->target)->admin_sep = v[0];
		break;
	case O_SOURCE_PWFILE:
	case O_SOURCE_PWENV:
	case O_SOURCE_PWPROMPT:
		return set_secret(&a->source_admin, c == O_SOURCE_PWFILE ? 'f' : c == O_SOURCE_PWENV ? 'e' : 'p',
				  v, "Source admin password", err);
	case O_TARGET_PWFILE:
	case O_TARGET_PWENV:
	case O_TARGET_PWPROMPT:
		return set_secret(&a->target_admin, c == O_TARGET_PWFILE ? 'f' : c == O_TARGET_PWENV ? 'e' : 'p',
				  v, "Target admin password", err);
	case O_CLIENT_SECRET_FILE:
	case O_CLIENT_SECRET_ENV:
		return set_secret(&a->client_secret, c == O_CLIENT_SECRET_FILE ? 'f' : 'e', v,
				  "Client secret", err);
	case O_SOURCE_CA:
		bad = set_str(&s->source.ca_file, v);
		break;
	case O_TARGET_CA:
		bad = set_str(&s->target.ca_file, v);
		break;
	case O_CA:
		bad = set_str(&s->source.ca_file, v) || set_str(&s->target.ca_file, v);
		break;
	case O_SOURCE_PLAIN:
		s->source.allow_plaintext = 1;
		break;
	case O_TARGET_PLAIN:
		s->target.allow_plaintext = 1;
		break;
	case O_PLAIN:
		s->source.allow_plaintext = s->target.allow_plaintext = 1;
		break;
	case O_SOURCE_LEGACY:
		s->source.legacy_tls = 1;
		break;
	case O_SOURCE_PROXY:
		bad = set_str(&s->source.proxy, v);
		break;
	case O_TARGET_PROXY:
		bad = set_str(&s->target.proxy, v);
		break;
	case O_TARGET_KIND:
		if (!strcasecmp(v, "m365") || !strcasecmp(v, "microsoft365"))
			s->target_kind = MF_TARGET_M365;
		else if (!strcasecmp(v, "imap"))
			s->target_kind = MF_TARGET_IMAP;
		else
			bad = 1;
		a->target_kind_set = 1;
		break;
	case O_TENANT:
		bad = set_str(&s->m365.tenant, v);
		break;
	case O_CLIENT_ID:
		bad = set_str(&s->m365.client_id, v);
		break;
	case O_CLIENT_CERT:
		bad = set_str(&s->m365.cert_file, v);
		break;
	case O_CLIENT_KEY:
		bad = set_str(&s->m365.key_file, v);
		break;
	case O_AUTHORITY:
		bad = set_str(&s->m365.authority, v);
		break;
	case O_GRAPH_URL:
		bad = set_str(&s->m365.graph_url, v);
		break;
	case O_EXCLUDE:
		bad = add_exclude(s, v);
		break;
	case O_CLEAR_EXCLUDES:
		clear_excludes(s);
		break;
	case O_CONCURRENCY:
		bad = parse_uint(v, 1, 256, &s->concurrency);
		break;
	case O_TARGET_CONNS:
		bad = parse_uint(v, 1, 4, &s->target_conns); /* the engine's MBX_MAX_TARGETS */
		break;
	case O_PIPELINE:
		bad = parse_uint(v, 1, 1000, &s->pipeline_depth);
		break;
	case O_TIMEOUT:
		bad = cli_parse_duration(v, &secs);
		if (!bad)
			s->cmd_timeout_ms = secs * 1000;
		break;
	case O_MAX_SIZE:
		bad = cli_parse_size(v, &u64);
		s->max_message_size = u64;
		a->max_size_set = !bad;
		break;
	case O_BANDWIDTH:
		bad = cli_parse_size(v, &u64);
		s->bandwidth = u64;
		break;
	case O_MSG_RATE:
		s->msg_rate = strtod(v, NULL);
		bad = s->msg_rate < 0;
		break;
	case O_UNKNOWN_COLS:
		s->allow_unknown_columns = 1;
		break;
	case O_NOTICE:
		bad = set_str(&s->notice_template, v);
		break;
	case O_WELCOME:
		bad = set_str(&s->welcome_template, v);
		break;
	case O_DNS:
		if (!s->dns_servers) {
			bad = set_str(&s->dns_servers, v);
		} else {
			char *joined = mf_sprintf("%s,%s", s->dns_servers, v);

			bad = !joined;
			if (joined) {
				free(s->dns_servers);
				s->dns_servers = joined;
			}
		}
		break;
	case O_JSON:
		a->json = 1;
		break;
	case O_YES:
		a->yes = 1;
		break;
	default:
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG, "unknown option");
	}
	if (bad)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG, "invalid value '%s' for --%s",
			       v ? v : "", option_name(c));
	return 0;
}

/* Microsoft 365 targets: the defaults an admin expects. */
static int apply_m365_defaults(struct mf_batch_settings *s, const struct batch_args *a)
{
	if (s->target_kind != MF_TARGET_M365)
		return 0;
	if (!s->target.host && set_str(&s->target.host, "outlook.office365.com"))
		return -1;
	if (!a->max_size_set && !s->max_message_size)
		s->max_message_size = 35u * 1000 * 1000; /* Microsoft's IMAP migration ceiling */
	if (s->target.auth == MF_AUTH_CSV && !s->target.admin_user)
		s->target.auth = MF_AUTH_OAUTH2;
	return 0;
}

/* Problems an admin can fix before anything runs. */
static int check_settings(const struct mf_batch_settings *s, const struct batch_args *a,
			  int have_source_pw, int have_target_pw, int have_client, struct mf_err *err)
{
	if (!s->source.host)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG, "--source HOST[:PORT] is required");
	if (!s->target.host)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
			       "--target HOST[:PORT] (or --target-kind m365) is required");
	if (s->source.security == MF_SEC_NONE && !s->source.allow_plaintext)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
			       "--source-security none sends passwords in clear: add "
			       "--source-allow-plaintext if that is really wanted");
	if (s->target.security == MF_SEC_NONE && !s->target.allow_plaintext)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
			       "--target-security none sends passwords in clear: add "
			       "--target-allow-plaintext if that is really wanted");
	if (s->source.auth == MF_AUTH_ADMIN && (!s->source.admin_user || !have_source_pw))
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
			       "admin credentials for the source need --source-admin and one of "
			       "--source-password-file, --source-password-env, --source-password-prompt");
	if (s->target.auth == MF_AUTH_ADMIN && (!s->target.admin_user || !have_target_pw))
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
			       "admin credentials for the target need --target-admin and one of "
			       "--target-password-file, --target-password-env, --target-password-prompt");
	if (s->target.auth == MF_AUTH_OAUTH2 &&
	    (!s->m365.tenant || !s->m365.client_id ||
	     (!have_client && !(s->m365.cert_file && s->m365.key_file))))
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
			       "Microsoft 365 (OAuth2) needs --tenant, --client-id and either "
			       "--client-secret-file/--client-secret-env or --client-cert with "
			       "--client-key");
	(void)a;
	return 0;
}

static int parse_settings(int argc, char **argv, struct mf_batch_settings *s,
			  struct batch_args *a, struct mf_err *err)
{
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", setting_opts, NULL)) != -1) {
		if (c == 'h')
			return 1;
		if (c == '?')
			return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG, "unrecognized option '%s'",
				       argv[optind - 1]);
		if (apply_option(c, optarg, s, a, err))
			return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- create */

static void create_usage(FILE *out)
{
	fputs("Usage: mailferry batch create NAME --csv FILE --source HOST[:PORT] --target HOST[:PORT]\n"
	      "         [--source-security ssl|starttls|none] [--target-security ssl|starttls|none]\n"
	      "         [--target-kind imap|m365] [--source-auth csv|admin] [--target-auth csv|admin|oauth2]\n"
	      "         [--source-admin USER --source-admin-form dovecot|authzid|exchange|mirapoint|userroot]\n"
	      "         [--source-password-file F | --source-password-env VAR | --source-password-prompt]\n"
	      "         [--target-admin USER] [--target-password-file F | ...]\n"
	      "         [--tenant ID --client-id ID (--client-secret-file F | --client-cert F --client-key F)]\n"
	      "         [--exclude FOLDER]... [--concurrency N] [--ca-file F] [--allow-plaintext]\n"
	      "         [--max-message-size SIZE] [--bandwidth SIZE] [--msg-rate N] [--json]\n"
	      "See mailferry(1) for every option.\n",
	      out);
}

static int cmd_batch_create(int argc, char **argv, struct cli_globals *g)
{
	struct mf_batch_settings s;
	struct batch_args a = {0};
	struct csvin_result problems = {0};
	struct batch_secrets sec;
	struct mf_err err;
	const char *name = NULL;
	int rc;

	batch_settings_init(&s);
	if (argc > 1 && argv[1][0] != '-') {
		name = argv[1];
		argc--;
		argv++;
	}
	rc = parse_settings(argc, argv, &s, &a, &err);
	if (rc == 1) {
		create_usage(stdout);
		batch_settings_clear(&s);
		return MF_EXIT_OK;
	}
	if (!rc && optind < argc && !name)
		name = argv[optind++];
	if (!name && g->batch)
		name = g->batch;
	if (rc || optind < argc || !name || !a.csv) {
		int json = a.json;

		batch_settings_clear(&s);
		args_clear(&a);
		if (rc)
			return cli_fail_msg(json, rc == -1 && err.code == MF_E_CONFIG ? MF_EXIT_USAGE
										  : cli_exit_for(&err),
					    "batch create: %s", err.msg);
		create_usage(stderr);
		return MF_EXIT_USAGE;
	}
	s.name = mf_strdup(name);
	if (!s.name || apply_m365_defaults(&s, &a) ||
	    check_settings(&s, &a, a.source_admin != NULL, a.target_admin != NULL,
			   a.client_secret != NULL, &err)) {
		rc = cli_fail(a.json, &err);
		goto out;
	}
	sec = (struct batch_secrets){a.source_admin, a.target_admin, a.client_secret};
	if (batch_create(&s, a.csv, &sec, &problems, &err)) {
		cli_print_csv_problems(&problems, a.csv, a.json);
		rc = cli_fail(a.json, &err);
		goto out;
	}
	cli_print_csv_problems(&problems, a.csv, a.json); /* warnings */
	if (a.json) {
		struct mf_buf line;
		struct json_w w;

		jsonl_begin(&w, &line, "batch.created");
		json_w_kv_str(&w, "batch", name);
		json_w_kv_uint(&w, "mailboxes", problems.nrows);
		jsonl_end(&w, &line);
	} else {
		char *dir = batch_dir(name);

		printf("Batch %s created with %zu mailbox%s (%s).\n", name, problems.nrows,
		       problems.nrows == 1 ? "" : "es", dir ? dir : "");
		printf("Next: mailferry check %s, then mailferry migrate %s --dry-run\n", name, name);
		free(dir);
	}
	rc = MF_EXIT_OK;
out:
	csvin_result_free(&problems);
	batch_settings_clear(&s);
	args_clear(&a);
	return rc;
}

/* ---------------------------------------------------------------- set, import */

static int wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	return 0;
}

static int cmd_batch_set(int argc, char **argv, struct cli_globals *g)
{
	struct mf_batch_settings s;
	struct batch_args a = {0};
	struct mf_batch *b;
	struct mf_err err;
	const char *name = argc > 1 && argv[1][0] != '-' ? argv[1] : g->batch;
	int rc;

	if (wants_help(argc, argv)) {
		printf("Usage: mailferry batch set NAME [OPTION]...\n"
		       "Changes the settings of batch NAME; the options are those of "
		       "'mailferry batch create' (see mailferry(1)); --csv FILE replaces the list "
		       "of mailboxes.\n");
		return MF_EXIT_OK;
	}
	if (argc > 1 && argv[1][0] != '-') {
		argc--;
		argv++;
	}
	if ((rc = cli_open_batch(name, BATCH_LOCK, 0, &b)))
		return rc;
	if (batch_settings_copy(&s, batch_settings(b))) {
		batch_close(b);
		return MF_EXIT_INTERNAL;
	}
	rc = parse_settings(argc, argv, &s, &a, &err);
	if (rc) { /* a bad command line: the same status as batch create's */
		batch_settings_clear(&s);
		args_clear(&a);
		batch_close(b);
		if (rc == 1) {
			create_usage(stdout);
			return MF_EXIT_OK;
		}
		return cli_fail_msg(a.json, err.code == MF_E_CONFIG ? MF_EXIT_USAGE : cli_exit_for(&err),
				    "batch set: %s", err.msg);
	}
	if (optind < argc) {
		batch_settings_clear(&s);
		args_clear(&a);
		batch_close(b);
		return cli_fail_msg(a.json, MF_EXIT_USAGE, "batch set: unexpected argument '%s'",
				    argv[optind]);
	}
	if (apply_m365_defaults(&s, &a) || batch_save_settings(b, &s, &err))
		rc = -1;
	if (!rc && a.source_admin && batch_set_secret(b, "source-admin", a.source_admin, &err))
		rc = -1;
	if (!rc && a.target_admin && batch_set_secret(b, "target-admin", a.target_admin, &err))
		rc = -1;
	if (!rc && a.client_secret && batch_set_secret(b, "client", a.client_secret, &err))
		rc = -1;
	if (!rc && a.csv) {
		struct csvin_result problems = {0};

		rc = batch_import_csv(b, a.csv, &problems, &err);
		cli_print_csv_problems(&problems, a.csv, a.json);
		csvin_result_free(&problems);
	}
	rc = rc ? cli_fail(a.json, &err) : MF_EXIT_OK;
	if (!rc && !a.json)
		printf("Batch %s updated.\n", name);
	batch_settings_clear(&s);
	args_clear(&a);
	batch_close(b);
	return rc;
}

/* ---------------------------------------------------------------- list, show */

static int cmd_batch_list(int argc, char **argv, struct cli_globals *g)
{
	size_t n;
	char **names = batch_list(&n);
	int json = argc > 1 && !strcmp(argv[1], "--json");

	(void)g;
	for (size_t i = 0; i < n; i++) {
		if (json) {
			struct mf_buf line;
			struct json_w w;

			jsonl_begin(&w, &line, "batch");
			json_w_kv_str(&w, "batch", names[i]);
			jsonl_end(&w, &line);
		} else {
			printf("%s\n", names[i]);
		}
	}
	if (!n && !json)
		fprintf(stderr, "No batches yet: create one with 'mailferry batch create'.\n");
	batch_list_free(names, n);
	return MF_EXIT_OK;
}

static void show_endpoint(const char *label, const struct mf_endpoint *e)
{
	printf("%-8s %s:%u  security %s%s, login %s", label, e->host ? e->host : "(not set)",
	       e->port ? e->port : (e->security == MF_SEC_SSL ? 993 : 143),
	       mf_security_name(e->security), e->allow_plaintext ? " (plaintext allowed)" : "",
	       mf_auth_mode_name(e->auth));
	if (e->auth == MF_AUTH_ADMIN)
		printf(" as %s (%s form)", e->admin_user ? e->admin_user : "?",
		       mf_admin_form_name(e->admin_form));
	if (e->ca_file)
		printf(", CA %s", e->ca_file);
	printf("\n");
}

static int cmd_batch_show(int argc, char **argv, struct cli_globals *g)
{
	const char *name = argc > 1 && argv[1][0] != '-' ? argv[1] : g->batch;
	struct mf_batch *b;
	const struct mf_batch_settings *s;
	struct ledger_mailbox *mb;
	size_t n;
	struct mf_err err;
	int rc;

	if (wants_help(argc, argv)) {
		printf("Usage: mailferry batch show NAME\nShows the settings of batch NAME (never a "
		       "password).\n");
		return MF_EXIT_OK;
	}
	if ((rc = cli_open_batch(name, 0, 0, &b)))
		return rc;
	s = batch_settings(b);
	printf("Batch    %s (%s)\n", s->name, batch_path(b));
	show_endpoint("Source", &s->source);
	show_endpoint("Target", &s->target);
	printf("Kind     %s\n", s->target_kind == MF_TARGET_M365 ? "Microsoft 365" : "IMAP server");
	if (s->target_kind == MF_TARGET_M365)
		printf("Tenant   %s, app %s, %s\n", s->m365.tenant ? s->m365.tenant : "?",
		       s->m365.client_id ? s->m365.client_id : "?",
		       s->m365.cert_file ? "certificate" : "client secret");
	printf("CSV      %s\n", s->csv_origin ? s->csv_origin : "?");
	for (size_t i = 0; i < s->nexclude; i++)
		printf("Exclude  %s\n", s->exclude[i]);
	printf("Workers  %u mailboxes at a time, pipeline %u, timeout %ld s\n", s->concurrency,
	       s->pipeline_depth, s->cmd_timeout_ms / 1000);
	if (s->max_message_size) {
		char size[16];

		format_bytes(size, sizeof(size), s->max_message_size);
		printf("Limit    messages over %s (%llu bytes) are skipped\n", size,
		       (unsigned long long)s->max_message_size);
	}
	if (ledger_mailboxes(batch_ledger(b), &mb, &n, &err) == 0) {
		printf("Mailboxes %zu\n", n);
		ledger_mailboxes_free(mb, n);
	}
	batch_close(b);
	return MF_EXIT_OK;
}

static int cmd_batch_delete(int argc, char **argv, struct cli_globals *g)
{
	const char *name = argc > 1 && argv[1][0] != '-' ? argv[1] : g->batch;
	int yes = 0;
	struct mf_err err;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--yes"))
			yes = 1;
	if (!name)
		return cli_usage_error("batch delete needs a batch name");
	if (!yes)
		return cli_fail_msg(0, MF_EXIT_USAGE,
				    "deleting batch %s removes its ledger and stored credentials (the "
				    "mail on the servers is not touched); add --yes to confirm",
				    name);
	if (batch_delete(name, &err))
		return cli_fail(0, &err);
	printf("Batch %s deleted.\n", name);
	return MF_EXIT_OK;
}

static int cmd_batch_import(int argc, char **argv, struct cli_globals *g)
{
	return cmd_batch_set(argc, argv, g);
}

/* ---------------------------------------------------------------- dispatch */

int cmd_batch(int argc, char **argv, struct cli_globals *g)
{
	static const struct cli_command sub[] = {
		{"create", cmd_batch_create, "NAME --csv F ...", "create a batch"},
		{"set", cmd_batch_set, "NAME [OPTIONS]", "change a batch's settings"},
		{"import", cmd_batch_import, "NAME --csv F", "replace the list of mailboxes"},
		{"list", cmd_batch_list, "", "list batches"},
		{"show", cmd_batch_show, "NAME", "show a batch's settings"},
		{"delete", cmd_batch_delete, "NAME --yes", "delete a batch (not the mail)"},
	};

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		FILE *out = argc < 2 ? stderr : stdout;

		fprintf(out, "Usage: mailferry batch COMMAND ...\n");
		for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++)
			fprintf(out, "  %-7s %-18s %s\n", sub[i].name, sub[i].synopsis, sub[i].summary);
		return argc < 2 ? MF_EXIT_USAGE : MF_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++)
		if (!strcmp(argv[1], sub[i].name)) {
			optind = 0;
			return sub[i].run(argc - 1, argv + 1, g);
		}
	return cli_usage_error("unknown batch command '%s'", argv[1]);
}
