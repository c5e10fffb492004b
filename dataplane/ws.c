/* WebSocket transport: HTTP upgrade, then a libevent filter whose input side
 * unwraps frames (wslay) into MQTT bytes and whose output side wraps MQTT bytes
 * into binary frames. */
#include "ws.h"
#include "conn_transport.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wslay/wslay.h>

#include "conn.h"
#include "log.h"
#include "worker.h"

#define WS_MAX_REQUEST 8192
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* ---- the upgrade */

typedef struct ws_upgrade {
    broker *broker;
    struct worker *worker; /* the connection's */
    struct realm *realm;
    char path[64];
    bool tls;
    char peer[64];
} ws_upgrade;

/* Finds header `name` (case-insensitive) in the request; copies its value. */
static bool header_value(const char *req, const char *name, char *out, size_t len)
{
    size_t n = strlen(name);
    for (const char *line = strstr(req, "\r\n"); line && line[2] != '\r'; line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, name, n) != 0 || h[n] != ':')
            continue;
        h += n + 1;
        while (*h == ' ' || *h == '\t')
            h++;
        const char *end = strstr(h, "\r\n");
        size_t vlen = end ? (size_t)(end - h) : strlen(h);
        while (vlen && (h[vlen - 1] == ' ' || h[vlen - 1] == '\t'))
            vlen--;
        if (vlen >= len)
            return false;
        memcpy(out, h, vlen);
        out[vlen] = '\0';
        return true;
    }
    return false;
}

/* Does the comma-separated list contain `token` (case-insensitive)? */
static bool has_token(const char *list, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *last = end;
        while (last > p && last[-1] == ' ')
            last--;
        if ((size_t)(last - p) == n && strncasecmp(p, token, n) == 0)
            return true;
        p = end;
    }
    return false;
}

static void free_when_written(struct bufferevent *bev, void *arg)
{
    (void)arg;
    conn_transport_free_bev(bev);
}

static void free_on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)what;
    free(arg);
    conn_transport_free_bev(bev);
}

static void refuse(struct bufferevent *bev, ws_upgrade *up, int status, const char *reason, const char *extra)
{
    log_msg(LOG_INFO, "ws", "upgrade refused peer=%s status=%d reason=\"%s\"", up->peer, status, reason);
    struct evbuffer *out = bufferevent_get_output(bev);
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\n%sContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: "
                        "close\r\n\r\n%s\n",
                        status,
                        status == 404   ? "Not Found"
                        : status == 426 ? "Upgrade Required"
                                        : "Bad Request",
                        extra ? extra : "", strlen(reason) + 1, reason);
    free(up);
    bufferevent_disable(bev, EV_READ);
    bufferevent_setcb(bev, NULL, free_when_written, free_on_event, NULL);
}

static void accept_key(const char *key, char out[29])
{
    char joined[128];
    unsigned char digest[SHA_DIGEST_LENGTH];
    snprintf(joined, sizeof joined, "%s%s", key, WS_GUID);
    SHA1((const unsigned char *)joined, strlen(joined), digest);
    EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
}

