/* Unit tests for src/imap/parser.c: the incremental IMAP response parser.
 *
 * Every transcript is parsed three ways (whole, one byte at a time, in
 * uneven chunks) and must give the same responses.  Responses are compared
 * through a canonical text form:
 *   untagged data    * [N ]KEYWORD arg arg ...
 *   status           <tag or * or +> STATUS [code] |text|
 * with atoms as sent, strings in double quotes (\xNN for bytes that are
 * not printable), NIL as NIL, lists in parentheses, streamed literals as
 * <streamed N>. */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "imap/parser.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

/* ------------------------------------------------------------ canonical form */

static void dump_value(struct mf_buf *b, const struct imap_value *v)
{
	switch (v->type) {
	case IMAP_ATOM:
		buf_append(b, v->str, v->len);
		break;
	case IMAP_NIL:
		buf_puts(b, "NIL");
		break;
	case IMAP_STRING:
		buf_putc(b, '"');
		for (size_t i = 0; i < v->len; i++) {
			unsigned char c = (unsigned char)v->str[i];

			if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
				buf_putc(b, (char)c);
			else
				buf_printf(b, "\\x%02x", c);
		}
		buf_putc(b, '"');
		break;
	case IMAP_LIST:
		buf_putc(b, '(');
		for (size_t i = 0; i < v->len; i++) {
			if (i)
				buf_putc(b, ' ');
			dump_value(b, &v->items[i]);
		}
		buf_putc(b, ')');
		break;
	case IMAP_STREAMED:
		buf_printf(b, "<streamed %zu>", v->len);
		break;
	}
}

static const char *status_name(enum imap_status st)
{
	static const char *const names[] = {"NONE", "OK", "NO", "BAD", "BYE", "PREAUTH"};

	return names[st];
}

static void dump_response(struct mf_buf *b, const struct imap_response *r)
{
	if (r->kind == IMAP_R_CONTINUATION) {
		buf_puts(b, "+");
	} else if (r->kind == IMAP_R_TAGGED) {
		buf_printf(b, "%s %s", r->tag, status_name(r->status));
	} else if (r->status != IMAP_ST_NONE) {
		buf_printf(b, "* %s", status_name(r->status));
	} else {
		buf_puts(b, "*");
		if (r->has_number)
			buf_printf(b, " %" PRIu32, r->number);
		buf_printf(b, " %s", r->keyword);
		for (size_t i = 0; i < r->args->len; i++) {
			buf_putc(b, ' ');
			dump_value(b, &r->args->items[i]);
		}
		buf_putc(b, '\n');
		return;
	}
	if (r->code) {
		buf_puts(b, " [");
		for (size_t i = 0; i < r->code->len; i++) {
			if (i)
				buf_putc(b, ' ');
			dump_value(b, &r->code->items[i]);
		}
		buf_putc(b, ']');
	}
	buf_printf(b, " |%s|\n", r->text);
}

/* ------------------------------------------------------------------- driving */

/* A sink that streams literals whose key starts with BODY[ and records the
 * calls it got. */
struct rec_sink {
	struct mf_buf log;
	uint64_t bytes;
	int open;
};

static int rec_begin(void *aux, const struct imap_response *partial, const char *key, uint64_t size,
                     struct mf_err *err)
{
	struct rec_sink *s = aux;

	ck_assert(!s->open);
	buf_printf(&s->log, "begin %s %s %" PRIu64 ";", key ? key : "(null)",
	           partial->keyword ? partial->keyword : "(null)", size);
	if (key && !strncmp(key, "BODY[", 5)) {
		s->open = 1;
		s->bytes = 0;
		return 1;
	}
	return 0;
}

static int rec_write(void *aux, const char *data, size_t n, struct mf_err *err)
{
	struct rec_sink *s = aux;

	ck_assert(s->open && n > 0);
	s->bytes += n;
	return 0;
}

static int rec_end(void *aux, struct mf_err *err)
{
	struct rec_sink *s = aux;

	ck_assert(s->open);
	s->open = 0;
	buf_printf(&s->log, "end %" PRIu64 ";", s->bytes);
	return 0;
}

/* Parses in with chunks of `chunk` bytes (0: all at once) and returns the
 * canonical form of every response, then "ERR <message>" on an error. */
static char *parse_with(const char *in, size_t len, size_t chunk,
                        const struct imap_parser_limits *lim, struct rec_sink *sink)
{
	const struct imap_literal_sink s = {rec_begin, rec_write, rec_end, sink};
	struct imap_parser *p = imap_parser_new(lim, sink ? &s : NULL);
	struct mf_buf out;
	size_t pos = 0;

	ck_assert_ptr_nonnull(p);
	buf_init(&out, 0);
	while (pos < len) {
		size_t n = chunk && len - pos > chunk ? chunk : len - pos, off = 0;
		int failed = 0;

		while (off < n) {
			const struct imap_response *r;
			struct mf_err err = {0};
			size_t used;
			int rc = imap_parser_next(p, in + pos + off, n - off, &used, &r, &err);

			if (rc < 0) {
				ck_assert_int_eq(err.scope, MF_SCOPE_CONN);
				buf_printf(&out, "ERR %s\n", err.msg);
				failed = 1;
				break;
			}
			off += used;
			if (rc == 1)
				dump_response(&out, r);
		}
		if (failed)
			break;
		pos += n;
	}
	imap_parser_free(p);
	return out.data ? buf_steal(&out) : strdup("");
}

/* The canonical form, checked to be the same whatever the chunking; with
 * stream, BODY[...] literals go to a recording sink, whose calls must be the
 * same too. */
static char *parse_all(const char *in, size_t len, const struct imap_parser_limits *lim, int stream)
{
	static const size_t chunks[] = {1, 2, 3, 7, 64};
	struct rec_sink ref_sink = {0};
	char *whole;

	buf_init(&ref_sink.log, 0);
	whole = parse_with(in, len, 0, lim, stream ? &ref_sink : NULL);
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct rec_sink sink = {0};
		char *split;

		buf_init(&sink.log, 0);
		split = parse_with(in, len, chunks[i], lim, stream ? &sink : NULL);
		ck_assert_str_eq(split, whole);
		ck_assert_str_eq(sink.log.data ? sink.log.data : "",
		                 ref_sink.log.data ? ref_sink.log.data : "");
		free(split);
		buf_free(&sink.log);
	}
	buf_free(&ref_sink.log);
	return whole;
}

