/* The JSON-lines audit file of life-cycle events (cloud_event.h): one event per line,
 * appended, for the broker and the control plane. */
#ifndef EG_EVENT_AUDIT_H
#define EG_EVENT_AUDIT_H

#include <jansson.h>
#include <stdbool.h>

/* Owned by its opener; freed by event_audit_close. */
typedef struct event_audit event_audit;

/* Opens `path` for appending (created 0640 if absent). NULL with errno set on failure. */
event_audit *event_audit_open(const char *path);
/* Appends the event as one compact JSON line and flushes it. Any thread: a mutex orders the
 * lines; the write is a buffered stdio write of one short line, flushed at once, so a
 * caller waits for at most that (the file is local; a full disk fails the write, logged).
 * False when the write failed (logged). */
bool event_audit_append(event_audit *a, const json_t *event);
/* Opens the path again (SIGHUP, after a rotation): later lines go to the new file. False with
 * errno set when it cannot be opened; the old file is then kept. */
bool event_audit_reopen(event_audit *a);
void event_audit_close(event_audit *a);

#endif
