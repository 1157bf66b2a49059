# tests/integration/faults.mk: issue 5's network-fault, attack, hostile-server
# and odd-message suites (shell TAP tests against real Dovecot servers,
# tests/proxy/mfproxy and tests/proxy/mffake).  MF_LONG_TESTS=1 runs the long
# loops (many more byte offsets, R-03's full latency and bandwidth).
EXTRA_DIST += tests/integration/fault_lib.sh

TESTS += tests/integration/fault_reset.test
EXTRA_DIST += tests/integration/fault_reset.test
TESTS += tests/integration/fault_timeout.test tests/integration/fault_restart.test
EXTRA_DIST += tests/integration/fault_timeout.test tests/integration/fault_restart.test
TESTS += tests/integration/fault_throttle.test tests/integration/fault_bye.test
EXTRA_DIST += tests/integration/fault_throttle.test tests/integration/fault_bye.test
TESTS += tests/integration/fault_shaping.test
EXTRA_DIST += tests/integration/fault_shaping.test
TESTS += tests/integration/attack_starttls.test
EXTRA_DIST += tests/integration/attack_starttls.test
TESTS += tests/integration/attack_tls.test
EXTRA_DIST += tests/integration/attack_tls.test
TESTS += tests/integration/fault_hostile.test
EXTRA_DIST += tests/integration/fault_hostile.test
TESTS += tests/integration/fault_oddmsg.test
EXTRA_DIST += tests/integration/fault_oddmsg.test
