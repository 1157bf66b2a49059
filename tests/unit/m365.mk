# tests/unit/m365.mk: JSON, JWT/XOAUTH2, Graph and HTTP helpers
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_json tests/unit/test_jwt tests/unit/test_m365
tests_unit_test_json_SOURCES = tests/unit/test_json.c
tests_unit_test_json_CFLAGS = $(MF_UNIT_CFLAGS)
tests_unit_test_json_LDADD = $(MF_UNIT_LDADD)
tests_unit_test_jwt_SOURCES = tests/unit/test_jwt.c
tests_unit_test_jwt_CFLAGS = $(MF_UNIT_CFLAGS)
tests_unit_test_jwt_LDADD = $(MF_UNIT_LDADD)
tests_unit_test_m365_SOURCES = tests/unit/test_m365.c
tests_unit_test_m365_CFLAGS = $(MF_UNIT_CFLAGS)
tests_unit_test_m365_LDADD = $(MF_UNIT_LDADD)
TESTS += tests/unit/test_json tests/unit/test_jwt tests/unit/test_m365
endif
