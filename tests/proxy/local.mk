# tests/proxy: fault proxy and scripted fake IMAP server
