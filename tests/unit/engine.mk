# tests/unit/engine.mk (wrap Check programs in 'if HAVE_CHECK')
