/* Whole-file reads: see file_util.h. */
#include "file_util.h"

#include <errno.h>
#include <stdlib.h>

char *file_read_stream(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *data = malloc(cap);
    if (!data)
        return NULL;
    errno = 0; /* so that a read error is not reported with a stale errno */
    for (;;) {
        n += fread(data + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        char *bigger = realloc(data, cap * 2);
        if (!bigger) {
            free(data);
            return NULL;
        }
        data = bigger;
        cap *= 2;
    }
    if (ferror(f)) {
        int saved = errno ? errno : EIO;
        free(data);
        errno = saved;
        return NULL;
    }
    data[n] = '\0';
    if (len)
        *len = n;
    return data;
}

char *file_read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = file_read_stream(f, len);
    int saved = errno;
    fclose(f);
    errno = saved;
    return data;
}
