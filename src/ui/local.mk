# src/ui: the UI loop and widgets (the only code besides screens/ that includes curses)
if WITH_TUI
libmfui_a_SOURCES += \
	src/ui/version.c
endif
noinst_HEADERS += include/ui.h
