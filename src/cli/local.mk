# src/cli: argument parsing, headless subcommands, JSON Lines output
mailferry_SOURCES += \
	src/cli/cli.c src/cli/cli.h \
	src/cli/demo.c \
	src/cli/lab.c src/cli/lab.h
noinst_HEADERS += include/exitcodes.h include/version.h include/batch.h
pkglibexec_SCRIPTS += tests/lab/mflab
