# tests/proxy: fault proxy and scripted fake IMAP server
#
#   tests/proxy/mfproxy    TCP fault proxy (C): drop, reset, black-hole, delay,
#                          throttle, slice, rewrite, inject, count commands,
#                          terminate TLS.  `tests/proxy/mfproxy --help`.
#   tests/proxy/mffake     scripted IMAP server (Python 3 stdlib) replaying
#                          tests/data/fake/*.fake.  `tests/proxy/mffake --help`.
#   tests/proxy/proxy.sh   shell helpers to start/stop both from a TAP test.
check_PROGRAMS += tests/proxy/mfproxy
tests_proxy_mfproxy_SOURCES = \
	tests/proxy/mfproxy.c tests/proxy/mfproxy.h \
	tests/proxy/rule.c tests/proxy/scan.c tests/proxy/pipe.c tests/proxy/ep.c
tests_proxy_mfproxy_LDADD = $(MF_CORE_LIBS)

EXTRA_DIST += tests/proxy/mffake tests/proxy/proxy.sh tests/proxy/rawc \
	tests/data/fake

TESTS += tests/proxy/mfproxy-rules.test tests/proxy/mfproxy-lab.test \
	tests/proxy/mfproxy-tls.test tests/proxy/mffake.test
EXTRA_DIST += tests/proxy/mfproxy-rules.test tests/proxy/mfproxy-lab.test \
	tests/proxy/mfproxy-tls.test tests/proxy/mffake.test
