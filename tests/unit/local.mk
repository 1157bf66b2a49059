# tests/unit: Check unit tests for pure logic; each prints TAP.
if HAVE_CHECK
MF_UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
MF_UNIT_LDADD = $(MF_CORE_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test_util
tests_unit_test_util_SOURCES = tests/unit/test_util.c tests/unit/unit.h
tests_unit_test_util_CFLAGS = $(MF_UNIT_CFLAGS)
tests_unit_test_util_LDADD = $(MF_UNIT_LDADD)
TESTS += tests/unit/test_util
endif
