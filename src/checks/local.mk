# src/checks: live prerequisite checks, one small function per check, and the step actions
libmfcore_a_SOURCES += \
	src/checks/checks_list.h src/checks/checks_p.h \
	src/checks/facts.c src/checks/facts.h \
	src/checks/template.c src/checks/template.h \
	src/checks/registry.c \
	src/checks/run.c \
	src/checks/common.c \
	src/checks/status.c \
	src/checks/actions.c \
	src/checks/step1_users.c \
	src/checks/step2_source.c \
	src/checks/step2_domains.c \
	src/checks/step3_census.c \
	src/checks/step4_credentials.c \
	src/checks/step5_csv.c \
	src/checks/step6_endpoint.c \
	src/checks/step7_migration.c \
	src/checks/step8_optimize.c \
	src/checks/step9_mx.c \
	src/checks/step10_routing.c \
	src/checks/step11_inform.c
