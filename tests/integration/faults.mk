# tests/integration/faults.mk: issue 5's network-fault, attack, hostile-server
# and odd-message suites: shell TAP tests against real Dovecot servers (the
# lab), tests/proxy/mfproxy and tests/proxy/mffake, sharing fault_lib.sh.
# MF_LONG_TESTS=1 runs the long loops (about 45 reset offsets per side instead
# of a handful, the default 120 s timeout for real, R-03's 500 +- 200 ms and
# 64 KB/s).  Default run: about 4 minutes with make -j2.
EXTRA_DIST += tests/integration/fault_lib.sh

FAULT_TESTS = \
	tests/integration/fault_reset.test \
	tests/integration/fault_timeout.test \
	tests/integration/fault_restart.test \
	tests/integration/fault_throttle.test \
	tests/integration/fault_bye.test \
	tests/integration/fault_shaping.test \
	tests/integration/fault_hostile.test \
	tests/integration/fault_oddmsg.test \
	tests/integration/attack_starttls.test \
	tests/integration/attack_tls.test
TESTS += $(FAULT_TESTS)
EXTRA_DIST += $(FAULT_TESTS)
