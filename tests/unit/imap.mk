# tests/unit/imap.mk: the IMAP response parser, modified UTF-7, command syntax, message identity
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_imap_parser tests/unit/test_mutf7 tests/unit/test_imap_syntax \
	tests/unit/test_identity
tests_unit_test_imap_parser_SOURCES = tests/unit/test_imap_parser.c
tests_unit_test_imap_parser_CFLAGS = $(MF_UNIT_CFLAGS)
tests_unit_test_imap_parser_LDADD = $(MF_UNIT_LDADD)
tests_unit_test_mutf7_SOURCES = tests/unit/test_mutf7.c
tests_unit_test_mutf7_CFLAGS = $(MF_UNIT_CFLAGS)
tests_unit_test_mutf7_LDADD = $(MF_UNIT_LDADD)
tests_unit_test_imap_syntax_SOURCES = tests/unit/test_imap_syntax.c
tests_unit_test_imap_syntax_CFLAGS = $(MF_UNIT_CFLAGS)
tests_unit_test_imap_syntax_LDADD = $(MF_UNIT_LDADD)
tests_unit_test_identity_SOURCES = tests/unit/test_identity.c
tests_unit_test_identity_CFLAGS = $(MF_UNIT_CFLAGS)
tests_unit_test_identity_LDADD = $(MF_UNIT_LDADD)
TESTS += tests/unit/test_imap_parser tests/unit/test_mutf7 tests/unit/test_imap_syntax \
	tests/unit/test_identity
endif
