#include "tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
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

tls_server *tls_server_new(const char *cert_path, const char *key_path, bool request_client_certificate)
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
    /* An idle connection gives back its ~34 KB of record buffers (bench: 49 KB per idle TLS
     * client without this); they are allocated again for the next record. */
    SSL_CTX_set_mode(t->ctx, SSL_MODE_RELEASE_BUFFERS);
    /* TLS 1.2: forward-secret AEAD suites only (TLS 1.3 suites are all of that kind). */
    if (SSL_CTX_set_cipher_list(t->ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1)
        goto fail;
    if (SSL_CTX_use_certificate_chain_file(t->ctx, cert_path) != 1) {
        log_msg(LOG_ERROR, "tls", "cannot load certificate chain %s: %s", cert_path,
                tls_last_error(err, sizeof err));
        goto fail_logged;
    }
    if (SSL_CTX_use_PrivateKey_file(t->ctx, key_path, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(t->ctx) != 1) {
        log_msg(LOG_ERROR, "tls", "cannot load private key %s (or it does not match the certificate): %s",
                key_path, tls_last_error(err, sizeof err));
        goto fail_logged;
    }
    SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_session_id_context(t->ctx, (const unsigned char *)"egbroker", 8);
    SSL_CTX_set_alpn_select_cb(t->ctx, select_alpn, NULL);
    if (request_client_certificate)
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

bool tls_cert_subject_cn(X509 *cert, char *out, size_t len)
{
    out[0] = '\0';
    X509_NAME *name = X509_get_subject_name(cert);
    int idx = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
    if (idx < 0)
        return false;
    ASN1_STRING *data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, data);
    bool fits = n >= 0 && (size_t)n < len && memchr(utf8, '\0', (size_t)n) == NULL;
    if (fits) {
        memcpy(out, utf8, (size_t)n);
        out[n] = '\0';
    }
    OPENSSL_free(utf8);
    return fits;
}

static int general_name_type(enum tls_san_type type)
{
    switch (type) {
    case TLS_SAN_DNS: return GEN_DNS;
    case TLS_SAN_URI: return GEN_URI;
    case TLS_SAN_IP: return GEN_IPADD;
    default: return GEN_EMAIL;
    }
}

void tls_cert_foreach_san(X509 *cert, enum tls_san_type type, void (*fn)(void *ctx, const char *value),
                          void *ctx)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    int want = general_name_type(type);
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type != want)
            continue;
        char text[INET6_ADDRSTRLEN + 1] = "";
        if (want == GEN_IPADD) {
            const ASN1_OCTET_STRING *ip = gn->d.iPAddress;
            int family = ip->length == 4 ? AF_INET : ip->length == 16 ? AF_INET6 : -1;
            if (family < 0 || !inet_ntop(family, ip->data, text, sizeof text))
                continue;
            fn(ctx, text);
            continue;
        }
        const ASN1_IA5STRING *s = gn->d.ia5; /* dNSName, URI and rfc822Name are IA5 strings */
        char *value = strndup((const char *)ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
        /* An embedded NUL would let "a.com\0.evil" pass as "a.com": skip such names. */
        if (value && strlen(value) == (size_t)ASN1_STRING_length(s))
            fn(ctx, value);
        free(value);
    }
    GENERAL_NAMES_free(names);
}

bool tls_cert_chains_to(X509 *leaf, STACK_OF(X509) * intermediates, X509_STORE *cas)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!ctx)
        return false;
    bool ok = X509_STORE_CTX_init(ctx, cas, leaf, intermediates) == 1 && X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    return ok;
}
