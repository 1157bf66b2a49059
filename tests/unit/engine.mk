# tests/unit/engine.mk: the ledger (SQLite) unit tests
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_ledger
tests_unit_test_ledger_SOURCES = tests/unit/test_ledger.c
tests_unit_test_ledger_CFLAGS = $(MF_UNIT_CFLAGS)
tests_unit_test_ledger_LDADD = $(MF_UNIT_LDADD)
TESTS += tests/unit/test_ledger
endif
