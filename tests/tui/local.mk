# tests/tui: the wizard's UI framework driven in tmux.
#   tui.sh        the harness (sourced after tests/lib/tap.sh): private tmux server per test
#   gallery       every widget and framework feature on a few screens, with a fake
#                 pthread engine (test tooling, not product code)
#   *.test        TAP tests driving the gallery
EXTRA_DIST += tests/tui/tui.sh tests/tui/wizard.sh
TUI_TESTS = \
	tests/tui/layout.test \
	tests/tui/keys.test \
	tests/tui/render.test \
	tests/tui/lifecycle.test
# the wizard itself, against real Dovecot servers from the lab
WIZARD_TESTS = \
	tests/tui/wizard_walk.test \
	tests/tui/wizard_migrate.test \
	tests/tui/wizard_resume.test \
	tests/tui/wizard_demo.test
EXTRA_DIST += $(TUI_TESTS) $(WIZARD_TESTS) tests/tui/layers.test
# the layering rule holds with or without the TUI
TESTS += tests/tui/layers.test
if WITH_TUI
check_PROGRAMS += tests/tui/gallery
tests_tui_gallery_SOURCES = tests/tui/gallery.c
tests_tui_gallery_LDADD = $(MF_UI_LIBS) $(MF_CORE_LIBS)
TESTS += $(TUI_TESTS) $(WIZARD_TESTS)
endif
