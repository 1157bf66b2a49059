# tests/unit/imap.mk (wrap Check programs in 'if HAVE_CHECK')
