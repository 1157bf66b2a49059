# src/checks: live prerequisite checks, one small function per check
libmfcore_a_SOURCES += \
	src/checks/checks_list.h src/checks/checks_p.h \
	src/checks/registry.c \
	src/checks/run.c \
	src/checks/status.c \
	src/checks/step4_credentials.c \
	src/checks/step5_csv.c \
	src/checks/step6_endpoint.c
