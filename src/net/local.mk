# src/net
include src/net/http.mk
include src/net/dns.mk
