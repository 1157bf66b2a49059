# tests/fuzz/fuzz_csv.mk: the CSV loader (src/batch/csvin.c) under libFuzzer
check_PROGRAMS += tests/fuzz/replay_fuzz_csv
tests_fuzz_replay_fuzz_csv_SOURCES = tests/fuzz/fuzz_csv.c tests/fuzz/replay_main.c
tests_fuzz_replay_fuzz_csv_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR='"$(srcdir)/tests/fuzz/corpus/fuzz_csv"'
tests_fuzz_replay_fuzz_csv_LDADD = $(MF_CORE_LIBS)
TESTS += tests/fuzz/replay_fuzz_csv
FUZZ_TARGETS += tests/fuzz/fuzz_csv-fuzzer
# csvin.c is compiled in here too: libmfcore.a is built without coverage
# instrumentation, and libFuzzer would otherwise not see the loader at all.
tests_fuzz_fuzz_csv_fuzzer_SOURCES = tests/fuzz/fuzz_csv.c src/batch/csvin.c
tests_fuzz_fuzz_csv_fuzzer_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_csv_fuzzer_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_csv_fuzzer_LDADD = $(MF_CORE_LIBS)
EXTRA_DIST += tests/fuzz/corpus/fuzz_csv
