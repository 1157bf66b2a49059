# src/batch: a batch: settings, mailbox list, step status, the ledger (SQLite)
libmfcore_a_SOURCES += \
	src/batch/batch.c \
	src/batch/connect.c src/batch/connect.h \
	src/batch/ledger.c src/batch/ledger.h \
	src/batch/tenant.c src/batch/tenant.h
include src/batch/csvin.mk