static void expect(const char *in, const char *want)
{
	char *got = parse_all(in, strlen(in), NULL, 0);

	ck_assert_str_eq(got, want);
	free(got);
	/* the same with literals streamed (to a sink that counts them) */
	free(parse_all(in, strlen(in), NULL, 1));
}

/* Parses exactly one response (whole input) and hands it to check(). */
struct one {
	struct imap_parser *p;
	const struct imap_response *r;
};

static struct one parse_one(const char *in, size_t len, const struct imap_literal_sink *sink)
{
	struct one o;
	struct mf_err err = {0};
	size_t used;

	o.p = imap_parser_new(NULL, sink);
	ck_assert_ptr_nonnull(o.p);
	ck_assert_int_eq(imap_parser_next(o.p, in, len, &used, &o.r, &err), 1);
	ck_assert_uint_eq(used, len);
	return o;
}

/* -------------------------------------------------------- real server lines */

START_TEST(dovecot_greeting)
{
	const char *in = "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE "
	                 "LITERAL+ STARTTLS AUTH=PLAIN] Dovecot ready.\r\n";
	struct one o = parse_one(in, strlen(in), NULL);

	ck_assert_int_eq(o.r->kind, IMAP_R_UNTAGGED);
	ck_assert_int_eq(o.r->status, IMAP_ST_OK);
	ck_assert_str_eq(o.r->keyword, "OK");
	ck_assert_ptr_null(o.r->args);
	ck_assert_str_eq(o.r->text, "Dovecot ready.");
	ck_assert(imap_value_is(&o.r->code->items[0], "capability"));
	ck_assert(imap_caps_have(o.r->code, "literal+"));
	ck_assert(imap_caps_have(o.r->code, "STARTTLS"));
	ck_assert(imap_caps_have(o.r->code, "AUTH=PLAIN"));
	ck_assert(!imap_caps_have(o.r->code, "UIDPLUS"));
	ck_assert(!imap_caps_have(o.r->code, "AUTH"));
	imap_parser_free(o.p);
	expect(in, "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
	           "STARTTLS AUTH=PLAIN] |Dovecot ready.|\n");
}
END_TEST

START_TEST(permanentflags_code)
{
	const char *in = "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft "
	                 "$Label1 \\*)] Flags permitted.\r\n";
	struct one o = parse_one(in, strlen(in), NULL);
	const struct imap_value *flags = &o.r->code->items[1];

	ck_assert_uint_eq(o.r->code->len, 2);
	ck_assert_int_eq(flags->type, IMAP_LIST);
	ck_assert_uint_eq(flags->len, 7);
	ck_assert(imap_value_is(&flags->items[6], "\\*"));
	ck_assert(imap_caps_have(flags, "$label1"));
	ck_assert_str_eq(o.r->text, "Flags permitted.");
	imap_parser_free(o.p);
}
END_TEST

START_TEST(appenduid_tagged)
{
	const char *in = "a1 OK [APPENDUID 1795322435 1] Append completed (0.006 + 0.000 + "
	                 "0.005 secs).\r\n";
	struct one o = parse_one(in, strlen(in), NULL);
	uint64_t v;

	ck_assert_int_eq(o.r->kind, IMAP_R_TAGGED);
	ck_assert_str_eq(o.r->tag, "a1");
	ck_assert_int_eq(o.r->status, IMAP_ST_OK);
	ck_assert(imap_value_is(&o.r->code->items[0], "APPENDUID"));
	ck_assert_int_eq(imap_value_number(&o.r->code->items[1], &v), 0);
	ck_assert_uint_eq(v, 1795322435);
	ck_assert_int_eq(imap_value_number(&o.r->code->items[2], &v), 0);
	ck_assert_uint_eq(v, 1);
	ck_assert_str_eq(o.r->text, "Append completed (0.006 + 0.000 + 0.005 secs).");
	imap_parser_free(o.p);
}
END_TEST

START_TEST(status_codes_of_all_kinds)
{
	expect("a2 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n"
	       "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
	       "* OK [UNSEEN 12]\r\n"
	       "* OK [READ-ONLY] EXAMINE completed\r\n"
	       "* NO [ALERT] Quota nearly exceeded\r\n"
	       "a3 NO [TRYCREATE] Mailbox doesn't exist: Foo\r\n"
	       "a4 BAD [BADCHARSET (UTF-8 \"US-ASCII\")] no\r\n"
	       "* OK [REFERRAL imap://user;AUTH=*@SERVER2/] try there\r\n"
	       "* OK [] empty code\r\n"
	       "* OK [unterminated code text\r\n"
	       "* OK [X \"open] quote stays text\r\n"
	       "* OK text [ALERT] not a code when not first\r\n",
	       "a2 OK [COPYUID 38505 304,319:320 3956:3958] |Done|\n"
	       "* OK [UIDVALIDITY 3857529045] |UIDs valid|\n"
	       "* OK [UNSEEN 12] ||\n"
	       "* OK [READ-ONLY] |EXAMINE completed|\n"
	       "* NO [ALERT] |Quota nearly exceeded|\n"
	       "a3 NO [TRYCREATE] |Mailbox doesn't exist: Foo|\n"
	       "a4 BAD [BADCHARSET (UTF-8 \"US-ASCII\")] |no|\n"
	       "* OK [REFERRAL imap://user;AUTH=*@SERVER2/] |try there|\n"
	       "* OK [] |empty code|\n"
	       "* OK |[unterminated code text|\n"
	       "* OK |[X \"open] quote stays text|\n"
	       "* OK |text [ALERT] not a code when not first|\n");
}
END_TEST

