# src/batch/csvin.mk: Microsoft's migration CSV via libcsv
