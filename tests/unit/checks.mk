# tests/unit/checks.mk: the pure logic of the checks (templates, server identities, CVE ranges)
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_checks
tests_unit_test_checks_SOURCES = tests/unit/test_checks.c
tests_unit_test_checks_CFLAGS = $(MF_UNIT_CFLAGS)
tests_unit_test_checks_LDADD = $(MF_UNIT_LDADD)
TESTS += tests/unit/test_checks
endif
