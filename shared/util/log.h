/* Leveled, one-line-per-event logging to stderr: `ts level=... component: message key=value...`. */
#ifndef EG_LOG_H
#define EG_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Messages below `level` are dropped. Default LOG_INFO. */
void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn", "error"; returns -1 if unknown. */
int log_level_parse(const char *name);

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