START_TEST(exchange_lines)
{
	expect("* OK The Microsoft Exchange IMAP4 service is ready. "
	       "[TQBOADIAUABSADAAMQBDAEEAMAAwADEANwAuAG4AYQBtAHAAcgBkADAAMQAuAHAAcgBvAGQALgBvAHUA"
	       "dABsAG8AbwBrAC4AYwBvAG0A]\r\n"
	       "a NO Request is throttled. Suggested Backoff Time: 299961 milliseconds\r\n"
	       "* ID (\"name\" \"Microsoft.Exchange.Imap4.Imap4Server\" \"version\" \"15.20\")\r\n"
	       "* BYE Connection closed\r\n",
	       "* OK |The Microsoft Exchange IMAP4 service is ready. "
	       "[TQBOADIAUABSADAAMQBDAEEAMAAwADEANwAuAG4AYQBtAHAAcgBkADAAMQAuAHAAcgBvAGQALgBvAHUA"
	       "dABsAG8AbwBrAC4AYwBvAG0A]|\n"
	       "a NO |Request is throttled. Suggested Backoff Time: 299961 milliseconds|\n"
	       "* ID (\"name\" \"Microsoft.Exchange.Imap4.Imap4Server\" \"version\" \"15.20\")\n"
	       "* BYE |Connection closed|\n");
}
END_TEST

START_TEST(id_response_lookup)
{
	const char *in = "* ID (\"name\" \"Microsoft.Exchange.Imap4.Imap4Server\" \"version\" "
	                 "\"15.20\")\r\n";
	struct one o = parse_one(in, strlen(in), NULL);
	const struct imap_value *name;

	ck_assert_str_eq(o.r->keyword, "ID");
	name = imap_list_get(&o.r->args->items[0], "NAME");
	ck_assert_ptr_nonnull(name);
	ck_assert_int_eq(name->type, IMAP_STRING);
	ck_assert_str_eq(name->str, "Microsoft.Exchange.Imap4.Imap4Server");
	ck_assert_str_eq(imap_list_get(&o.r->args->items[0], "version")->str, "15.20");
	ck_assert_ptr_null(imap_list_get(&o.r->args->items[0], "vendor"));
	imap_parser_free(o.p);
}
END_TEST

START_TEST(list_responses)
{
	expect("* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\r\n"
	       "* LIST (\\Noselect \\HasChildren) NIL \"\"\r\n"
	       "* LIST () \".\" INBOX.Entw&APw-rfe\r\n"
	       "* LIST (\\HasNoChildren) \"/\" {10}\r\nA \"weird\"\n\r\n"
	       "* LIST (\\HasNoChildren) \"/\" Foo[bar\r\n"
	       "* LIST (\\HasNoChildren) \"/\" \"back\\\\slash \\\"q\\\"\"\r\n"
	       "* LSUB () \"/\" Archive\r\n",
	       "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\n"
	       "* LIST (\\Noselect \\HasChildren) NIL \"\"\n"
	       "* LIST () \".\" INBOX.Entw&APw-rfe\n"
	       "* LIST (\\HasNoChildren) \"/\" \"A \\x22weird\\x22\\x0a\"\n"
	       "* LIST (\\HasNoChildren) \"/\" Foo[bar\n"
	       "* LIST (\\HasNoChildren) \"/\" \"back\\x5cslash \\x22q\\x22\"\n"
	       "* LSUB () \"/\" Archive\n");
}
END_TEST

START_TEST(list_name_literal_goes_to_memory)
{
	/* A sink asked about a mailbox name gets no key (the value before it is
	 * the delimiter, a string) and keeps it in memory by answering 0. */
	const char *in = "* LIST (\\HasNoChildren) \"/\" {9}\r\nSent\tMail\r\n";
	struct rec_sink rs = {0};
	const struct imap_literal_sink sink = {rec_begin, rec_write, rec_end, &rs};
	struct one o;

	buf_init(&rs.log, 0);
	o = parse_one(in, strlen(in), &sink);
	ck_assert_str_eq(rs.log.data, "begin (null) LIST 9;");
	ck_assert_int_eq(o.r->args->items[2].type, IMAP_STRING);
	ck_assert_str_eq(o.r->args->items[2].str, "Sent\tMail");
	imap_parser_free(o.p);
	buf_free(&rs.log);
}
END_TEST

START_TEST(status_namespace_and_small_responses)
{
	expect("* STATUS \"Old Mail\" (MESSAGES 4 UIDNEXT 5 UIDVALIDITY 1)\r\n"
	       "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n"
	       "* NAMESPACE ((\"INBOX.\" \".\")) ((\"user.\" \".\")) ((\"\" \".\" \"X-PARAM\" "
	       "(\"a\")))\r\n"
	       "* SEARCH 2 3 6\r\n"
	       "* SEARCH\r\n"
	       "* SEARCH \r\n"
	       "* 3 EXPUNGE\r\n"
	       "* 12 EXISTS\r\n"
	       "* 2 RECENT\r\n"
	       "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
	       "* ENABLED\r\n"
	       "* ENABLED CONDSTORE UTF8=ACCEPT\r\n"
	       "* CAPABILITY IMAP4rev1 UIDPLUS MOVE SPECIAL-USE\r\n",
	       "* STATUS \"Old Mail\" (MESSAGES 4 UIDNEXT 5 UIDVALIDITY 1)\n"
	       "* NAMESPACE ((\"\" \"/\")) NIL NIL\n"
	       "* NAMESPACE ((\"INBOX.\" \".\")) ((\"user.\" \".\")) ((\"\" \".\" \"X-PARAM\" "
	       "(\"a\")))\n"
	       "* SEARCH 2 3 6\n"
	       "* SEARCH\n"
	       "* SEARCH\n"
	       "* 3 EXPUNGE\n"
	       "* 12 EXISTS\n"
	       "* 2 RECENT\n"
	       "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\n"
	       "* ENABLED\n"
	       "* ENABLED CONDSTORE UTF8=ACCEPT\n"
	       "* CAPABILITY IMAP4rev1 UIDPLUS MOVE SPECIAL-USE\n");
}
END_TEST

START_TEST(status_items_lookup)
{
	const char *in = "* STATUS \"Old Mail\" (MESSAGES 4 UIDNEXT 5 UIDVALIDITY 1)\r\n";
	struct one o = parse_one(in, strlen(in), NULL);
	uint64_t v;

	ck_assert_str_eq(o.r->args->items[0].str, "Old Mail");
	ck_assert_int_eq(imap_value_number(imap_list_get(&o.r->args->items[1], "uidnext"), &v), 0);
	ck_assert_uint_eq(v, 5);
	ck_assert_int_eq(imap_value_number(imap_list_get(&o.r->args->items[1], "MESSAGES"), &v), 0);
	ck_assert_uint_eq(v, 4);
	ck_assert_ptr_null(imap_list_get(&o.r->args->items[1], "UNSEEN"));
	imap_parser_free(o.p);
}
END_TEST

