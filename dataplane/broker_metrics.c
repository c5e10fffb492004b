/* Writes the broker's metrics (broker_metrics.h). The counters come from each worker's
 * ns_stats (summed); the gauges are counted now, walking the connections and sessions. */
#include "broker_metrics.h"

#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "prom_text.h"
#include "realm.h"
#include "session.h"
#include "strmap.h"
#include "worker.h"

static const char *const drop_names[DROP_COUNT] = {
    [DROP_QOS0_CONGESTED] = "qos0_congested",
    [DROP_QUEUE_FULL] = "queue_full",
    [DROP_EXPIRED] = "expired",
    [DROP_TOO_LARGE] = "too_large",
};

static const char *const throttle_names[THROTTLE_COUNT] = {
    [THROTTLE_PUBLISHERS_PAUSED] = "publishers_paused",
    [THROTTLE_SUBSCRIBER_STALLED] = "subscriber_stalled",
    [THROTTLE_SUBSCRIBER_DISCONNECT] = "subscriber_disconnected",
    [THROTTLE_PUBLISH_RATE] = "publish_rate",
    [THROTTLE_PUBLISH_RATE_DISCONNECT] = "publish_rate_disconnect",
    [THROTTLE_NAMESPACE_SESSION_LIMIT] = "namespace_session_limit",
    [THROTTLE_RETAINED_LIMIT] = "retained_limit",
};

/* What is there now in one namespace. */
typedef struct ns_gauges {
    uint64_t connections, sessions, persistent_sessions, subscriptions;
    uint64_t queued_messages, queued_bytes, inflight_messages;
} ns_gauges;

/* One namespace's summed counters, gauges, and escaped name. */
typedef struct ns_view {
    ns_stats st;
    ns_gauges now;
    metric_label ns;
} ns_view;

metric_label metric_label_of(const char *name)
{
    metric_label l;
    if (!prom_escape_label(name, l.text, sizeof l.text))
        log_msg(LOG_WARN, "metrics", "label value cut: %.40s...", l.text);
    return l;
}

static void count_session(void *ctx, const void *key, size_t len, void *value)
{
    (void)key, (void)len;
    ns_gauges *g = ctx;
    const session *s = value;
    g->sessions++;
    if (s->expiry_interval > 0)
        g->persistent_sessions++;
    g->queued_messages += s->queue_count;
    g->queued_bytes += s->queue_bytes;
    g->inflight_messages += s->inflight_count;
}

static void gather(broker *b, ns_view *views)
{
    for (int i = 0; i < b->realm_count; i++) {
        broker_ns_stats_total(b, i, &views[i].st);
        views[i].ns = metric_label_of(b->realms[i]->name);
        views[i].now.subscriptions = atomic_load_explicit(&b->realms[i]->shared_count, memory_order_relaxed);
    }
    for (int w = 0; w < b->worker_count; w++) {
        worker *wk = b->workers[w];
        for (const conn *c = wk->conns; c; c = c->next)
            if (c->state == CONN_ACTIVE)
                views[c->realm->index].now.connections++;
        for (int i = 0; i < b->realm_count; i++) {
            worker_realm *wr = worker_realm_of(wk, i);
            strmap_foreach(wr->sessions, count_session, &views[i].now);
            views[i].now.subscriptions += atomic_load_explicit(&wr->plain_subs, memory_order_relaxed);
        }
    }
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
    prom_family(out, BROKER_METRIC_PREFIX, name, type, help);
}

/* One sample per namespace of a family with only the namespace label. */
static void per_namespace(FILE *out, const ns_view *v, int n, const char *name, const char *type,
                          const char *help, size_t offset)
{
    family(out, name, type, help);
    for (int i = 0; i < n; i++)
        fprintf(out, BROKER_METRIC_PREFIX "%s{namespace=\"%s\"} %llu\n", name, v[i].ns.text,
                (unsigned long long)*(const uint64_t *)((const char *)&v[i] + offset));
}

#define VIEW_FIELD(f) offsetof(ns_view, f)

/* A family with the namespace label and one more, `label`, taking `count` values named
 * `values`, counted at `offset` (an array of `count` counters) in each view. */
