/* Leveled, one-line-per-event logging, to stderr or a file, as text
 * (`ts level=... component: message key=value...`) or as one JSON object per line.
 * Thread safety: each line is one write(2) (O_APPEND for a file), so lines from several threads
 * never interleave; level, format and file are set before threads start, and log_reopen swaps the
 * file under the writers atomically (dup2). */
#ifndef EG_LOG_H
#define EG_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* text: `ts level=info component: message key=value...` (default).
 * json: {"ts", "level", "component", "msg", and each key=value of the message as a string field}. */
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON = 1 };

/* Messages below `level` are dropped. Default LOG_INFO. */
void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn", "error"; returns -1 if unknown. */
int log_level_parse(const char *name);

void log_set_format(enum log_format format);
/* Parses "text", "json"; returns -1 if unknown. */
int log_format_parse(const char *name);

/* Appends lines to `path` (created 0640) instead of stderr. 0, or -1 with errno set. */
int log_open_file(const char *path);
/* Reopens the file of log_open_file under the same name (after a rotation: SIGHUP).
 * 0 (also when logging to stderr), or -1 with errno set, the old file kept. */
int log_reopen(void);

/* `value` as a key=value value: itself when it has no blank, else in double quotes (in `buf`),
 * so that a client id with blanks stays one field. */
const char *log_value(const char *value, char *buf, size_t len);

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
