/* mailferry - errors classified by blast radius */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "util/err.h"

static const char *const code_names[] = {
#define MF_ERR_NAME(name, text) #name,
	MF_ERR_CODES(MF_ERR_NAME)
#undef MF_ERR_NAME
};

static const char *const code_texts[] = {
#define MF_ERR_TEXT(name, text) text,
	MF_ERR_CODES(MF_ERR_TEXT)
#undef MF_ERR_TEXT
};

_Static_assert(sizeof(code_names) / sizeof(code_names[0]) == MF_E__COUNT, "error names");

int mf_vfail(struct mf_err *e, enum mf_scope scope, enum mf_errcode code, const char *fmt,
	     va_list ap)
{
	if (!e)
		return -1;
	e->scope = scope;
	e->code = code;
	e->retry_ms = 0;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	return -1;
}

int mf_fail(struct mf_err *e, enum mf_scope scope, enum mf_errcode code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mf_vfail(e, scope, code, fmt, ap);
	va_end(ap);
	return -1;
}

int mf_fail_nomem(struct mf_err *e, enum mf_scope scope)
{
	return mf_fail(e, scope, MF_E_NOMEM, "out of memory");
}

void mf_err_prefix(struct mf_err *e, const char *fmt, ...)
{
	char head[256];
	size_t hl, ol;
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	hl = strlen(head);
	ol = strlen(e->msg);
	if (hl + ol >= sizeof(e->msg))
		ol = sizeof(e->msg) - 1 - hl; /* keep the context, cut the tail */
	memmove(e->msg + hl, e->msg, ol);
	memcpy(e->msg, head, hl);
	e->msg[hl + ol] = 0;
}

void mf_err_clear(struct mf_err *e)
{
	if (e)
		memset(e, 0, sizeof(*e));
}

void mf_err_widen(struct mf_err *e, enum mf_scope scope)
{
	if (e && e->scope < scope)
		e->scope = scope;
}

const char *mf_errcode_name(enum mf_errcode code)
{
	return (unsigned)code < MF_E__COUNT ? code_names[code] : "UNKNOWN";
}

const char *mf_errcode_text(enum mf_errcode code)
{
	return (unsigned)code < MF_E__COUNT ? code_texts[code] : "unknown error";
}

const char *mf_scope_name(enum mf_scope scope)
{
	static const char *const names[] = {"none", "message", "folder", "connection", "mailbox",
					    "batch"};

	return (unsigned)scope < sizeof(names) / sizeof(names[0]) ? names[scope] : "unknown";
}
