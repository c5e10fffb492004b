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

typedef struct tls_server tls_server;

/* Loads the chain and key. NULL on failure, with the reason logged. */
tls_server *tls_server_new(const char *cert_path, const char *key_path);
void tls_server_free(tls_server *t);

/* A new server-side SSL object for an accepted connection; NULL on failure. */
SSL *tls_server_accept(tls_server *t);

/* The reason of the last TLS failure on this thread, for logs ("" if none). */
const char *tls_last_error(char *buf, size_t len);

#endif
