# tests/fuzz: libFuzzer targets.  Each target NAME has
#   tests/fuzz/NAME.c            defining LLVMFuzzerTestOneInput
#   tests/fuzz/corpus/NAME/      seed inputs and every crash ever found
#   tests/fuzz/NAME.mk           its build rules (pattern below)
# `make check` replays every corpus with tests/fuzz/replay_main.c (under ASan
# and UBSan with --enable-sanitizers); `make fuzz` (configure CC=clang
# --with-fuzzer=clang) builds the real fuzzers as tests/fuzz/NAME-fuzzer.
#
# Pattern for NAME.mk:
#   check_PROGRAMS += tests/fuzz/replay_NAME
#   tests_fuzz_replay_NAME_SOURCES = tests/fuzz/NAME.c tests/fuzz/replay_main.c
#   tests_fuzz_replay_NAME_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR='"$(srcdir)/tests/fuzz/corpus/NAME"'
#   tests_fuzz_replay_NAME_LDADD = $(MF_CORE_LIBS)
#   TESTS += tests/fuzz/replay_NAME
#   FUZZ_TARGETS += tests/fuzz/NAME-fuzzer
#   tests_fuzz_NAME_fuzzer_SOURCES = tests/fuzz/NAME.c
#   tests_fuzz_NAME_fuzzer_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer,address,undefined
#   tests_fuzz_NAME_fuzzer_LDFLAGS = -fsanitize=fuzzer,address,undefined
#   tests_fuzz_NAME_fuzzer_LDADD = $(MF_CORE_LIBS)
#   EXTRA_DIST += tests/fuzz/corpus/NAME

FUZZ_TARGETS =
EXTRA_PROGRAMS = $(FUZZ_TARGETS)
EXTRA_DIST += tests/fuzz/replay_main.c

include tests/fuzz/fuzz_imap_parser.mk
include tests/fuzz/fuzz_mutf7.mk
include tests/fuzz/fuzz_csv.mk
include tests/fuzz/fuzz_json.mk
include tests/fuzz/fuzz_session.mk

fuzz: $(FUZZ_TARGETS)
.PHONY: fuzz
