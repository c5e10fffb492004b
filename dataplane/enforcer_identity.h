/* Who is connecting: the authentication name of a CONNECT (Username, or a
 * field of the client certificate per the namespace's alternative sources)
 * and the check of the client certificate against the client's validation
 * scheme. Internal to the enforcer. */
#ifndef EG_ENFORCER_IDENTITY_H
#define EG_ENFORCER_IDENTITY_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>

#include "mqtt_packet.h"
#include "snapshot/ns_policy.h"

/* Finds the client a CONNECT speaks for. Returns it (borrowed from p) with
 * name_out set to the name used, or NULL with name_out "" when no name can be
 * derived, or name_out set when no client has that name. */
const ns_client *identity_find_client(const ns_policy *p, const mqtt_connect *in, X509 *cert, char *name_out,
                                      size_t name_len);

/* True when the certificate (with the chain the client sent) passes the
 * client's validation scheme; *why names the failure. */
bool identity_check_certificate(const ns_policy *p, const ns_client *client, X509 *cert,
                                STACK_OF(X509) * chain, const char **why);

#endif
