# screens/: one file per wizard step (+ home, dashboard), each an init/draw/key trio.
# They read the model (src/ui/wizard.c) and never do I/O; main.c starts the wizard.
if WITH_TUI
libmfui_a_SOURCES += \
	screens/screens.h \
	screens/stepbase.h \
	screens/common.c \
	screens/stepbase.c \
	screens/step01.c \
	screens/step02.c \
	screens/step03.c \
	screens/step04.c \
	screens/step05.c \
	screens/step06.c \
	screens/step07.c \
	screens/step08.c \
	screens/step09.c \
	screens/step10.c \
	screens/step11.c \
	screens/home.c \
	screens/batches.c \
	screens/dashboard.c \
	screens/details.c \
	screens/main.c
endif
