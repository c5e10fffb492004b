/* What a TLS connection tells CONNECT about its client: the server name it
 * asked for (SNI) and its certificate (none for plain connections). */
#include <event2/bufferevent_ssl.h>
#include <stdio.h>

#include "conn.h"
#include "tls.h"

/* The OpenSSL bufferevent is the connection's own, or (wss) the one under its WebSocket framing. */
static SSL *conn_ssl(const conn *c)
{
    if (!c->tls)
        return NULL;
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    struct bufferevent *under = bufferevent_get_underlying(c->bev);
    return ssl ? ssl : under ? bufferevent_openssl_get_ssl(under) : NULL;
}

const char *conn_tls_server_name(const conn *c)
{
    SSL *ssl = conn_ssl(c);
    return ssl ? SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) : NULL;
}

X509 *conn_peer_certificate(const conn *c)
{
    SSL *ssl = conn_ssl(c);
    return ssl ? SSL_get0_peer_certificate(ssl) : NULL;
}

STACK_OF(X509) * conn_peer_chain(const conn *c)
{
    SSL *ssl = conn_ssl(c);
    return ssl ? SSL_get_peer_cert_chain(ssl) : NULL;
}

void conn_describe_tls(const conn *c, char *out, size_t len)
{
    out[0] = '\0';
    if (!c->tls)
        return;
    const char *sni = conn_tls_server_name(c);
    X509 *cert = conn_peer_certificate(c);
    char thumbprint[CERT_THUMBPRINT_LEN + 1] = "-", cn[128] = "-";
    if (cert) {
        cert_thumbprint(cert, thumbprint);
        tls_cert_subject_cn(cert, cn, sizeof cn);
    }
    snprintf(out, len, " tls_sni=%s cert_thumbprint=%s cert_cn=\"%s\"", sni ? sni : "-", thumbprint, cn);
}

const char *conn_transport_name(const conn *c)
{
    return c->ws ? (c->tls ? "wss" : "ws") : (c->tls ? "mqtts" : "mqtt");
}
