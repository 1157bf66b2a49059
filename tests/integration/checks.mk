# tests/integration/checks.mk: the live prerequisite checks and the step actions
CHECKS_TESTS = \
	tests/integration/checks_census.test \
	tests/integration/checks_dns.test \
	tests/integration/checks_failalloc.test \
	tests/integration/checks_source.test \
	tests/integration/checks_tenant.test
TESTS += $(CHECKS_TESTS)
EXTRA_DIST += $(CHECKS_TESTS) tests/integration/checks_lib.sh tests/integration/checks_tlsfront.py
