/* mailferry fuzz target: the mailbox CSV loader (src/batch/csvin.c).
 *
 * Each input is loaded twice, with the default options and with lenient
 * ones and a tiny row limit, and the result's promises are checked: problems
 * in line order (the summary last), nerrors consistent with them, every
 * stored row complete and well-formed, formatting and report writing fine. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch/csvin.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define EXPECT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static void check_result(const struct csvin_result *r, const struct csvin_options *o)
{
	size_t listed_errors = 0, nd = 0;
	struct mf_buf b;
	char **doms;

	buf_init(&b, 0);
	for (size_t i = 0; i < r->nproblems; i++) {
		const struct csvin_problem *p = &r->problems[i];
		int summary = i + 1 == r->nproblems && r->nproblems > CSVIN_MAX_PROBLEMS;

		EXPECT(p->text && *p->text);
		EXPECT(p->severity == CSVIN_ERROR || p->severity == CSVIN_WARNING);
		if (i && !summary)
			EXPECT(r->problems[i - 1].line <= p->line);
		if (p->severity == CSVIN_ERROR && !summary)
			listed_errors++;
		buf_reset(&b);
		EXPECT(csvin_problem_format(p, &b) == 0);
	}
	EXPECT(r->nproblems <= CSVIN_MAX_PROBLEMS + 8);
	EXPECT(listed_errors <= r->nerrors);
	if (r->nproblems <= CSVIN_MAX_PROBLEMS)
		EXPECT(listed_errors == r->nerrors);
	EXPECT(r->delimiter == ',' || r->delimiter == ';');
	EXPECT(r->nrows <= (o->max_rows ? o->max_rows : CSVIN_MAX_ROWS));
	for (size_t i = 0; i < r->nrows; i++) {
		const struct csvin_row *row = &r->rows[i];

		EXPECT(row->line >= 2);
		EXPECT(i == 0 || r->rows[i - 1].line < row->line);
		EXPECT(row->email && strchr(row->email, '@') && strlen(row->email) <= 254);
		EXPECT(row->username && *row->username);
		if (!o->passwords_optional && r->nerrors == 0)
			EXPECT(row->password && secret_len(row->password) > 0);
		EXPECT(!row->password || secret_len(row->password) > 0);
		buf_reset(&b);
		EXPECT(csvin_put_field(&b, row->email, 0) == 0);
		EXPECT(csvin_put_field(&b, row->username, 1) == 0);
	}
	doms = csvin_domains(r, &nd);
	EXPECT(doms != NULL);
	EXPECT(nd <= r->nrows);
	for (size_t i = 1; i < nd; i++)
		EXPECT(strcmp(doms[i - 1], doms[i]) < 0);
	csvin_strings_free(doms, nd);
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct csvin_options opts[] = {
	        {0},
	        {.allow_unknown_columns = 1, .passwords_optional = 1, .max_rows = 3},
	};
	struct csvin_result r;
	struct mf_err err;

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		EXPECT(csvin_load_mem((const char *)data, size, &opts[i], &r, &err) == 0);
		check_result(&r, &opts[i]);
		csvin_result_free(&r);
	}
	return 0;
}
