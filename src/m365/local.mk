# src/m365
