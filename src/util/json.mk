# src/util/json.mk: JSON reading (Graph) and writing (JSON Lines)
