# tests/integration/engine.mk
