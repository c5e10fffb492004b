/* Overload handling between publishers and slow subscribers.
 *
 * A connected session whose queue passes the high-water mark (the offline queue
 * limits), or whose unsent output passes output_high_water, is "congested": the
 * publishers whose messages reach it stop being read (TCP backpressure) until
 * every congested session drains below half the mark.
 * A session congested for longer than slow_subscriber_timeout is disconnected
 * (0x97) and falls back to the offline queue limits. QoS 1/2 messages for a
 * connected subscriber are therefore never dropped for lack of room. */
#ifndef EG_FLOW_CONTROL_H
#define EG_FLOW_CONTROL_H

#include <stdbool.h>

struct session;
struct conn;

/* Re-evaluates a session's congestion after its queue changed. Returns true
 * while it is congested. */
bool flow_session_backlog_changed(struct session *s);

/* The connection that just published reached a congested session: stop reading it. */
void flow_pause_publisher(struct conn *c);

/* The session's connection went away or the session ends: forget its congestion. */
void flow_session_forget(struct session *s);

#endif
