# tests/integration/checks.mk
