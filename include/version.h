/* mailferry - version strings of the program and the libraries it runs with */
#ifndef MF_VERSION_H
#define MF_VERSION_H

#include <stdio.h>

/* Prints "mailferry X.Y.Z" and one line per linked library, as loaded at run
 * time (ncursesw, libcurl with its TLS backend, OpenSSL, SQLite, libcsv). */
void version_print(FILE *out);

#endif
