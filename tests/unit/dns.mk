# tests/unit/dns.mk: DNS answer decoding and the Microsoft 365 predicates (src/net/dns)
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_dns
tests_unit_test_dns_SOURCES = tests/unit/test_dns.c
tests_unit_test_dns_CFLAGS = $(MF_UNIT_CFLAGS)
tests_unit_test_dns_LDADD = $(MF_UNIT_LDADD)
TESTS += tests/unit/test_dns
endif