START_TEST(numbers_parse_strictly)
{
	struct imap_value v = {.type = IMAP_ATOM};
	uint64_t n;

	v.str = "18446744073709551615";
	v.len = strlen(v.str);
	ck_assert_int_eq(imap_value_number(&v, &n), 0);
	ck_assert_uint_eq(n, UINT64_MAX);
	v.str = "18446744073709551616";
	ck_assert_int_eq(imap_value_number(&v, &n), -1);
	v.str = "-1";
	v.len = 2;
	ck_assert_int_eq(imap_value_number(&v, &n), -1);
	v.str = "";
	v.len = 0;
	ck_assert_int_eq(imap_value_number(&v, &n), -1);
	v.str = "12a";
	v.len = 3;
	ck_assert_int_eq(imap_value_number(&v, &n), -1);
	v.type = IMAP_NIL;
	v.str = "NIL";
	ck_assert_int_eq(imap_value_number(&v, &n), -1);
	ck_assert(!imap_value_is(&v, "NIL")); /* NIL is not the atom "NIL" */
	ck_assert(!imap_value_is(NULL, "x"));
	ck_assert_ptr_null(imap_list_get(NULL, "x"));
	ck_assert(!imap_caps_have(NULL, "x"));
}
END_TEST

START_TEST(continuations_preauth_bye)
{
	expect("+ \r\n"
	       "+\r\n"
	       "+ base64==\r\n"
	       "+ idling\r\n"
	       "+ OK\r\n"
	       "* PREAUTH [CAPABILITY IMAP4rev1 IDLE] Logged in as alice\r\n"
	       "* BYE Connection closed\r\n"
	       "* BYE\r\n",
	       "+ ||\n"
	       "+ ||\n"
	       "+ |base64==|\n"
	       "+ |idling|\n"
	       "+ |OK|\n"
	       "* PREAUTH [CAPABILITY IMAP4rev1 IDLE] |Logged in as alice|\n"
	       "* BYE |Connection closed|\n"
	       "* BYE ||\n");
}
END_TEST

START_TEST(fetch_full_message)
{
	expect("* 1 FETCH (UID 7 FLAGS (\\Seen $Label1) INTERNALDATE \"17-Jul-1996 02:44:25 "
	       "-0700\" RFC822.SIZE 4286 BODY[HEADER.FIELDS (MESSAGE-ID DATE)] {53}\r\n"
	       "Message-ID: <a@b>\r\nDate: Mon, 7 Feb 1994 21:52:25\r\n\r\n"
	       " BODY[] {5}\r\nhello)\r\n"
	       "a5 OK Fetch completed (0.001 + 0.000 secs).\r\n",
	       "* 1 FETCH (UID 7 FLAGS (\\Seen $Label1) INTERNALDATE \"17-Jul-1996 02:44:25 "
	       "-0700\" RFC822.SIZE 4286 BODY[HEADER.FIELDS (MESSAGE-ID DATE)] "
	       "\"Message-ID: <a@b>\\x0d\\x0aDate: Mon, 7 Feb 1994 21:52:25\\x0d\\x0a\\x0d\\x0a\" "
	       "BODY[] \"hello\")\n"
	       "a5 OK |Fetch completed (0.001 + 0.000 secs).|\n");
}
END_TEST

START_TEST(fetch_list_stays_open_across_a_literal)
{
	const char *in = "* 1 FETCH (UID 7 BODY[] {5}\r\nhello FLAGS (\\Seen))\r\n";
	struct one o;
	const struct imap_value *att, *body;
	uint64_t uid;

	expect(in, "* 1 FETCH (UID 7 BODY[] \"hello\" FLAGS (\\Seen))\n");
	o = parse_one(in, strlen(in), NULL);
	ck_assert_str_eq(o.r->keyword, "FETCH");
	ck_assert(o.r->has_number);
	ck_assert_uint_eq(o.r->number, 1);
	ck_assert_uint_eq(o.r->args->len, 1);
	att = &o.r->args->items[0];
	ck_assert_int_eq(imap_value_number(imap_list_get(att, "UID"), &uid), 0);
	ck_assert_uint_eq(uid, 7);
	body = imap_list_get(att, "BODY[]");
	ck_assert_int_eq(body->type, IMAP_STRING);
	ck_assert_uint_eq(body->len, 5);
	ck_assert_str_eq(body->str, "hello");
	ck_assert(imap_caps_have(imap_list_get(att, "FLAGS"), "\\seen"));
	imap_parser_free(o.p);
}
END_TEST

START_TEST(fetch_literal_forms)
{
	const char in[] = "* 2 FETCH (BODY[] {0}\r\n UID 8)\r\n"
	                  "* 3 FETCH (BINARY[] ~{3}\r\na\0b UID 9)\r\n"
	                  "* 4 FETCH (BODY[]<0> {2+}\r\nhi)\r\n"
	                  "* 5 FETCH (BODY[TEXT] {4}\r\n{5}\n)\r\n";

	char *got = parse_all(in, sizeof(in) - 1, NULL, 0);

	ck_assert_str_eq(got, "* 2 FETCH (BODY[] \"\" UID 8)\n"
	                      "* 3 FETCH (BINARY[] \"a\\x00b\" UID 9)\n"
	                      "* 4 FETCH (BODY[]<0> \"hi\")\n"
	                      "* 5 FETCH (BODY[TEXT] \"{5}\\x0a\")\n");
	free(got);
}
END_TEST

START_TEST(lowercase_keywords_and_tags)
{
	expect("* ok [capability imap4rev1 literal+] hi\r\n"
	       "* 3 exists\r\n"
	       "* 1 fetch (uid 4 body[] {2}\r\nhi)\r\n"
	       "* list (\\noselect) \"/\" nil\r\n"
	       "a1 ok done\r\n"
	       "A002 no nope\r\n"
	       "x.9 bad [parse] what?\r\n"
	       "* bye see you\r\n"
	       "* preauth welcome\r\n",
	       "* OK [capability imap4rev1 literal+] |hi|\n"
	       "* 3 EXISTS\n"
	       "* 1 FETCH (uid 4 body[] \"hi\")\n"
	       "* LIST (\\noselect) \"/\" NIL\n"
	       "a1 OK |done|\n"
	       "A002 NO |nope|\n"
	       "x.9 BAD [parse] |what?|\n"
	       "* BYE |see you|\n"
	       "* PREAUTH |welcome|\n");
}
END_TEST

