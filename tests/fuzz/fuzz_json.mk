# tests/fuzz/fuzz_json.mk: the JSON reader and writer (src/util/json)
check_PROGRAMS += tests/fuzz/replay_fuzz_json
tests_fuzz_replay_fuzz_json_SOURCES = tests/fuzz/fuzz_json.c tests/fuzz/replay_main.c
tests_fuzz_replay_fuzz_json_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR='"$(srcdir)/tests/fuzz/corpus/fuzz_json"'
tests_fuzz_replay_fuzz_json_LDADD = $(MF_CORE_LIBS)
TESTS += tests/fuzz/replay_fuzz_json
FUZZ_TARGETS += tests/fuzz/fuzz_json-fuzzer
tests_fuzz_fuzz_json_fuzzer_SOURCES = tests/fuzz/fuzz_json.c
tests_fuzz_fuzz_json_fuzzer_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_json_fuzzer_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_json_fuzzer_LDADD = $(MF_CORE_LIBS)
EXTRA_DIST += tests/fuzz/corpus/fuzz_json
