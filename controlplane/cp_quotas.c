#include "cp_quotas.h"

void cp_quotas_default(cp_quotas *q)
{
    q->namespaces = 100;
    q->clients = 10000;
    q->client_groups = 10;
    q->topic_spaces = 10;
    q->templates_per_space = 10;
    q->permission_bindings = 100;
    q->ca_certificates = 2;
}
