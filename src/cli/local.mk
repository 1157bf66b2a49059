# src/cli: argument parsing, headless subcommands, JSON Lines output
mailferry_SOURCES += \
	src/cli/actioncmd.c \
	src/cli/batchcmd.c \
	src/cli/checkcmd.c \
	src/cli/cli.c src/cli/cli.h \
	src/cli/cliutil.c src/cli/cliutil.h \
	src/cli/demo.c \
	src/cli/lab.c src/cli/lab.h \
	src/cli/migrate.c \
	src/cli/status.c
noinst_HEADERS += include/exitcodes.h include/version.h include/batch.h
pkglibexec_SCRIPTS += tests/lab/mflab
