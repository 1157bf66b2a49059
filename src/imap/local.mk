# src/imap
