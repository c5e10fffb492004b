/* The JSON-lines audit file (event_audit.h). */
#include "event_audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cloud_event.h"
#include "log.h"

struct event_audit {
    pthread_mutex_t mu; /* orders the lines of concurrent writers */
    FILE *f;            /* owned, line buffered */
    char *path;         /* owned, for logs */
};

/* `path` opened for appending, line buffered; NULL with errno set. */
static FILE *open_append(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "a");
    if (!f) {
        int saved = errno;
        close(fd);
        errno = saved;
        return NULL;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    return f;
}

event_audit *event_audit_open(const char *path)
{
    event_audit *a = calloc(1, sizeof *a);
    if (!a || !(a->path = strdup(path)) || !(a->f = open_append(path))) {
        int saved = errno ? errno : ENOMEM;
        if (a)
            free(a->path);
        free(a);
        errno = saved;
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL); /* default attributes: cannot fail on Linux */
    return a;
}

bool event_audit_reopen(event_audit *a)
{
    FILE *f = open_append(a->path);
    if (!f)
        return false;
    pthread_mutex_lock(&a->mu);
    FILE *old = a->f;
    a->f = f;
    pthread_mutex_unlock(&a->mu);
    if (fclose(old) != 0)
        log_msg(LOG_WARN, "events", "closing the old %s: %s", a->path, strerror(errno));
    return true;
}

bool event_audit_append(event_audit *a, const json_t *event)
{
    char *line = json_dumps(event, JSON_COMPACT);
    if (!line) {
        log_msg(LOG_ERROR, "events", "out of memory writing event type=%s to %s", cloud_event_type(event),
                a->path);
        return false;
    }
    pthread_mutex_lock(&a->mu);
    bool ok = fputs(line, a->f) >= 0 && fputc('\n', a->f) != EOF && fflush(a->f) == 0;
    if (!ok)
        clearerr(a->f);
    pthread_mutex_unlock(&a->mu);
    if (!ok)
        log_msg(LOG_ERROR, "events", "cannot append event type=%s to %s: %s", cloud_event_type(event),
                a->path, strerror(errno));
    free(line);
    return ok;
}

void event_audit_close(event_audit *a)
{
    if (!a)
        return;
    if (fclose(a->f) != 0)
        log_msg(LOG_WARN, "events", "closing %s: %s", a->path, strerror(errno));
    pthread_mutex_destroy(&a->mu);
    free(a->path);
    free(a);
}