static void upgrade(struct bufferevent *bev, ws_upgrade *up, char *req)
{
    char method[8], target[256], version[16], value[256], key[64], protocol[32] = "";
    if (sscanf(req, "%7s %255s %15s", method, target, version) != 3 || strcmp(version, "HTTP/1.1") != 0)
        return refuse(bev, up, 400, "not an HTTP/1.1 request", NULL);
    if (strcmp(method, "GET") != 0)
        return refuse(bev, up, 400, "the upgrade must be a GET", NULL);
    char *query = strchr(target, '?');
    if (query)
        *query = '\0';
    if (strcmp(target, up->path) != 0)
        return refuse(bev, up, 404, "no MQTT endpoint at this path", NULL);
    if (!header_value(req, "Upgrade", value, sizeof value) || !has_token(value, "websocket") ||
        !header_value(req, "Connection", value, sizeof value) || !has_token(value, "upgrade"))
        return refuse(bev, up, 426, "this endpoint speaks MQTT over WebSockets only",
                      "Upgrade: websocket\r\n");
    if (!header_value(req, "Sec-WebSocket-Version", value, sizeof value) || strcmp(value, "13") != 0)
        return refuse(bev, up, 426, "WebSocket version 13 is required", "Sec-WebSocket-Version: 13\r\n");
    unsigned char raw[64];
    if (!header_value(req, "Sec-WebSocket-Key", key, sizeof key) ||
        EVP_DecodeBlock(raw, (const unsigned char *)key, (int)strlen(key)) != 18)
        return refuse(bev, up, 400, "missing or malformed Sec-WebSocket-Key", NULL);
    if (header_value(req, "Sec-WebSocket-Protocol", value, sizeof value)) {
        if (has_token(value, "mqtt"))
            snprintf(protocol, sizeof protocol, "mqtt");
        else if (has_token(value, "mqttv3.1"))
            snprintf(protocol, sizeof protocol, "mqttv3.1");
        else
            return refuse(bev, up, 400, "subprotocol must be mqtt or mqttv3.1", NULL);
    }
    char accept[29];
    accept_key(key, accept);
    evbuffer_add_printf(bufferevent_get_output(bev),
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Accept: %s\r\n%s%s%s\r\n",
                        accept, protocol[0] ? "Sec-WebSocket-Protocol: " : "", protocol,
                        protocol[0] ? "\r\n" : "");
    bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
    bufferevent_set_timeouts(bev, NULL, NULL);
    ws_filter *handle = NULL;
    struct bufferevent *framed = ws_filter_new(bev, up->broker->config.limits.max_packet_size + 16, &handle);
    if (!framed) {
        log_msg(LOG_ERROR, "ws", "cannot set up WebSocket framing peer=%s", up->peer);
        conn_transport_free_bev(bev);
        free(up);
        return;
    }
    conn *c = conn_new(up->worker, up->realm, framed, up->peer);
    if (c) {
        c->tls = up->tls;
        c->ws = handle;
    }
    free(up);
}

static void upgrade_read_cb(struct bufferevent *bev, void *arg)
{
    ws_upgrade *up = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    if (end.pos < 0) {
        if (evbuffer_get_length(in) > WS_MAX_REQUEST)
            refuse(bev, up, 400, "upgrade request too large", NULL);
        return;
    }
    size_t len = (size_t)end.pos + 4;
    if (len > WS_MAX_REQUEST)
        return refuse(bev, up, 400, "upgrade request too large", NULL);
    char *req = malloc(len + 1);
    if (!req) {
        free(up);
        conn_transport_free_bev(bev);
        return;
    }
    evbuffer_remove(in, req, len);
    req[len] = '\0';
    upgrade(bev, up, req);
    free(req);
}

static void upgrade_event_cb(struct bufferevent *bev, short what, void *arg)
{
    if (what == BEV_EVENT_CONNECTED)
        return; /* wss: TLS handshake done, the HTTP request comes next */
    ws_upgrade *up = arg;
    char why[200] = "";
    unsigned long e = up->tls ? bufferevent_get_openssl_error(bev) : 0;
    if (e)
        ERR_error_string_n(e, why, sizeof why);
    log_msg(LOG_INFO, "ws", "connection closed during the upgrade peer=%s reason=\"%s\"", up->peer,
            (what & BEV_EVENT_TIMEOUT) ? "timeout"
            : e                        ? why
            : (what & BEV_EVENT_EOF)   ? "closed by the client"
                                       : "error");
    free(up);
    conn_transport_free_bev(bev);
}

void ws_accept(worker *w, struct realm *r, struct bufferevent *under, const char *path, bool tls,
               const char *peer)
{
    ws_upgrade *up = calloc(1, sizeof *up);
    if (!up) {
        conn_transport_free_bev(under);
        return;
    }
    up->worker = w;
    up->broker = w->broker;
    up->realm = r;
    up->tls = tls;
    snprintf(up->path, sizeof up->path, "%s", path);
    snprintf(up->peer, sizeof up->peer, "%s", peer);
    struct timeval deadline = {w->broker->config.limits.connect_timeout, 0};
    bufferevent_set_timeouts(under, &deadline, NULL);
    bufferevent_setcb(under, upgrade_read_cb, NULL, upgrade_event_cb, up);
    bufferevent_enable(under, EV_READ | EV_WRITE);
}
