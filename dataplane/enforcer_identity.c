#include "enforcer_identity.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tls.h"

/* First match of a certificate field against an existing client, in SAN order. */
typedef struct san_search {
    const ns_policy *p;
    const ns_client *found;
    char *name;
    size_t name_len;
    const char *expect; /* set: looking for this exact value (certificate check) */
    bool matched;
} san_search;

static void on_san(void *ctx, const char *value)
{
    san_search *s = ctx;
    if (s->expect) {
        s->matched |= strcasecmp(value, s->expect) == 0;
        return;
    }
    if (s->found)
        return;
    const ns_client *c = ns_policy_find_client(s->p, value, strlen(value));
    if (c) {
        s->found = c;
        snprintf(s->name, s->name_len, "%s", value);
    } else if (!s->name[0]) {
        snprintf(s->name, s->name_len, "%s", value);
    }
}

static const enum tls_san_type san_of_source[] = {
    [NS_SOURCE_DNS] = TLS_SAN_DNS,
    [NS_SOURCE_URI] = TLS_SAN_URI,
    [NS_SOURCE_IP] = TLS_SAN_IP,
    [NS_SOURCE_EMAIL] = TLS_SAN_EMAIL,
};

const ns_client *identity_find_client(const ns_policy *p, const mqtt_connect *in, X509 *cert, char *name,
                                      size_t name_len)
{
    name[0] = '\0';
    if (in->has_username && in->username.len > 0) {
        if (in->username.len >= name_len || memchr(in->username.data, '\0', in->username.len))
            return NULL;
        memcpy(name, in->username.data, in->username.len);
        name[in->username.len] = '\0';
        return ns_policy_find_client(p, name, in->username.len);
    }
    const ns_settings *st = ns_policy_settings(p);
    if (!cert)
        return NULL;
    /* Event Grid: with an empty Username, the configured certificate fields in order. */
    san_search s = {.p = p, .name = name, .name_len = name_len};
    for (size_t i = 0; i < st->n_alt_sources && !s.found; i++) {
        int source = st->alt_sources[i];
        if (source == NS_SOURCE_SUBJECT) {
            char cn[256];
            if (tls_cert_subject_cn(cert, cn, sizeof cn))
                on_san(&s, cn);
        } else {
            tls_cert_foreach_san(cert, san_of_source[source], on_san, &s);
        }
    }
    return s.found;
}

bool identity_check_certificate(const ns_policy *p, const ns_client *client, X509 *cert,
                                STACK_OF(X509) * chain, const char **why)
{
    if (!cert) {
        *why = "a client certificate is required";
        return false;
    }
    ns_validation_scheme scheme = ns_client_scheme(client);
    if (scheme == NS_SCHEME_THUMBPRINT) {
        char thumbprint[CERT_THUMBPRINT_LEN + 1];
        cert_thumbprint(cert, thumbprint);
        if (!ns_client_thumbprint_allowed(client, thumbprint)) {
            *why = "the certificate thumbprint is not one of the client's allowedThumbprints";
            return false;
        }
        return true;
    }
    if (!tls_cert_chains_to(cert, chain, ns_policy_ca_store(p))) {
        *why = "the certificate does not chain to a CA certificate of the namespace (or has expired)";
        return false;
    }
    const char *auth_name = ns_client_auth_name(client);
    if (scheme == NS_SCHEME_SUBJECT) {
        char cn[256];
        if (!tls_cert_subject_cn(cert, cn, sizeof cn) || strcasecmp(cn, auth_name) != 0) {
            *why = "the certificate subject CN is not the authentication name";
            return false;
        }
        return true;
    }
    static const enum tls_san_type san_of_scheme[] = {
        [NS_SCHEME_DNS] = TLS_SAN_DNS,
        [NS_SCHEME_URI] = TLS_SAN_URI,
        [NS_SCHEME_IP] = TLS_SAN_IP,
        [NS_SCHEME_EMAIL] = TLS_SAN_EMAIL,
    };
    san_search s = {.expect = auth_name};
    tls_cert_foreach_san(cert, san_of_scheme[scheme], on_san, &s);
    if (!s.matched)
        *why = "no subject alternative name of the certificate is the authentication name";
    return s.matched;
}
