# tests/unit/csv.mk: the mailbox CSV loader and its corpus of good and bad files
EXTRA_DIST += tests/data/csv
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_csvin
tests_unit_test_csvin_SOURCES = tests/unit/test_csvin.c
tests_unit_test_csvin_CFLAGS = $(MF_UNIT_CFLAGS)
tests_unit_test_csvin_LDADD = $(MF_UNIT_LDADD)
TESTS += tests/unit/test_csvin
endif