START_TEST(nil_keeps_its_spelling)
{
	const char *in = "* LIST () \"/\" nil\r\n";
	struct one o = parse_one(in, strlen(in), NULL);

	ck_assert_int_eq(o.r->args->items[2].type, IMAP_NIL);
	ck_assert_str_eq(o.r->args->items[2].str, "nil"); /* a mailbox called "nil" */
	imap_parser_free(o.p);
}
END_TEST

START_TEST(status_text_is_never_a_literal)
{
	/* Dovecot quotes the mailbox name back in its error text; a name that
	 * ends in "{5}" must not make us swallow the next response. */
	expect("a2 NO Mailbox doesn't exist: x{5}\r\n* 1 EXISTS\r\n"
	       "* OK [ALERT] {3}\r\n+ {2}\r\n",
	       "a2 NO |Mailbox doesn't exist: x{5}|\n* 1 EXISTS\n"
	       "* OK [ALERT] |{3}|\n+ |{2}|\n");
}
END_TEST

START_TEST(pipelined_responses_in_one_buffer)
{
	const char *in = "* 1 EXISTS\r\n* 1 RECENT\r\na1 OK done\r\n* 2 EXISTS";
	struct imap_parser *p = imap_parser_new(NULL, NULL);
	const struct imap_response *r;
	struct mf_err err;
	size_t used, off = 0, len = strlen(in);

	ck_assert_int_eq(imap_parser_next(p, in, len, &used, &r, &err), 1);
	ck_assert_uint_eq(used, 12);
	ck_assert_str_eq(r->keyword, "EXISTS");
	off += used;
	ck_assert_int_eq(imap_parser_next(p, in + off, len - off, &used, &r, &err), 1);
	ck_assert_str_eq(r->keyword, "RECENT");
	off += used;
	ck_assert_int_eq(imap_parser_next(p, in + off, len - off, &used, &r, &err), 1);
	ck_assert_str_eq(r->tag, "a1");
	off += used;
	/* an incomplete line is consumed and kept */
	ck_assert_int_eq(imap_parser_next(p, in + off, len - off, &used, &r, &err), 0);
	ck_assert_uint_eq(used, len - off);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(imap_parser_next(p, "\r\n", 2, &used, &r, &err), 1);
	ck_assert_uint_eq(r->number, 2);
	ck_assert_int_eq(imap_parser_next(p, "", 0, &used, &r, &err), 0);
	imap_parser_free(p);
}
END_TEST

/* -------------------------------------------------------------- hostile input */

static void expect_error(const char *in, size_t len, const struct imap_parser_limits *lim,
                         const char *words)
{
	char *got = parse_all(in, len, lim, 0);
	const char *err = strstr(got, "ERR IMAP protocol error: ");

	ck_assert_msg(err != NULL, "no error for \"%s\": %s", in, got);
	ck_assert_msg(strstr(err, words) != NULL, "\"%s\" not in \"%s\"", words, err);
	free(got);
}

static void expect_error_str(const char *in, const char *words)
{
	expect_error(in, strlen(in), NULL, words);
}

START_TEST(hostile_literal_sizes)
{
	expect_error_str("* 1 FETCH (BODY[] {18446744073709551615}\r\n",
	                 "literal of 18446744073709551615 bytes exceeds the limit of 4294967296");
	expect_error_str("* 1 FETCH (BODY[] {18446744073709551616}\r\n",
	                 "{18446744073709551616} does not fit in 64 bits");
	expect_error_str("* 1 FETCH (BODY[] {-1}\r\n", "invalid literal size {-1}");
	expect_error_str("* 1 FETCH (BODY[] {99999999999999999999999}\r\n",
	                 "{99999999999999999999999} has more than 20 digits");
	expect_error_str("* 1 FETCH (BODY[] {}\r\n", "empty literal size {}");
	expect_error_str("* 1 FETCH (BODY[] {+}\r\n", "invalid literal size {+}");
	expect_error_str("* 1 FETCH (BODY[] {5\r\n", "invalid literal size {5");
	expect_error_str("* 1 FETCH (BODY[] {5} )\r\n", "{5} is not at the end of the line");
	expect_error_str("* 1 FETCH (BODY[] {0x10}\r\n", "invalid literal size {0x10}");
	/* a literal bigger than memory may hold, with nobody to stream it to */
	expect_error_str("* 1 FETCH (BODY[] {1048577}\r\n",
	                 "literal of 1048577 bytes is larger than the 1048576 bytes");
}
END_TEST

START_TEST(hostile_framing)
{
	expect_error_str("* OK hi\rX\n", "CR not followed by LF");
	expect_error_str("* OK hi\r\r\n", "CR not followed by LF");
	expect_error_str("* OK hi\n", "LF without CR");
	expect_error("* OK h\0i\r\n", 10, NULL, "NUL byte outside a literal");
	expect_error_str("\r\n", "empty line");
	expect_error_str("* LIST () \"/ INBOX\r\n", "unterminated quoted string: \"/ INBOX");
	expect_error_str("* LIST () \"/\" \"INBOX\\\"\r\n", "unterminated quoted string");
	expect_error_str("a1\r\n", "tagged response without OK, NO or BAD: a1");
	expect_error_str("a1 \r\n", "tagged response without OK, NO or BAD");
	expect_error_str("a1 FOO bar\r\n", "tagged response without OK, NO or BAD: a1 FOO bar");
	expect_error_str("a1 BYE bar\r\n", "tagged response without OK, NO or BAD");
	expect_error_str(" OK x\r\n", "starts with a space");
	expect_error_str("* \r\n", "untagged response without a keyword");
	expect_error_str("*\r\n", "untagged response without a keyword");
	expect_error_str("* 5\r\n", "untagged response without a keyword");
	expect_error_str("* 4294967296 EXISTS\r\n", "message number out of range");
	expect_error_str("* FLAGS (\\Seen))\r\n", "unbalanced ')'");
	expect_error_str("* FLAGS (\\Seen\r\n", "line ended inside a parenthesised list");
	expect_error_str("* 1 FETCH (BODY[] {2}\r\nab\r\n", "line ended inside");
}
END_TEST

