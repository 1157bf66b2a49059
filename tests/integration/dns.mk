# tests/integration/dns.mk: src/net/dns against real NSD servers (tests/lab/mfdns)
check_PROGRAMS += tests/lab/dnsprobe
tests_lab_dnsprobe_SOURCES = tests/lab/dnsprobe.c
tests_lab_dnsprobe_LDADD = $(MF_CORE_LIBS)
