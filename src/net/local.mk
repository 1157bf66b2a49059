# src/net: transport (libcurl connect-only), HTTPS, DNS
libmfcore_a_SOURCES += \
	src/net/transport.c src/net/transport.h
include src/net/http.mk
include src/net/dns.mk
