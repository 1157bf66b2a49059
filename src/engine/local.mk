# src/engine: planner (folder map), per-folder sync, worker pool, progress, verify
libmfcore_a_SOURCES += \
	src/engine/engine.c src/engine/engine_p.h \
	src/engine/flags.c \
	src/engine/folder.c \
	src/engine/mailbox.c \
	src/engine/plan.c src/engine/plan.h \
	src/engine/spool.c src/engine/spool.h \
	src/engine/verify.c
noinst_HEADERS += include/engine.h include/checks.h
