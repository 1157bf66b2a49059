# src/batch
