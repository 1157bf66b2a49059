# src/imap: IMAP client: parser, command queue, session, modified UTF-7
libmfcore_a_SOURCES += \
	src/imap/auth.c \
	src/imap/ops.c src/imap/ops.h \
	src/imap/session.c src/imap/session.h src/imap/session_p.h
include src/imap/parse.mk
