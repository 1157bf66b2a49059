# src/imap/parse.mk: response parser, modified UTF-7, IMAP syntax helpers
libmfcore_a_SOURCES += \
	src/imap/parser.c src/imap/parser.h \
	src/imap/mutf7.c src/imap/mutf7.h \
	src/imap/syntax.c src/imap/syntax.h
