# src/checks
