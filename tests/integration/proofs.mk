# tests/integration/proofs.mk
