# tests/unit: Check unit tests for pure logic; each prints TAP.  One fragment per area.
MF_UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
MF_UNIT_LDADD = $(MF_CORE_LIBS) $(CHECK_LIBS)
EXTRA_DIST += tests/unit/unit.h
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_util
tests_unit_test_util_SOURCES = tests/unit/test_util.c
tests_unit_test_util_CFLAGS = $(MF_UNIT_CFLAGS)
tests_unit_test_util_LDADD = $(MF_UNIT_LDADD)
TESTS += tests/unit/test_util
endif
include tests/unit/imap.mk
include tests/unit/csv.mk
include tests/unit/m365.mk
include tests/unit/dns.mk
include tests/unit/engine.mk
include tests/unit/ui.mk
include tests/unit/checks.mk
