/* Per-namespace resource quotas of the control plane (Event Grid's defaults;
 * configurable under "quotas" in egcontrol's config file). */
#ifndef EG_CP_QUOTAS_H
#define EG_CP_QUOTAS_H

typedef struct cp_quotas {
    long namespaces;          /* in all, default 100 */
    long clients;             /* per namespace, default 10000 */
    long client_groups;       /* per namespace, not counting $all, default 10 */
    long topic_spaces;        /* default 10 */
    long templates_per_space; /* topic templates per topic space, default 10 */
    long permission_bindings; /* default 100 */
    long ca_certificates;     /* default 2 */
} cp_quotas;

/* Event Grid's defaults. */
void cp_quotas_default(cp_quotas *q);

#endif
