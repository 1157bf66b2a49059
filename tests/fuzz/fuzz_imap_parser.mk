# tests/fuzz/fuzz_imap_parser.mk: the IMAP response parser, split points fuzzed too
check_PROGRAMS += tests/fuzz/replay_fuzz_imap_parser
tests_fuzz_replay_fuzz_imap_parser_SOURCES = tests/fuzz/fuzz_imap_parser.c tests/fuzz/replay_main.c
tests_fuzz_replay_fuzz_imap_parser_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR='"$(srcdir)/tests/fuzz/corpus/fuzz_imap_parser"'
tests_fuzz_replay_fuzz_imap_parser_LDADD = $(MF_CORE_LIBS)
TESTS += tests/fuzz/replay_fuzz_imap_parser
FUZZ_TARGETS += tests/fuzz/fuzz_imap_parser-fuzzer
tests_fuzz_fuzz_imap_parser_fuzzer_SOURCES = tests/fuzz/fuzz_imap_parser.c
tests_fuzz_fuzz_imap_parser_fuzzer_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_imap_parser_fuzzer_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_imap_parser_fuzzer_LDADD = $(MF_CORE_LIBS)
EXTRA_DIST += tests/fuzz/corpus/fuzz_imap_parser
