# tests/unit/dns.mk (wrap Check programs in 'if HAVE_CHECK')
