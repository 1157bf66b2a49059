# src/net/http.mk: HTTPS requests over libcurl easy handles (m365 helper)
