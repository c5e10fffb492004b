/* Overload handling between publishers and slow subscribers.
 *
 * A connected session whose queue passes the high-water mark (the offline queue
 * limits), or whose unsent output passes output_high_water, is "congested": the
 * publishers whose messages reach it stop being read (TCP backpressure) until
 * it drains below half the mark (a publisher that also feeds another congested
 * session pauses again at its next message to it). A slow subscriber thus
 * slows its publishers down to its pace, and loses nothing.
 *
 * A congested subscriber that makes no progress for about a second (no
 * acknowledgement, no output drained) has "stopped": it no longer holds its
 * publishers, so it does not slow anyone else. What it cannot take is dropped
 * and counted (QoS 0, past output_high_water), or queued up to the session
 * limit (QoS 1/2); when that is full it is disconnected (0x97) and the offline
 * rules apply. Reading again makes it an ordinary congested subscriber.
 * A session congested for longer than slow_subscriber_timeout is disconnected
 * (0x97) whatever its pace. */
#ifndef EG_FLOW_CONTROL_H
#define EG_FLOW_CONTROL_H

#include <stdbool.h>

struct session;
struct conn;
struct worker;

/* Re-evaluates a session's congestion after its queue changed. Returns true
 * while it is congested. */
bool flow_session_backlog_changed(struct session *s);

/* Whether the session holds its publishers now (congested, not stopped). */
bool flow_session_pauses(const struct session *s);

/* A stopped subscriber's queue is full: it is disconnected (0x97) on the loop's next turn. */
void flow_session_stalled_full(struct session *s);

/* Reads again every publisher of worker `w` paused by a congested subscriber (which stopped
 * being one); those that still feed one pause again at their next message to it. */
void flow_resume_publishers(struct worker *w);
/* The same on every worker (from worker `w`'s thread), and brakes pulled so far are void: what
 * held publishers back (a congested subscriber, a full ring between workers) is gone. */
void flow_resume_everywhere(struct worker *w);
/* The connection that just published reached a congested session: stop reading it. */
void flow_pause_publisher(struct conn *c);

/* The session's connection went away or the session ends: forget its congestion. */
void flow_session_forget(struct session *s);

#endif
