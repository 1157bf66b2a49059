# tests/integration/proofs.mk: the proof suites of issue 5 (secrets, crashes,
# disk, concurrency, bad input, resources).  MF_LONG_TESTS=1 runs their long
# loops (see the top of each test).
PROOF_TESTS = \
	tests/integration/proof_lock.test \
	tests/integration/proof_csv.test \
	tests/integration/proof_secrets.test \
	tests/integration/proof_files.test \
	tests/integration/proof_crash.test \
	tests/integration/proof_disk.test \
	tests/integration/proof_failalloc.test
TESTS += $(PROOF_TESTS)
EXTRA_DIST += $(PROOF_TESTS) tests/integration/proof_lib.sh
EXTRA_DIST += tests/data/proofs