static void per_namespace_by(FILE *out, const ns_view *v, int n, const char *name, const char *help,
                             const char *label, const char *const *values, int count, size_t offset)
{
    family(out, name, "counter", help);
    for (int i = 0; i < n; i++) {
        const uint64_t *at = (const uint64_t *)((const char *)&v[i] + offset);
        for (int k = 0; k < count; k++)
            fprintf(out, BROKER_METRIC_PREFIX "%s{namespace=\"%s\",%s=\"%s\"} %llu\n", name, v[i].ns.text,
                    label, values[k], (unsigned long long)at[k]);
    }
}

static void write_connections(FILE *out, const ns_view *v, int n)
{
    const char *reasons[DISC_COUNT];
    for (int r = 0; r < DISC_COUNT; r++)
        reasons[r] = disconnect_reason_name((disconnect_reason)r);
    per_namespace(out, v, n, "connections", "gauge",
                  "MQTT connections established now (CONNACK sent, not closed).",
                  VIEW_FIELD(now.connections));
    per_namespace(out, v, n, "connections_opened_total", "counter",
                  "MQTT connections established (CONNECT accepted).", VIEW_FIELD(st.connections_opened));
    per_namespace_by(out, v, n, "connections_closed_total",
                     "Established MQTT connections closed, by Event Grid disconnection reason.",
                     "disconnection_reason", reasons, DISC_COUNT, VIEW_FIELD(st.connections_closed));
}

static void write_sessions(FILE *out, const ns_view *v, int n)
{
    static const char *const overflow[] = {"overflow"};
    per_namespace(out, v, n, "sessions", "gauge", "Sessions held, connected or not.",
                  VIEW_FIELD(now.sessions));
    per_namespace(out, v, n, "sessions_persistent", "gauge",
                  "Sessions that outlive their connection (session expiry above 0).",
                  VIEW_FIELD(now.persistent_sessions));
    per_namespace(out, v, n, "sessions_expired_total", "counter",
                  "Disconnected sessions ended by their expiry.", VIEW_FIELD(st.sessions_expired));
    per_namespace_by(
        out, v, n, "sessions_dropped_total",
        "Sessions ended by the broker: overflow is a disconnected session's queue past its limits "
        "(Event Grid's SessionOverflow).",
        "reason", overflow, 1, VIEW_FIELD(st.sessions_dropped_overflow));
}

static void write_publishes(FILE *out, const ns_view *v, int n)
{
    static const char *const qos[] = {"0", "1", "2"};
    per_namespace_by(out, v, n, "publish_in_total", "PUBLISH packets received from clients, by QoS.", "qos",
                     qos, 3, VIEW_FIELD(st.publish_in));
    per_namespace_by(out, v, n, "publish_in_bytes_total",
                     "Payload bytes of the PUBLISH packets received, by QoS.", "qos", qos, 3,
                     VIEW_FIELD(st.publish_in_bytes));
    per_namespace_by(out, v, n, "publish_out_total",
                     "PUBLISH packets sent to subscribers, by QoS (resends too).", "qos", qos, 3,
                     VIEW_FIELD(st.publish_out));
    per_namespace_by(out, v, n, "publish_out_bytes_total",
                     "Payload bytes of the PUBLISH packets sent, by QoS.", "qos", qos, 3,
                     VIEW_FIELD(st.publish_out_bytes));
    per_namespace_by(
        out, v, n, "publish_succeeded_total",
        "PUBLISH packets accepted: routed, and acknowledged with a reason below 0x80 at QoS 1/2.", "qos", qos,
        3, VIEW_FIELD(st.publish_succeeded));
    /* Sparse: a series per reason code seen. */
    family(
        out, "publish_failed_total", "counter",
        "PUBLISH packets refused, by reason code (acknowledged with it, dropped at QoS 0, or a disconnect in "
        "MQTT 3.1.1).");
    for (int i = 0; i < n; i++)
        for (int code = 0; code < NS_STATS_FAILURE_CODES; code++)
            if (v[i].st.publish_failed[code])
                fprintf(out,
                        BROKER_METRIC_PREFIX
                        "publish_failed_total{namespace=\"%s\",reason_code=\"0x%02x\"} %llu\n",
                        v[i].ns.text, 0x80 + code, (unsigned long long)v[i].st.publish_failed[code]);
    per_namespace(out, v, n, "bytes_in_total", "counter", "MQTT packet bytes received (every packet type).",
                  VIEW_FIELD(st.bytes_in));
    per_namespace(out, v, n, "bytes_out_total", "counter", "MQTT packet bytes sent (every packet type).",
                  VIEW_FIELD(st.bytes_out));
}

