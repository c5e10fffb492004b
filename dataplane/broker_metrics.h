/* The broker's Prometheus metrics (docs/metrics.md): per namespace (label `namespace`), the
 * connections, sessions, PUBLISH traffic and outcomes, drops, flow-control events,
 * subscriptions and queues of every worker, summed; and the network-level counters. */
#ifndef EG_BROKER_METRICS_H
#define EG_BROKER_METRICS_H

#include <stdio.h>

struct broker;

/* The metric name prefix of everything egbroker exports. */
#define BROKER_METRIC_PREFIX "egbroker_"

/* Appends the families to `out`. Main thread, with the workers parked (broker_world_stop). */
void broker_metrics_write(struct broker *b, FILE *out);

/* `name` escaped as a label value, for one line; cut (still valid) if it were too long. */
typedef struct metric_label {
    char text[160];
} metric_label;
metric_label metric_label_of(const char *name);

#endif