START_TEST(error_leaves_parser_failed)
{
	struct imap_parser *p = imap_parser_new(NULL, NULL);
	const struct imap_response *r;
	struct mf_err err = {0};
	size_t used;

	ck_assert_int_eq(imap_parser_next(p, "a1 WHAT\r\n", 9, &used, &r, &err), -1);
	ck_assert_int_eq(err.scope, MF_SCOPE_CONN);
	ck_assert_int_eq(err.code, MF_E_PROTO);
	mf_err_clear(&err);
	ck_assert_int_eq(imap_parser_next(p, "a1 OK\r\n", 7, &used, &r, &err), -1);
	ck_assert_int_eq(err.code, MF_E_PROTO);
	ck_assert_ptr_nonnull(strstr(err.msg, "a1 WHAT"));
	ck_assert_int_eq(imap_parser_next(p, "a1 OK\r\n", 7, &used, &r, NULL), -1);
	imap_parser_free(p);
}
END_TEST

START_TEST(megabyte_line_fails_early)
{
	struct imap_parser *p = imap_parser_new(NULL, NULL);
	char chunk[4096];
	const struct imap_response *r;
	struct mf_err err = {0};
	size_t used, fed = 0;
	int rc = 0;

	memset(chunk, 'a', sizeof(chunk));
	memcpy(chunk, "* SEARCH ", 9);
	while (fed < 1024 * 1024 && rc == 0) {
		rc = imap_parser_next(p, chunk, sizeof(chunk), &used, &r, &err);
		ck_assert_uint_lt(imap_parser_mem_usage(p), 160 * 1024);
		memset(chunk, 'a', 9);
		fed += sizeof(chunk);
	}
	ck_assert_int_eq(rc, -1);
	ck_assert_uint_le(fed, 64 * 1024 + sizeof(chunk));
	ck_assert_int_eq(err.code, MF_E_PROTO);
	ck_assert_ptr_nonnull(strstr(err.msg, "line longer than 65536 bytes: * SEARCH aaa"));
	imap_parser_free(p);
}
END_TEST

static char *nested(unsigned depth)
{
	struct mf_buf b;

	buf_init(&b, 0);
	buf_puts(&b, "* X ");
	for (unsigned i = 0; i < depth; i++)
		buf_putc(&b, '(');
	buf_putc(&b, 'a');
	for (unsigned i = 0; i < depth; i++)
		buf_putc(&b, ')');
	buf_puts(&b, "\r\n");
	return buf_steal(&b);
}

START_TEST(nesting_limit)
{
	char *ok = nested(32), *bad = nested(33), *got;

	got = parse_all(ok, strlen(ok), NULL, 0);
	ck_assert_ptr_null(strstr(got, "ERR"));
	free(got);
	expect_error_str(bad, "lists nested deeper than 32 levels");
	free(ok);
	free(bad);
	/* nesting in a response code counts too */
	{
		const struct imap_parser_limits lim = {.max_depth = 2};

		char *fine = parse_all("* OK [X ((a))] t\r\n", 18, &lim, 0);

		ck_assert_str_eq(fine, "* OK [X ((a))] |t|\n");
		free(fine);
		expect_error("* OK [X (((a)))] t\r\n", 20, &lim, "nested deeper than 2");
	}
}
END_TEST

START_TEST(item_limit)
{
	const struct imap_parser_limits small = {.max_items = 5};
	const struct imap_parser_limits wide = {.max_line = 1024 * 1024};
	struct mf_buf b;
	char *got;

	got = parse_all("* SEARCH 1 2 3 4 5\r\n", 20, &small, 0);
	ck_assert_str_eq(got, "* SEARCH 1 2 3 4 5\n");
	free(got);
	expect_error("* SEARCH 1 2 3 4 5 6\r\n", 22, &small, "more than 5 values in one response");
	expect_error("* X (1 2) (3 4)\r\n", 17, &small, "more than 5 values");
	/* the default: 100000 */
	buf_init(&b, 0);
	buf_puts(&b, "* SEARCH");
	for (int i = 0; i < 100001; i++)
		buf_puts(&b, " 1");
	buf_puts(&b, "\r\n");
	{
		struct imap_parser *p = imap_parser_new(&wide, NULL);
		const struct imap_response *r;
		struct mf_err err = {0};
		size_t used;

		ck_assert_int_eq(imap_parser_next(p, b.data, b.len, &used, &r, &err), -1);
		ck_assert_ptr_nonnull(strstr(err.msg, "more than 100000 values"));
		imap_parser_free(p);
		p = imap_parser_new(&wide, NULL);
		b.len -= 2; /* 100000 values are fine */
		memcpy(b.data + b.len - 2, "\r\n", 2);
		ck_assert_int_eq(imap_parser_next(p, b.data, b.len, &used, &r, &err), 1);
		ck_assert_uint_eq(r->args->len, 100000);
		imap_parser_free(p);
	}
	buf_free(&b);
}
END_TEST

START_TEST(response_memory_limit)
{
	const struct imap_parser_limits lim = {.max_mem_literal = 100, .max_response_mem = 1000};
	struct mf_buf b;

	buf_init(&b, 0);
	buf_puts(&b, "* 1 FETCH (");
	for (int i = 0; i < 20; i++) {
		buf_printf(&b, "X%d {100}\r\n", i);
		for (int k = 0; k < 100; k++)
			buf_putc(&b, 'z');
		buf_putc(&b, ' ');
	}
	buf_puts(&b, ")\r\n");
	expect_error(b.data, b.len, &lim, "a response needs more than 1000 bytes of memory");
	buf_free(&b);
}
END_TEST

static int refusing_begin(void *aux, const struct imap_response *partial, const char *key,
                          uint64_t size, struct mf_err *err)
{
	return mf_fail(err, MF_SCOPE_MSG, MF_E_TOOBIG, "message of %" PRIu64 " bytes is too big",
	               size);
}

START_TEST(sink_error_is_passed_on)
{
	const struct imap_literal_sink sink = {refusing_begin, NULL, NULL, NULL};
	struct imap_parser *p = imap_parser_new(NULL, &sink);
	const char *in = "* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n";
	const struct imap_response *r;
	struct mf_err err = {0};
	size_t used;

	ck_assert_int_eq(imap_parser_next(p, in, strlen(in), &used, &r, &err), -1);
	ck_assert_int_eq(err.scope, MF_SCOPE_MSG);
	ck_assert_int_eq(err.code, MF_E_TOOBIG);
	ck_assert_str_eq(err.msg, "message of 10 bytes is too big");
	imap_parser_free(p);
}
END_TEST

