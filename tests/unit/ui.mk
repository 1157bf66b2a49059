# tests/unit/ui.mk: the UI's pure text code (no curses: built and run with
# --disable-tui too, from the source file itself)
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_ui
tests_unit_test_ui_SOURCES = tests/unit/test_ui.c src/ui/textutil.c src/ui/textutil.h
tests_unit_test_ui_CFLAGS = $(MF_UNIT_CFLAGS)
tests_unit_test_ui_LDADD = $(MF_UNIT_LDADD)
TESTS += tests/unit/test_ui
endif
