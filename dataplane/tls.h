/* TLS for mqtts/wss listeners: TLS 1.2 and 1.3 only, a server certificate chain
 * and key, modern ciphers, session resumption, ALPN "mqtt" accepted but not
 * required, and a client certificate requested but not required (who may
 * connect is decided at CONNECT).
 *
 * Ownership: a tls_server owns its SSL_CTX; each connection's SSL object is
 * owned by its bufferevent. */
#ifndef EG_TLS_H
#define EG_TLS_H

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdbool.h>

#include "cert_util.h" /* cert_thumbprint for the client certificate */

typedef struct tls_server tls_server;

/* Loads the chain and key. request_client_certificate: ask clients for one
 * (browsers prompt, and headless ones abort, when asked). NULL on failure,
 * with the reason logged. */
tls_server *tls_server_new(const char *cert_path, const char *key_path, bool request_client_certificate);
void tls_server_free(tls_server *t);

/* A new server-side SSL object for an accepted connection; NULL on failure. */
SSL *tls_server_accept(tls_server *t);

/* ---- the client certificate, as CONNECT sees it */

/* The subject's common name; false (out "") when there is none or it does not fit. */
bool tls_cert_subject_cn(X509 *cert, char *out, size_t len);

enum tls_san_type { TLS_SAN_DNS, TLS_SAN_URI, TLS_SAN_IP, TLS_SAN_EMAIL };

/* Calls fn for each subject alternative name of `type` (IP addresses as text). */
void tls_cert_foreach_san(X509 *cert, enum tls_san_type type, void (*fn)(void *ctx, const char *value),
                          void *ctx);

/* True if `leaf` (with the untrusted intermediates the client sent) chains to
 * one of the certificates in `cas` and is valid now. */
bool tls_cert_chains_to(X509 *leaf, STACK_OF(X509) * intermediates, X509_STORE *cas);

/* The reason of the last TLS failure on this thread, for logs ("" if none). */
const char *tls_last_error(char *buf, size_t len);

#endif
