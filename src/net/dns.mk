# src/net/dns.mk: DNS MX/TXT/CNAME/NS with TTLs over glibc's libresolv (dns helper)
libmfcore_a_SOURCES += src/net/dns.c src/net/dns.h
