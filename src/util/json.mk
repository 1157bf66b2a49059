# src/util/json.mk: JSON reading (Graph) and writing (JSON Lines)
libmfcore_a_SOURCES += src/util/json.c src/util/json.h
