# tests/sim: Microsoft 365 simulator (token endpoint, Graph, token introspection)
# m365sim is the server (Python 3 stdlib), sim.sh starts it from shell tests,
# m365probe drives the C API (src/m365, src/net/http) from those tests.
EXTRA_DIST += tests/sim/m365sim tests/sim/sim.sh tests/sim/tenant-sample.json
check_PROGRAMS += tests/sim/m365probe
tests_sim_m365probe_SOURCES = tests/sim/m365probe.c
tests_sim_m365probe_LDADD = $(MF_CORE_LIBS)
