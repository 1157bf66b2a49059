# tests/integration/m365.mk: Microsoft 365 side against tests/sim/m365sim
TESTS += \
	tests/integration/m365_failalloc.test \
	tests/integration/m365_graph.test \
	tests/integration/m365_throttle.test \
	tests/integration/m365_token.test \
	tests/integration/m365_xoauth2.test \
	tests/integration/m365_migrate.test
EXTRA_DIST += \
	tests/integration/m365_failalloc.test \
	tests/integration/m365_graph.test \
	tests/integration/m365_throttle.test \
	tests/integration/m365_token.test \
	tests/integration/m365_xoauth2.test \
	tests/integration/m365_migrate.test
