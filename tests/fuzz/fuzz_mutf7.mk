# tests/fuzz/fuzz_mutf7.mk: modified UTF-7 round trips
check_PROGRAMS += tests/fuzz/replay_fuzz_mutf7
tests_fuzz_replay_fuzz_mutf7_SOURCES = tests/fuzz/fuzz_mutf7.c tests/fuzz/replay_main.c
tests_fuzz_replay_fuzz_mutf7_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR='"$(srcdir)/tests/fuzz/corpus/fuzz_mutf7"'
tests_fuzz_replay_fuzz_mutf7_LDADD = $(MF_CORE_LIBS)
TESTS += tests/fuzz/replay_fuzz_mutf7
FUZZ_TARGETS += tests/fuzz/fuzz_mutf7-fuzzer
tests_fuzz_fuzz_mutf7_fuzzer_SOURCES = tests/fuzz/fuzz_mutf7.c
tests_fuzz_fuzz_mutf7_fuzzer_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_mutf7_fuzzer_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_mutf7_fuzzer_LDADD = $(MF_CORE_LIBS)
EXTRA_DIST += tests/fuzz/corpus/fuzz_mutf7
