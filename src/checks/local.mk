# src/checks: live prerequisite checks, one small function per check
libmfcore_a_SOURCES += \
	src/checks/status.c
