# tests/unit/ui.mk (wrap Check programs in 'if HAVE_CHECK')