static void write_flow(FILE *out, const ns_view *v, int n)
{
    per_namespace_by(out, v, n, "messages_dropped_total",
                     "Messages not delivered to a subscriber, by reason.", "reason", drop_names, DROP_COUNT,
                     VIEW_FIELD(st.dropped));
    per_namespace_by(
        out, v, n, "throttling_events_total",
        "Flow control and quota events: publishers paused for a congested subscriber, subscribers "
        "that stopped reading, slow subscribers disconnected (0x97); throughput-unit quotas: "
        "publishes over a session's rate, sessions disconnected for it (0x96), sessions and retained "
        "messages refused over the namespace's quota.",
        "kind", throttle_names, THROTTLE_COUNT, VIEW_FIELD(st.throttled));
    per_namespace(out, v, n, "subscriptions", "gauge", "Subscriptions held (shared ones included).",
                  VIEW_FIELD(now.subscriptions));
    static const char *const ops[SUB_OP_COUNT] = {"subscribe", "unsubscribe"}, *const results[2] = {
                                                                                   "success", "failure"};
    family(
        out, "subscription_operations_total", "counter",
        "Topic filters of SUBSCRIBE and UNSUBSCRIBE, by outcome (failure: a reason code of 0x80 or above).");
    for (int i = 0; i < n; i++)
        for (int op = 0; op < SUB_OP_COUNT; op++)
            for (int r = 0; r < 2; r++)
                fprintf(
                    out,
                    BROKER_METRIC_PREFIX
                    "subscription_operations_total{namespace=\"%s\",operation=\"%s\",result=\"%s\"} %llu\n",
                    v[i].ns.text, ops[op], results[r], (unsigned long long)v[i].st.subscription_ops[op][r]);
    per_namespace(out, v, n, "queued_messages", "gauge",
                  "QoS 1/2 messages queued for sessions, not yet sent.", VIEW_FIELD(now.queued_messages));
    per_namespace(out, v, n, "queued_bytes", "gauge", "Bytes of the messages queued for sessions.",
                  VIEW_FIELD(now.queued_bytes));
    per_namespace(out, v, n, "inflight_messages", "gauge", "QoS 1/2 messages sent and not yet acknowledged.",
                  VIEW_FIELD(now.inflight_messages));
}

static void write_network(const broker *b, FILE *out)
{
    broker_stats st;
    broker_stats_total(b, &st);
    family(out, "network_connections_opened_total", "counter",
           "Network connections accepted (TCP, TLS, WebSocket), before CONNECT.");
    fprintf(out, BROKER_METRIC_PREFIX "network_connections_opened_total %llu\n",
            (unsigned long long)st.connections_opened);
    family(out, "network_connections_closed_total", "counter", "Network connections closed.");
    fprintf(out, BROKER_METRIC_PREFIX "network_connections_closed_total %llu\n",
            (unsigned long long)st.connections_closed);
    family(out, "tls_handshake_failures_total", "counter", "TLS handshakes that failed, every listener.");
    fprintf(out, BROKER_METRIC_PREFIX "tls_handshake_failures_total %llu\n",
            (unsigned long long)st.tls_handshake_failures);
}

void broker_metrics_write(broker *b, FILE *out)
{
    ns_view *views = calloc((size_t)b->realm_count, sizeof *views);
    if (!views) {
        log_msg(LOG_ERROR, "metrics", "%s", "out of memory: the per-namespace metrics are left out");
        write_network(b, out);
        return;
    }
    gather(b, views);
    write_connections(out, views, b->realm_count);
    write_sessions(out, views, b->realm_count);
    write_publishes(out, views, b->realm_count);
    write_flow(out, views, b->realm_count);
    write_network(b, out);
    free(views);
}
