#include "tls.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct tls_server {
    SSL_CTX *ctx;
};

const char *tls_last_error(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    if (!e) {
        snprintf(buf, len, "%s", "");
        return buf;
    }
    ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

/* ALPN: "mqtt" when the client offers it; a client offering only other
 * protocols is still served (ALPN is accepted, not required). */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg)
{
    (void)ssl, (void)arg;
    static const unsigned char mqtt[] = {4, 'm', 'q', 't', 't'};
    unsigned char *selected;
    if (SSL_select_next_proto(&selected, outlen, mqtt, sizeof mqtt, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

/* The client certificate is checked against the namespace's CAs at CONNECT, not
 * here: any certificate (or none) lets the handshake complete. */
static int accept_any_client_certificate(int preverify_ok, X509_STORE_CTX *store)
{
    (void)preverify_ok, (void)store;
    return 1;
}

tls_server *tls_server_new(const char *cert_path, const char *key_path)
{
    char err[256];
    tls_server *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ctx = SSL_CTX_new(TLS_server_method());
    if (!t->ctx)
        goto fail;
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(t->ctx, TLS1_3_VERSION);
    SSL_CTX_set_options(t->ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    /* TLS 1.2: forward-secret AEAD suites only (TLS 1.3 suites are all of that kind). */
    if (SSL_CTX_set_cipher_list(t->ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1)
        goto fail;
    if (SSL_CTX_use_certificate_chain_file(t->ctx, cert_path) != 1) {
        log_msg(LOG_ERROR, "tls", "cannot load certificate chain %s: %s", cert_path, tls_last_error(err, sizeof err));
        goto fail_logged;
    }
    if (SSL_CTX_use_PrivateKey_file(t->ctx, key_path, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(t->ctx) != 1) {
        log_msg(LOG_ERROR, "tls", "cannot load private key %s (or it does not match the certificate): %s", key_path,
                tls_last_error(err, sizeof err));
        goto fail_logged;
    }
    SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_session_id_context(t->ctx, (const unsigned char *)"egbroker", 8);
    SSL_CTX_set_alpn_select_cb(t->ctx, select_alpn, NULL);
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, accept_any_client_certificate);
    return t;
fail:
    log_msg(LOG_ERROR, "tls", "cannot set up TLS: %s", tls_last_error(err, sizeof err));
fail_logged:
    tls_server_free(t);
    return NULL;
}

void tls_server_free(tls_server *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

SSL *tls_server_accept(tls_server *t)
{
    return SSL_new(t->ctx);
}
