# tests/integration/dns.mk: src/net/dns against real NSD servers (tests/lab/mfdns)
check_PROGRAMS += tests/lab/dnsprobe
tests_lab_dnsprobe_SOURCES = tests/lab/dnsprobe.c
tests_lab_dnsprobe_LDADD = $(MF_CORE_LIBS)
DNS_TESTS = \
	tests/integration/dns_lookup.test \
	tests/integration/dns_failures.test \
	tests/integration/dns_propagation.test \
	tests/integration/dns_auth.test
TESTS += $(DNS_TESTS)
EXTRA_DIST += $(DNS_TESTS) tests/lab/mfdns tests/data/dns
