# src/util: logging with redaction, secrets, buffers, time, files, processes
libmfcore_a_SOURCES += \
	src/util/buf.c src/util/buf.h \
	src/util/err.c src/util/err.h \
	src/util/fs.c src/util/fs.h \
	src/util/log.c src/util/log.h \
	src/util/mem.c src/util/mem.h \
	src/util/proc.c src/util/proc.h \
	src/util/secret.c src/util/secret.h \
	src/util/timeutil.c src/util/timeutil.h
include src/util/json.mk
