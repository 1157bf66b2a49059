# tests/unit/m365.mk (wrap Check programs in 'if HAVE_CHECK')
