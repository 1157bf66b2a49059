# src/net/dns.mk: DNS MX/TXT/CNAME with TTLs (dns helper)
