# src/m365: Microsoft Graph client, OAuth2 tokens (client secret, certificate JWT)
libmfcore_a_SOURCES += \
	src/m365/graph.c src/m365/graph.h \
	src/m365/jwt.c src/m365/jwt.h \
	src/m365/oauth.c src/m365/oauth.h
