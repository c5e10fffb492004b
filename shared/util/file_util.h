/* Reading a whole file into memory, for the broker, the control plane and egctl. */
#ifndef EG_FILE_UTIL_H
#define EG_FILE_UTIL_H

#include <stddef.h>
#include <stdio.h>

/* The whole content of path, malloc'ed and NUL-terminated (a file may hold
 * NULs: *len, if len is not NULL, gets the byte count without the added NUL).
 * NULL with errno set when the file cannot be opened or read, or memory runs out. */
char *file_read_all(const char *path, size_t *len);

/* The same for an open stream, read to its end; f is not closed. */
char *file_read_stream(FILE *f, size_t *len);

#endif
