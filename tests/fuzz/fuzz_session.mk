# tests/fuzz/fuzz_session.mk: a whole IMAP client session against a scripted
# server on a loopback socket (src/imap, the libcurl transport, STARTTLS).
check_PROGRAMS += tests/fuzz/replay_fuzz_session
tests_fuzz_replay_fuzz_session_SOURCES = tests/fuzz/fuzz_session.c tests/fuzz/replay_main.c
tests_fuzz_replay_fuzz_session_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR='"$(srcdir)/tests/fuzz/corpus/fuzz_session"'
tests_fuzz_replay_fuzz_session_LDADD = $(MF_CORE_LIBS)
TESTS += tests/fuzz/replay_fuzz_session
FUZZ_TARGETS += tests/fuzz/fuzz_session-fuzzer
tests_fuzz_fuzz_session_fuzzer_SOURCES = tests/fuzz/fuzz_session.c
tests_fuzz_fuzz_session_fuzzer_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_session_fuzzer_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_session_fuzzer_LDADD = $(MF_CORE_LIBS)
EXTRA_DIST += tests/fuzz/corpus/fuzz_session
