# tests/: unit tests (Check), the lab, integration, TUI (tmux), fuzz corpora.
# Every test speaks TAP; shell tests end in .test.
TEST_EXTENSIONS = .test
TEST_LOG_DRIVER = $(LOG_DRIVER)
TEST_LOG_COMPILER = bash

EXTRA_DIST += tests/lib/tap.sh tests/lab/lab.sh tests/lab/mflab

TESTS += tests/lab/lab.test
EXTRA_DIST += tests/lab/lab.test

include tests/unit/local.mk
include tests/fuzz/local.mk
include tests/integration/local.mk
include tests/tui/local.mk
include tests/proxy/local.mk
include tests/sim/local.mk
