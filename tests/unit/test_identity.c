/* Unit tests for a message's identity (src/imap/ops.c): where a header ends,
 * and that the identity taken from a whole message equals the one taken from
 * the server's BODY[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)] answer,
 * which is what the other side of a migration is recognised by. */
#include "config.h"

#include <string.h>

#include "unit.h"
#include "imap/ops.h"

struct header_case {
	const char *msg;
	size_t header_len;
};

static const struct header_case headers[] = {
        {"", 0},
        {"\r\nbody only\r\n", 0},
        {"\nbody only\n", 0},
        {"Subject: a\r\n\r\nbody\r\n", 12},
        {"Subject: a\n\nbody\n", 11},
        {"Subject: a\r\n \r\n folded on\r\n\r\nbody", 27},   /* a blank-looking continuation */
        {"Subject: all header\r\nFrom: x\r\n", 30},
        {"Subject: no newline", 19},
        {"Subject: a\r\n\rX\r\n\r\nbody", 16},               /* "\rX" is not an empty line */
        {"Subject: a\r\n\r\nMessage-ID: <in-body@x>\r\n", 12},
};

START_TEST(header_ends_at_the_first_empty_line)
{
	const struct header_case *c = &headers[_i];

	ck_assert_uint_eq(imap_header_length(c->msg, strlen(c->msg)), c->header_len);
}
END_TEST

struct identity_case {
	const char *message;       /* the whole message */
	const char *header_fields; /* what a server answers to BODY[HEADER.FIELDS (...)] */
	int has_message_id;
};

static const struct identity_case identities[] = {
        {"From: a@x\r\nMessage-ID: <one@x>\r\nX-Other: 1\r\n\r\nbody\r\n",
         "From: a@x\r\nMessage-ID: <one@x>\r\n\r\n", 1},
        {"From: a@x\r\nMessage-ID:\r\n   <folded@x>\r\n\r\nbody\r\n",
         "From: a@x\r\nMessage-ID:\r\n   <folded@x>\r\n\r\n", 1},
        {"message-id: <lower@x>\r\nnot a header line\r\nSubject: s\r\n\r\nb",
         "message-id: <lower@x>\r\nSubject: s\r\n\r\n", 1},
        {"Subject: no id\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\nMessage-ID: <in-body@x>\r\n",
         "Subject: no id\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\n", 0},
        {"From: a@x\r\nMessage-ID: <hdr-only@x>\r\nSubject: all header\r\n",
         "From: a@x\r\nMessage-ID: <hdr-only@x>\r\nSubject: all header\r\n", 1},
        {"From: a@x\nSubject: bare LF\nMessage-ID: <lf@x>\n\nbody\n",
         "From: a@x\nSubject: bare LF\nMessage-ID: <lf@x>\n\n", 1},
        {"\r\nheaderless\r\n", "\r\n", 0},
        {"Message-ID: <first@x>\r\nMessage-ID: <second@x>\r\n\r\n",
         "Message-ID: <first@x>\r\nMessage-ID: <second@x>\r\n\r\n", 1},
};

START_TEST(identity_from_the_body_equals_the_servers)
{
	const struct identity_case *c = &identities[_i];
	unsigned char whole[IMAP_IDHASH_LEN], fields[IMAP_IDHASH_LEN];
	int whole_mid = -1, fields_mid = -1;
	size_t len = strlen(c->message);

	imap_message_identity(c->message, imap_header_length(c->message, len), whole, &whole_mid);
	imap_message_identity(c->header_fields, strlen(c->header_fields), fields, &fields_mid);
	ck_assert_int_eq(whole_mid, c->has_message_id);
	ck_assert_int_eq(fields_mid, c->has_message_id);
	ck_assert_mem_eq(whole, fields, IMAP_IDHASH_LEN);
}
END_TEST

START_TEST(different_messages_differ)
{
	static const char a[] = "Message-ID: <a@x>\r\n\r\n", b[] = "Message-ID: <b@x>\r\n\r\n";
	unsigned char ha[IMAP_IDHASH_LEN], hb[IMAP_IDHASH_LEN];
	int mid;

	imap_message_identity(a, sizeof(a) - 1, ha, &mid);
	imap_message_identity(b, sizeof(b) - 1, hb, &mid);
	ck_assert(memcmp(ha, hb, IMAP_IDHASH_LEN) != 0);
}
END_TEST

static Suite *identity_suite(void)
{
	Suite *s = suite_create("identity");
	TCase *tc = tcase_create("identity");

	tcase_add_loop_test(tc, header_ends_at_the_first_empty_line, 0,
	                    (int)(sizeof(headers) / sizeof(headers[0])));
	tcase_add_loop_test(tc, identity_from_the_body_equals_the_servers, 0,
	                    (int)(sizeof(identities) / sizeof(identities[0])));
	tcase_add_test(tc, different_messages_differ);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(identity_suite)
