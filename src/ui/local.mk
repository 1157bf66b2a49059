# src/ui: the UI loop and widgets (the only code besides screens/ that includes curses)
if WITH_TUI
libmfui_a_SOURCES += \
	src/ui/dialog.c \
	src/ui/draw.c \
	src/ui/form.c \
	src/ui/list.c \
	src/ui/loop.c \
	src/ui/screen.c \
	src/ui/term.c \
	src/ui/textutil.c src/ui/textutil.h \
	src/ui/tui.h \
	src/ui/ui_p.h \
	src/ui/version.c \
	src/ui/wizard.c src/ui/wizard.h
endif
noinst_HEADERS += include/ui.h
