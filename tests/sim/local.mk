# tests/sim: Microsoft 365 simulator (token endpoint, Graph)
