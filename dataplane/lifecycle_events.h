/* Client life-cycle events in the broker (docs/events.md): Event Grid's
 * MQTTClientSessionConnected / ...Disconnected when a session's connection starts and ends, and
 * MQTTClientCreatedOrUpdated / MQTTClientDeleted derived from the snapshots the broker applies.
 * Each is a CloudEvent (cloud_event.h) published as a broker-originated QoS 1 message, not
 * retained, on "$events/namespaces/{ns}/clients/{name}" in that namespace's realm (open mode:
 * "$events/clients/{client id}"), and appended to the audit file when one is configured.
 *
 * Ownership: the broker owns its lifecycle_events (broker->events, NULL when neither
 * publishing nor an audit file is configured: then these functions do nothing). */
#ifndef EG_LIFECYCLE_EVENTS_H
#define EG_LIFECYCLE_EVENTS_H

#include "config.h"
#include "disconnect_reason.h"
#include "message.h"

struct broker;
struct realm;
struct session;
struct worker;
struct ns_policy;

typedef struct lifecycle_events lifecycle_events;

/* NULL when the configuration asks for nothing (*failed false) or on failure (*failed true,
 * logged: the audit file cannot be opened). */
lifecycle_events *lifecycle_events_new(const events_config *cfg, bool *failed);
void lifecycle_events_free(lifecycle_events *ev);
/* SIGHUP: the audit file, if any, is opened again (after a rotation). Logs a failure. */
void lifecycle_events_reopen(lifecycle_events *ev);

/* The connection of `s` was accepted (its CONNACK queued): on the session's worker. */
void lifecycle_session_connected(struct session *s);

/* The connection of `s` ends with `why`: the event is built and audited now, while the
 * session is there; lifecycle_publish publishes it once the caller has let the session go
 * (it may be destroyed). NULL: nothing to publish. */
broker_msg *lifecycle_session_disconnected(const struct session *s, disconnect_reason why);
/* Publishes an event built by this module in realm `r`, as worker `w`, and drops the
 * reference. NULL is fine. */
void lifecycle_publish(struct worker *w, struct realm *r, broker_msg *m);

/* Whether `topic` is one of the broker's own ("$events" and below): no client may publish there
 * (nor leave a will there), whatever its permissions, so that no event can be forged. */
bool lifecycle_topic_reserved(mqtt_bytes topic);

/* A snapshot replaced `old` by `now` in realm `r`: one CreatedOrUpdated per client added or
 * changed, one Deleted per client gone. Nothing when `old` is NULL (the broker's first snapshot
 * tells nothing new) or `now` deletes the namespace. Main thread, the workers parked. */
void lifecycle_client_changes(struct broker *b, struct realm *r, const struct ns_policy *old,
                              const struct ns_policy *now);

#endif
