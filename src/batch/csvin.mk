# src/batch/csvin.mk: Microsoft's migration CSV via libcsv
libmfcore_a_SOURCES += src/batch/csvin.c src/batch/csvin.h