/* ------------------------------------------------------------------ streaming */

struct big_sink {
	uint64_t bytes, sum, expect_size;
	size_t writes, max_mem;
	int begun, ended;
	struct imap_parser **p;
};

static int big_begin(void *aux, const struct imap_response *partial, const char *key, uint64_t size,
                     struct mf_err *err)
{
	struct big_sink *s = aux;

	ck_assert_str_eq(key, "BODY[]");
	ck_assert_int_eq(partial->kind, IMAP_R_UNTAGGED);
	ck_assert(partial->has_number);
	ck_assert_uint_eq(partial->number, 42);
	ck_assert_str_eq(partial->keyword, "FETCH");
	ck_assert_uint_eq(size, s->expect_size);
	s->begun++;
	return 1;
}

static int big_write(void *aux, const char *data, size_t n, struct mf_err *err)
{
	struct big_sink *s = aux;
	size_t mem = imap_parser_mem_usage(*s->p);

	for (size_t i = 0; i < n; i++)
		s->sum += (unsigned char)data[i];
	s->bytes += n;
	s->writes++;
	if (mem > s->max_mem)
		s->max_mem = mem;
	return 0;
}

static int big_end(void *aux, struct mf_err *err)
{
	struct big_sink *s = aux;

	ck_assert_uint_eq(s->bytes, s->expect_size);
	s->ended++;
	return 0;
}

START_TEST(streams_a_60mb_body)
{
	const uint64_t size = 60ull * 1024 * 1024;
	struct imap_parser *p = NULL;
	struct big_sink bs = {.expect_size = size, .p = &p};
	const struct imap_literal_sink sink = {big_begin, big_write, big_end, &bs};
	char head[128], chunk[4096];
	const char *tail = " FLAGS (\\Seen))\r\n";
	const struct imap_response *r = NULL;
	struct mf_err err = {0};
	uint64_t sent = 0, sum = 0;
	size_t used;
	const struct imap_value *body;

	p = imap_parser_new(NULL, &sink);
	snprintf(head, sizeof(head), "* 42 FETCH (UID 9 BODY[] {%" PRIu64 "}\r\n", size);
	ck_assert_int_eq(imap_parser_next(p, head, strlen(head), &used, &r, &err), 0);
	ck_assert_int_eq(bs.begun, 1);
	while (sent < size) {
		size_t n = sizeof(chunk);

		for (size_t i = 0; i < n; i++) {
			chunk[i] = (char)('A' + (sent + i) % 26);
			sum += (unsigned char)chunk[i];
		}
		ck_assert_int_eq(imap_parser_next(p, chunk, n, &used, &r, &err), 0);
		ck_assert_uint_eq(used, n);
		sent += n;
	}
	ck_assert_int_eq(bs.ended, 1);
	ck_assert_int_eq(imap_parser_next(p, tail, strlen(tail), &used, &r, &err), 1);
	ck_assert_uint_eq(bs.bytes, size);
	ck_assert_uint_eq(bs.sum, sum);
	ck_assert_uint_eq(bs.writes, size / sizeof(chunk)); /* no copying, no re-chunking */
	ck_assert_uint_le(bs.max_mem, 256 * 1024);
	ck_assert_uint_le(imap_parser_mem_usage(p), 256 * 1024);
	body = imap_list_get(&r->args->items[0], "BODY[]");
	ck_assert_int_eq(body->type, IMAP_STREAMED);
	ck_assert_uint_eq(body->len, size);
	ck_assert_ptr_null(body->str);
	ck_assert(imap_caps_have(imap_list_get(&r->args->items[0], "FLAGS"), "\\Seen"));
	imap_parser_free(p);
}
END_TEST

START_TEST(sink_sees_keys_and_partials)
{
	struct rec_sink rs = {0};
	const char *in = "* 3 FETCH (UID 1 BODY[HEADER.FIELDS (MESSAGE-ID)] {4}\r\nab\r\n"
	                 " BODY[] {6}\r\nbody\r\n RFC822.SIZE 6 X-GM-LABELS ({3}\r\nabc))\r\n"
	                 "* LIST () \"/\" {4}\r\nname\r\n";
	char *got;

	buf_init(&rs.log, 0);
	got = parse_with(in, strlen(in), 0, NULL, &rs);
	ck_assert_str_eq(got, "* 3 FETCH (UID 1 BODY[HEADER.FIELDS (MESSAGE-ID)] <streamed 4> "
	                      "BODY[] <streamed 6> RFC822.SIZE 6 X-GM-LABELS (\"abc\"))\n"
	                      "* LIST () \"/\" \"name\"\n");
	ck_assert_str_eq(rs.log.data, "begin BODY[HEADER.FIELDS (MESSAGE-ID)] FETCH 4;end 4;"
	                              "begin BODY[] FETCH 6;end 6;"
	                              "begin (null) FETCH 3;"
	                              "begin (null) LIST 4;");
	free(got);
	buf_free(&rs.log);
}
END_TEST

START_TEST(set_sink_switches_sinks)
{
	struct rec_sink rs = {0};
	const struct imap_literal_sink sink = {rec_begin, rec_write, rec_end, &rs};
	struct imap_parser *p = imap_parser_new(NULL, NULL);
	const char *in = "* 1 FETCH (BODY[] {3}\r\nabc)\r\n";
	const struct imap_response *r;
	struct mf_err err;
	size_t used;

	buf_init(&rs.log, 0);
	ck_assert_int_eq(imap_parser_next(p, in, strlen(in), &used, &r, &err), 1);
	ck_assert_int_eq(r->args->items[0].items[1].type, IMAP_STRING);
	imap_parser_set_sink(p, &sink);
	ck_assert_int_eq(imap_parser_next(p, in, strlen(in), &used, &r, &err), 1);
	ck_assert_int_eq(r->args->items[0].items[1].type, IMAP_STREAMED);
	imap_parser_set_sink(p, NULL);
	ck_assert_int_eq(imap_parser_next(p, in, strlen(in), &used, &r, &err), 1);
	ck_assert_int_eq(r->args->items[0].items[1].type, IMAP_STRING);
	ck_assert_str_eq(rs.log.data, "begin BODY[] FETCH 3;end 3;");
	imap_parser_free(p);
	buf_free(&rs.log);
}
END_TEST

