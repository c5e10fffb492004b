#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static enum log_format format = LOG_FORMAT_TEXT;
static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const format_names[] = {"text", "json"};
/* Where lines go: stderr, or the file of log_open_file, whose number log_reopen keeps (dup2). */
static int log_fd = STDERR_FILENO;
static char log_path[4096];

void log_set_level(enum log_level level)
{
    min_level = level;
}

int log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

void log_set_format(enum log_format f)
{
    format = f;
}

int log_format_parse(const char *name)
{
    for (int i = 0; i < 2; i++)
        if (strcmp(name, format_names[i]) == 0)
            return i;
    return -1;
}

static int open_log(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int log_open_file(const char *path)
{
    if (strlen(path) >= sizeof log_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open_log(path);
    if (fd < 0)
        return -1;
    if (log_fd != STDERR_FILENO)
        close(log_fd);
    log_fd = fd;
    snprintf(log_path, sizeof log_path, "%s", path);
    return 0;
}

int log_reopen(void)
{
    if (!log_path[0])
        return 0;
    int fd = open_log(log_path);
    if (fd < 0)
        return -1;
    /* dup2 replaces the file behind log_fd in one step: a writer on another thread writes to
     * the old file or the new one, never to a closed descriptor. */
    int rc = dup2(fd, log_fd) < 0 ? -1 : 0;
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* A line being built; appends past the end are dropped (the line is cut, never overrun). Big enough
 * for a whole message of 1 KiB with every byte escaped (6 bytes each), so JSON lines are never cut. */
typedef struct line_buf {
    char text[8192];
    size_t len;
} line_buf;

static void put(line_buf *b, const char *s, size_t n)
{
    size_t room = sizeof b->text - 1 - b->len;
    if (n > room)
        n = room;
    memcpy(b->text + b->len, s, n);
    b->len += n;
}

static void put_str(line_buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when invalid. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80             ? 1
                 : (s[0] & 0xE0) == 0xC0 ? 2
                 : (s[0] & 0xF0) == 0xE0 ? 3
                 : (s[0] & 0xF8) == 0xF0 ? 4
                                         : 0;
    if (len == 0 || len > n || (len == 2 && s[0] < 0xC2))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

/* A JSON string of s[0..n): quotes, backslashes and control characters escaped, invalid UTF-8
 * replaced by U+FFFD so that every line parses. */
static void put_json_string(line_buf *b, const char *s, size_t n)
{
    put(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char ch = (unsigned char)s[i];
        size_t len = utf8_sequence((const unsigned char *)s + i, n - i);
        if (ch == '"' || ch == '\\') {
            char esc[2] = {'\\', (char)ch};
            put(b, esc, 2);
        } else if (ch < 0x20 || ch == 0x7F) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            put_str(b, esc);
        } else if (len == 0) {
            put_str(b, "\\ufffd");
            len = 1;
        } else {
            put(b, s + i, len);
        }
        i += len ? len : 1;
    }
    put(b, "\"", 1);
}

static bool is_key_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
           ch == '-' || ch == '.';
}

/* The key=value pairs of a message become fields; the other words, the msg. A value in double
 * quotes ends at a quote followed by a blank (or the end) and keeps its blanks; an unquoted value
 * ends at a blank, without a trailing ':' ("reason=x: why" reads as reason "x", words "why"). */
static void put_json_message(line_buf *b, const char *message)
{
    static const char *const reserved[] = {"ts", "level", "component", "msg"};
    line_buf words = {.len = 0}, fields = {.len = 0};
    for (const char *p = message; *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *key_end = p;
        while (is_key_char(*key_end))
            key_end++;
        bool field = key_end > p && *key_end == '=';
        for (size_t i = 0; field && i < sizeof reserved / sizeof *reserved; i++)
            field = !((size_t)(key_end - p) == strlen(reserved[i]) &&
                      memcmp(p, reserved[i], strlen(reserved[i])) == 0);
        if (!field) {
            const char *end = strchr(p, ' ');
            end = end ? end : p + strlen(p);
            if (words.len)
                put(&words, " ", 1);
            put(&words, p, (size_t)(end - p));
            p = end;
            continue;
        }
        const char *v = key_end + 1, *v_end, *next;
        if (*v == '"') {
            v_end = ++v;
            while (*v_end && !(*v_end == '"' && (v_end[1] == ' ' || v_end[1] == '\0' || v_end[1] == ':')))
                v_end++;
            next = *v_end ? v_end + 1 : v_end;
            next += *next == ':';
        } else {
            v_end = strchr(v, ' ');
            v_end = v_end ? v_end : v + strlen(v);
            next = v_end;
            if (v_end > v && v_end[-1] == ':')
                v_end--;
        }
        put(&fields, ",", 1);
        put_json_string(&fields, p, (size_t)(key_end - p));
        put(&fields, ":", 1);
        put_json_string(&fields, v, (size_t)(v_end - v));
        p = next;
    }
    put_str(b, ",\"msg\":");
    put_json_string(b, words.text, words.len);
    put(b, fields.text, fields.len);
}

const char *log_value(const char *value, char *buf, size_t len)
{
    if (!strchr(value, ' ') && value[0])
        return value;
    snprintf(buf, len, "\"%.*s\"", len > 3 ? (int)(len - 3) : 0, value); /* cut inside the quotes */
    return buf;
}

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char when[64];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    line_buf line = {.len = 0};
    if (format == LOG_FORMAT_JSON) {
        put_str(&line, "{\"ts\":\"");
        put_str(&line, when);
        put_str(&line, "\",\"level\":\"");
        put_str(&line, level_names[level]);
        put_str(&line, "\",\"component\":");
        put_json_string(&line, component, strlen(component));
        put_json_message(&line, message);
        put(&line, "}", 1);
    } else {
        put_str(&line, when);
        put_str(&line, " level=");
        put_str(&line, level_names[level]);
        put(&line, " ", 1);
        put_str(&line, component);
        put(&line, ": ", 2);
        /* A client's bytes (its id, a topic) may not start a forged line. */
        for (char *c = message; *c; c++)
            if ((unsigned char)*c < 0x20)
                *c = '?';
        put_str(&line, message);
    }
    line.text[line.len++] = '\n'; /* put leaves one byte free for it */
    /* One write per line so concurrent writers do not interleave mid-line. */
    ssize_t written = write(log_fd, line.text, line.len);
    (void)written; /* nowhere left to report a failed log write */
}
