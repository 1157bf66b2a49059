# tests/integration: shell (TAP) tests against real servers started by the test.
include tests/integration/engine.mk
include tests/integration/m365.mk
include tests/integration/dns.mk
include tests/integration/checks.mk
include tests/integration/proofs.mk
include tests/integration/faults.mk
