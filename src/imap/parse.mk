# src/imap/parse.mk: response parser, modified UTF-7, IMAP syntax helpers
