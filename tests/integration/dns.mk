# tests/integration/dns.mk
