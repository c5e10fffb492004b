/* The enumerated values and the limits of a namespace's resources that both
 * egcontrol's validators (controlplane/validate_*.c) and the snapshot parser
 * check: one definition, so that what the control plane accepts the broker loads. */
#ifndef EG_SNAPSHOT_RESOURCE_NAMES_H
#define EG_SNAPSHOT_RESOURCE_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define NS_AUTH_NAME_MAX 128    /* bytes of an authentication name */
#define NS_THUMBPRINT_HEX 64    /* hex digits of a SHA-256 thumbprint */
#define NS_MAX_THUMBPRINTS 2    /* allowedThumbprints per client */
#define NS_ATTRIBUTE_KEY_MAX 64 /* bytes of a client attribute's name */

/* alternativeAuthenticationNameSources values. */
typedef enum ns_name_source {
    NS_SOURCE_SUBJECT, /* ClientCertificateSubject: the subject CN */
    NS_SOURCE_DNS,     /* ClientCertificateDns */
    NS_SOURCE_URI,     /* ClientCertificateUri */
    NS_SOURCE_IP,      /* ClientCertificateIp */
    NS_SOURCE_EMAIL    /* ClientCertificateEmail */
} ns_name_source;

/* validationScheme values. */
typedef enum ns_validation_scheme {
    NS_SCHEME_SUBJECT,   /* SubjectMatchesAuthenticationName */
    NS_SCHEME_DNS,       /* DnsMatchesAuthenticationName */
    NS_SCHEME_URI,       /* UriMatchesAuthenticationName */
    NS_SCHEME_IP,        /* IpMatchesAuthenticationName */
    NS_SCHEME_EMAIL,     /* EmailMatchesAuthenticationName */
    NS_SCHEME_THUMBPRINT /* ThumbprintMatch */
} ns_validation_scheme;

/* NULL-terminated lists of the REST names; a value's index is its enum above. */
extern const char *const ns_state_names[];             /* "Enabled" (index 0), "Disabled" */
extern const char *const ns_validation_scheme_names[]; /* ns_validation_scheme: validationScheme */
extern const char *const ns_name_source_names[]; /* ns_name_source: alternativeAuthenticationNameSources */

/* Copies the len bytes of s into out upper-cased (out[len] = '\0', so out
 * holds len + 1 bytes). Returns len when every byte is a hexadecimal digit,
 * otherwise the position of the first that is not. */
size_t ns_hex_upper(const char *s, size_t len, char *out);

/* A client attribute's name: 1-NS_ATTRIBUTE_KEY_MAX ASCII letters, digits or '_'. */
bool ns_attribute_key_valid(const char *key, size_t len);

#endif
