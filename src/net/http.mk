# src/net/http.mk: HTTPS requests over libcurl easy handles (m365 helper)
libmfcore_a_SOURCES += src/net/http.c src/net/http.h
