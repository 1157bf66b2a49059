# src/batch
include src/batch/csvin.mk
