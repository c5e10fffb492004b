/* Realms (realm.h). */
#include "realm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker.h"
#include "retain_store.h"
#include "sub_tree.h"

realm *realm_new(broker *b, const char *name, int index)
{
    realm *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->broker = b;
    r->index = index;
    snprintf(r->name, sizeof r->name, "%s", name);
    r->retained = retain_store_new();
    r->shared = sub_tree_new();
    if (!r->retained || !r->shared) {
        realm_free(r);
        return NULL;
    }
    return r;
}

void realm_free(realm *r)
{
    if (!r)
        return;
    retain_store_free(r->retained);
    sub_tree_free(r->shared);
    free(r);
}

realm *realm_find(const broker *b, const char *name)
{
    for (int i = 0; i < b->realm_count; i++)
        if (strcmp(b->realms[i]->name, name) == 0)
            return b->realms[i];
    return NULL;
}

bool realm_select_by_sni(const broker *b, const char *sni, realm **r)
{
    const char *domain = b->config.sni_domain;
    if (!domain[0] || !sni)
        return true;
    size_t sl = strlen(sni), dl = strlen(domain);
    if (sl <= dl + 1 || sni[sl - dl - 1] != '.' || strcasecmp(sni + sl - dl, domain) != 0)
        return true; /* not a {namespace}.{domain} name: the listener's namespace applies */
    size_t nl = sl - dl - 1;
    for (int i = 0; i < b->realm_count; i++) {
        if (strlen(b->realms[i]->name) == nl && strncasecmp(sni, b->realms[i]->name, nl) == 0) {
            *r = b->realms[i];
            return true;
        }
    }
    return false;
}