/* --------------------------------------------------------- memory over time */

START_TEST(memory_stays_flat_over_100000_responses)
{
	static const char *const script[] = {
	        ("* 1 FETCH (UID 7 FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
	         "RFC822.SIZE 11 BODY[] {11}\r\nhello world)\r\n"),
	        "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\r\n",
	        "a1 OK [APPENDUID 1795322435 1] Append completed.\r\n",
	        "* 12 EXISTS\r\n",
	        "* STATUS \"Old Mail\" (MESSAGES 4 UIDNEXT 5 UIDVALIDITY 1)\r\n",
	};
	struct imap_parser *p = imap_parser_new(NULL, NULL);
	size_t baseline = 0, peak = 0;
	struct mf_buf big, wide;

	/* one big response first: its memory must be given back */
	buf_init(&big, 0);
	buf_puts(&big, "* 1 FETCH (BODY[] {1000000}\r\n");
	for (int i = 0; i < 1000000; i++)
		buf_putc(&big, 'x');
	buf_puts(&big, ")\r\n");
	/* and a long line with many values */
	buf_init(&wide, 0);
	buf_puts(&wide, "* SEARCH");
	for (int i = 0; i < 12000; i++)
		buf_printf(&wide, " %d", i + 1);
	buf_puts(&wide, "\r\n");
	for (int i = 0; i < 100001; i++) {
		const struct mf_buf *special = i == 50 ? &big : i == 60 ? &wide : NULL;
		const char *in = special ? special->data : script[i % 5];
		size_t len = special ? special->len : strlen(in), off = 0;

		while (off < len) {
			const struct imap_response *r;
			struct mf_err err;
			size_t used;
			int rc = imap_parser_next(p, in + off, len - off, &used, &r, &err);

			ck_assert_int_ge(rc, 0);
			off += used;
		}
		if (i == 1000)
			baseline = imap_parser_mem_usage(p);
		if (i > 1000 && imap_parser_mem_usage(p) > peak)
			peak = imap_parser_mem_usage(p);
	}
	ck_assert_uint_gt(baseline, 0);
	ck_assert_uint_le(peak, baseline);
	ck_assert_uint_lt(baseline, 32 * 1024);
	imap_parser_free(p);
	buf_free(&big);
	buf_free(&wide);
}
END_TEST

/* Every allocation failure must give a clean out-of-memory error, never a
 * crash or a leak (ASan checks the leaks). */
START_TEST(survives_every_allocation_failure)
{
	const char *in = "* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n"
	                 "* 1 FETCH (UID 7 FLAGS (\\Seen) BODY[] {5}\r\nhello)\r\n"
	                 "* LIST (\\HasNoChildren) \"/\" {4}\r\nname\r\n"
	                 "a1 OK [APPENDUID 1 2] done\r\n";
	char env[32];
	int completed = 0;

	for (int n = 1; n < 200 && !completed; n++) {
		struct imap_parser *p;
		size_t off = 0, len = strlen(in), responses = 0;

		snprintf(env, sizeof(env), "%d", n);
		setenv("MAILFERRY_TEST_FAIL_ALLOC", env, 1);
		mf_mem_init_hooks();
		p = imap_parser_new(NULL, NULL);
		while (p && off < len) {
			const struct imap_response *r;
			struct mf_err err = {0};
			size_t used;
			int rc = imap_parser_next(p, in + off, 1, &used, &r, &err);

			if (rc < 0) {
				ck_assert_int_eq(err.code, MF_E_NOMEM);
				ck_assert_int_eq(err.scope, MF_SCOPE_CONN);
				break;
			}
			off += used;
			responses += rc;
		}
		completed = p && responses == 4;
		imap_parser_free(p);
	}
	unsetenv("MAILFERRY_TEST_FAIL_ALLOC");
	mf_mem_init_hooks();
	ck_assert(completed);
}
END_TEST

static Suite *parser_suite(void)
{
	Suite *s = suite_create("imap_parser");
	TCase *real = tcase_create("real servers");
	TCase *hostile = tcase_create("hostile input");
	TCase *stream = tcase_create("streaming and memory");

	tcase_add_test(real, dovecot_greeting);
	tcase_add_test(real, permanentflags_code);
	tcase_add_test(real, appenduid_tagged);
	tcase_add_test(real, status_codes_of_all_kinds);
	tcase_add_test(real, exchange_lines);
	tcase_add_test(real, id_response_lookup);
	tcase_add_test(real, list_responses);
	tcase_add_test(real, list_name_literal_goes_to_memory);
	tcase_add_test(real, status_namespace_and_small_responses);
	tcase_add_test(real, status_items_lookup);
	tcase_add_test(real, numbers_parse_strictly);
	tcase_add_test(real, continuations_preauth_bye);
	tcase_add_test(real, fetch_full_message);
	tcase_add_test(real, fetch_list_stays_open_across_a_literal);
	tcase_add_test(real, fetch_literal_forms);
	tcase_add_test(real, lowercase_keywords_and_tags);
	tcase_add_test(real, nil_keeps_its_spelling);
	tcase_add_test(real, status_text_is_never_a_literal);
	tcase_add_test(real, pipelined_responses_in_one_buffer);
	suite_add_tcase(s, real);

	tcase_add_test(hostile, hostile_literal_sizes);
	tcase_add_test(hostile, hostile_framing);
	tcase_add_test(hostile, error_leaves_parser_failed);
	tcase_add_test(hostile, megabyte_line_fails_early);
	tcase_add_test(hostile, nesting_limit);
	tcase_add_test(hostile, item_limit);
	tcase_add_test(hostile, response_memory_limit);
	tcase_add_test(hostile, sink_error_is_passed_on);
	suite_add_tcase(s, hostile);

	tcase_set_timeout(stream, 300);
	tcase_add_test(stream, streams_a_60mb_body);
	tcase_add_test(stream, sink_sees_keys_and_partials);
	tcase_add_test(stream, set_sink_switches_sinks);
	tcase_add_test(stream, memory_stays_flat_over_100000_responses);
	tcase_add_test(stream, survives_every_allocation_failure);
	suite_add_tcase(s, stream);
	return s;
}

UNIT_MAIN(parser_suite)
