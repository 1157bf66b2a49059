# src/imap
include src/imap/parse.mk
