# tests/integration/m365.mk
