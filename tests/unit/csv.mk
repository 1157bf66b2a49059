# tests/unit/csv.mk (wrap Check programs in 'if HAVE_CHECK')
