/* The broker's admin endpoint against fake enforcer callbacks: snapshot
 * applied (200 + appliedVersion) and refused (400 + reason), the bearer token
 * (401 with WWW-Authenticate, apply never reached), /healthz without token,
 * 404/405, the 16 MiB body limit (413, with and without "Expect:
 * 100-continue"), GET /snapshots, /metrics, HTTPS with a certificate made
 * here, and start failures.
 *
 * Threads: everything of the server (its event loop, the fake callbacks, the
 * asserts on them) stays on the test's thread, which drives the loop while
 * one libcurl request runs on a helper thread. Every wait is bounded: curl has
 * a timeout and the loop a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"

#define TOKEN "test-admin-token-0123456789"

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- fake enforcer ---- */

typedef struct fake {
    int apply_calls, status_calls, metrics_calls;
    bool no_snapshot; /* /readyz: the namespace misses its snapshot */
    size_t last_len;
    char last_body[256]; /* the start of the last applied body */
} fake;

/* {"version": N} is applied; {"refuse": true} is refused with a reason. */
static int fake_apply(void *ctx, const char *json, size_t len, uint64_t *version, char *err, size_t err_len)
{
    fake *f = ctx;
    f->apply_calls++;
    f->last_len = len;
    snprintf(f->last_body, sizeof f->last_body, "%.*s", (int)(len < 255 ? len : 255), json);
    json_t *doc = json_loadb(json, len, 0, NULL);
    if (!doc || json_is_true(json_object_get(doc, "refuse"))) {
        snprintf(err, err_len, "%s", "clients[3].name: \"bad name\" is not a valid name");
        json_decref(doc);
        return -1;
    }
    *version = (uint64_t)json_integer_value(json_object_get(doc, "version"));
    json_decref(doc);
    return 0;
}

static json_t *fake_status(void *ctx)
{
    fake *f = ctx;
    f->status_calls++;
    return json_pack("{s:s, s:I, s:n}", "namespace", "demo", "appliedVersion", (json_int_t)7, "lastError");
}

static void fake_metrics(void *ctx, FILE *out)
{
    fake *f = ctx;
    f->metrics_calls++;
    fprintf(out, "egbroker_enforcer_fake_total{namespace=\"demo\"} 5\n");
}

static json_t *fake_missing(void *ctx)
{
    fake *f = ctx;
    return f->no_snapshot ? json_pack("[s]", "snapshot of namespace demo") : json_array();
}

/* ---- the server under test ---- */

typedef struct fixture {
    struct event_base *base;
    struct event *tick; /* makes each EVLOOP_ONCE turn return within 2 ms */
    admin_server *admin;
    fake f;
    char dir[64]; /* certificate and key for HTTPS */
    char cert[128], key[128];
} fixture;

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
}

static admin_server *start_admin(fixture *fx, const char *cert, const char *key, uint16_t port)
{
    admin_config cfg = {.enabled = true, .bind = "127.0.0.1", .port = port, .token = TOKEN};
    snprintf(cfg.cert, sizeof cfg.cert, "%s", cert ? cert : "");
    snprintf(cfg.key, sizeof cfg.key, "%s", key ? key : "");
    admin_callbacks cb = {&fx->f, fake_apply, fake_status, fake_metrics,
                          fake_missing}; /* copied by the server */
    return admin_server_start(fx->base, &cfg, &cb);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->base = event_base_new();
    assert_non_null(fx->base);
    fx->tick = event_new(fx->base, -1, EV_PERSIST, on_tick, NULL);
    struct timeval tv = {0, 2000};
    assert_int_equal(event_add(fx->tick, &tv), 0);
    fx->admin = start_admin(fx, NULL, NULL, 0);
    assert_non_null(fx->admin);
    assert_true(admin_server_port(fx->admin) > 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    admin_server_free(fx->admin);
    event_free(fx->tick);
    event_base_free(fx->base);
    if (fx->dir[0]) {
        unlink(fx->cert);
        unlink(fx->key);
        rmdir(fx->dir);
    }
    free(fx);
    return 0;
}

/* ---- one HTTP request on a helper thread ---- */

typedef struct call {
    /* in */
    const char *method, *path;
    const char *auth; /* the whole Authorization value, NULL for none */
    const char *body;
    size_t body_len;
    bool no_expect; /* like egcontrol's pusher: the body follows the headers at once */
    bool https;
    const char *cainfo;
    int port;
    /* out */
    CURLcode rc;
    long status;
    char *resp;
    size_t resp_len;
    char www_authenticate[64], allow[64], content_type[96];
    atomic_bool done;
} call;

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    call *c = arg;
    char *grown = realloc(c->resp, c->resp_len + size * n + 1);
    if (!grown)
        return 0;
    c->resp = grown;
    memcpy(c->resp + c->resp_len, data, size * n);
    c->resp_len += size * n;
    c->resp[c->resp_len] = '\0';
    return size * n;
}

static void copy_header(CURL *e, const char *name, char *out, size_t len)
{
    struct curl_header *h;
    if (curl_easy_header(e, name, 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
        snprintf(out, len, "%s", h->value);
}

static void *run_call(void *arg)
{
    call *c = arg;
    CURL *e = curl_easy_init();
    char url[256], auth[512];
    snprintf(url, sizeof url, "%s://127.0.0.1:%d%s", c->https ? "https" : "http", c->port, c->path);
    struct curl_slist *headers = NULL;
    if (c->auth) {
        snprintf(auth, sizeof auth, "Authorization: %s", c->auth);
        headers = curl_slist_append(headers, auth);
    }
    headers = curl_slist_append(headers, "Content-Type: application/json");
    if (c->no_expect)
        headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    if (c->cainfo)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->cainfo);
    if (c->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body_len);
    }
    if (strcmp(c->method, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (strcmp(c->method, c->body ? "POST" : "GET") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method);
    c->rc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &c->status);
    copy_header(e, "WWW-Authenticate", c->www_authenticate, sizeof c->www_authenticate);
    copy_header(e, "Allow", c->allow, sizeof c->allow);
    copy_header(e, "Content-Type", c->content_type, sizeof c->content_type);
    curl_slist_free_all(headers);
    curl_easy_cleanup(e);
    atomic_store(&c->done, true);
    return NULL;
}

/* Runs the request while turning the server's loop; the call is finished
 * (curl's own timeout bounds it) when this returns. */
static void perform(fixture *fx, call *c)
{
    if (!c->port)
        c->port = admin_server_port(fx->admin);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_call, c), 0);
    long long deadline = mono_ms() + 30000;
    while (!atomic_load(&c->done) && mono_ms() < deadline)
        event_base_loop(fx->base, EVLOOP_ONCE);
    assert_true(atomic_load(&c->done));
    pthread_join(t, NULL);
}

static void call_free(call *c)
{
    free(c->resp);
}

/* GET (or another bodiless method) with the right token. */
static void simple(fixture *fx, call *c, const char *method, const char *path)
{
    *c = (call){.method = method, .path = path, .auth = "Bearer " TOKEN};
    perform(fx, c);
}

static json_t *resp_json(const call *c)
{
    json_t *doc = json_loads(c->resp ? c->resp : "", 0, NULL);
    assert_non_null(doc);
    return doc;
}

static void assert_error_code(const call *c, const char *code)
{
    json_t *doc = resp_json(c);
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "error"), "code")), code);
    assert_non_null(json_string_value(json_object_get(json_object_get(doc, "error"), "message")));
    json_decref(doc);
}

/* ---- tests ---- */

static void test_snapshot_applied(void **state)
{
    fixture *fx = *state;
    const char *body = "{\"schema\": 1, \"namespace\": \"demo\", \"version\": 42}";
    call c = {.method = "POST",
              .path = "/snapshots",
              .auth = "Bearer " TOKEN,
              .body = body,
              .body_len = strlen(body)};
    perform(fx, &c);
    assert_int_equal(c.rc, CURLE_OK);
    assert_int_equal(c.status, 200);
    assert_string_equal(c.content_type, "application/json");
    json_t *doc = resp_json(&c);
    assert_int_equal(json_integer_value(json_object_get(doc, "appliedVersion")), 42);
    json_decref(doc);
    assert_int_equal(fx->f.apply_calls, 1);
    assert_int_equal(fx->f.last_len, strlen(body));
    assert_string_equal(fx->f.last_body, body);
    call_free(&c);
}

static void test_snapshot_refused(void **state)
{
    fixture *fx = *state;
    const char *body = "{\"refuse\": true}";
    call c = {.method = "POST",
              .path = "/snapshots",
              .auth = "Bearer " TOKEN,
              .body = body,
              .body_len = strlen(body)};
    perform(fx, &c);
    assert_int_equal(c.status, 400);
    json_t *doc = resp_json(&c);
    json_t *err = json_object_get(doc, "error");
    assert_string_equal(json_string_value(json_object_get(err, "code")), "InvalidSnapshot");
    assert_string_equal(json_string_value(json_object_get(err, "message")),
                        "clients[3].name: \"bad name\" is not a valid name");
    json_decref(doc);
    assert_int_equal(fx->f.apply_calls, 1);
    call_free(&c);
}

static void test_token_required(void **state)
{
    fixture *fx = *state;
    const char *body = "{\"version\": 1}";
    const char *wrong[] = {
        NULL, "Bearer wrong-token-0123456789ab", "Bearer " TOKEN "x", "Bearer ", "Basic dGVzdDp0ZXN0", TOKEN};
    for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
        call c = {
            .method = "POST", .path = "/snapshots", .auth = wrong[i], .body = body, .body_len = strlen(body)};
        perform(fx, &c);
        assert_int_equal(c.status, 401);
        assert_string_equal(c.www_authenticate, "Bearer");
        assert_error_code(&c, "Unauthorized");
        call_free(&c);
    }
    /* Unknown paths and GETs are behind the token too: nothing to probe. */
    call c = {.method = "GET", .path = "/nope"};
    perform(fx, &c);
    assert_int_equal(c.status, 401);
    call_free(&c);
    c = (call){.method = "GET", .path = "/snapshots"};
    perform(fx, &c);
    assert_int_equal(c.status, 401);
    call_free(&c);
    assert_int_equal(fx->f.apply_calls, 0);
    assert_int_equal(fx->f.status_calls, 0);
    /* The scheme name is case-insensitive (RFC 9110). */
    c = (call){.method = "GET", .path = "/snapshots", .auth = "bearer " TOKEN};
    perform(fx, &c);
    assert_int_equal(c.status, 200);
    call_free(&c);
}

static void test_healthz_without_token(void **state)
{
    fixture *fx = *state;
    call c = {.method = "GET", .path = "/healthz"};
    perform(fx, &c);
    assert_int_equal(c.status, 200);
    json_t *doc = resp_json(&c);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "ok");
    json_decref(doc);
    call_free(&c);
    c = (call){.method = "HEAD", .path = "/healthz"};
    perform(fx, &c);
    assert_int_equal(c.rc, CURLE_OK);
    assert_int_equal(c.status, 200);
    assert_int_equal(c.resp_len, 0);
    call_free(&c);
    c = (call){.method = "POST", .path = "/healthz", .body = "{}", .body_len = 2};
    perform(fx, &c);
    assert_int_equal(c.status, 405);
    call_free(&c);
}

/* GET /readyz (no token): 503 with what is missing, the listeners and the snapshot, then 200. */
static void expect_readyz(fixture *fx, int status, const char *missing_json)
{
    call c = {.method = "GET", .path = "/readyz"};
    perform(fx, &c);
    assert_int_equal(c.status, status);
    json_t *doc = resp_json(&c);
    assert_string_equal(json_string_value(json_object_get(doc, "status")),
                        status == 200 ? "ready" : "not ready");
    char *got = json_dumps(json_object_get(doc, "missing"), JSON_COMPACT);
    assert_string_equal(got, missing_json);
    free(got);
    json_decref(doc);
    call_free(&c);
}

static void test_readyz_without_token(void **state)
{
    fixture *fx = *state;
    fx->f.no_snapshot = true;
    expect_readyz(fx, 503, "[\"listeners\",\"snapshot of namespace demo\"]");
    admin_server_set_listeners_up(fx->admin, true);
    expect_readyz(fx, 503, "[\"snapshot of namespace demo\"]");
    fx->f.no_snapshot = false;
    expect_readyz(fx, 200, "[]");
    call c = {.method = "DELETE", .path = "/readyz"};
    perform(fx, &c);
    assert_int_equal(c.status, 405);
    assert_error_code(&c, "MethodNotAllowed");
    call_free(&c);
}

static void test_not_found_and_wrong_method(void **state)
{
    fixture *fx = *state;
    call c;
    const char *missing[] = {"/", "/nope", "/snapshots/", "/snapshots/x", "/metricsx"};
    for (size_t i = 0; i < sizeof missing / sizeof *missing; i++) {
        simple(fx, &c, "GET", missing[i]);
        assert_int_equal(c.status, 404);
        assert_error_code(&c, "NotFound");
        call_free(&c);
    }
    simple(fx, &c, "DELETE", "/snapshots");
    assert_int_equal(c.status, 405);
    assert_string_equal(c.allow, "GET, HEAD, POST");
    assert_error_code(&c, "MethodNotAllowed");
    call_free(&c);
    simple(fx, &c, "PATCH", "/snapshots"); /* evhttp alone would answer 501 */
    assert_int_equal(c.status, 405);
    call_free(&c);
    c = (call){.method = "POST", .path = "/metrics", .auth = "Bearer " TOKEN, .body = "{}", .body_len = 2};
    perform(fx, &c);
    assert_int_equal(c.status, 405);
    assert_string_equal(c.allow, "GET, HEAD");
    call_free(&c);
    assert_int_equal(fx->f.apply_calls, 0);
}

/* A JSON document of `len` bytes: {"version": 9, "pad": "xxx..."}. */
static char *big_body(size_t len)
{
    char *b = malloc(len);
    assert_non_null(b);
    static const char head[] = "{\"version\": 9, \"pad\": \"";
    memcpy(b, head, sizeof head - 1);
    memset(b + sizeof head - 1, 'x', len - (sizeof head - 1) - 2);
    memcpy(b + len - 2, "\"}", 2);
    return b;
}

static void test_body_limit(void **state)
{
    fixture *fx = *state;
    size_t over = 17u * 1024 * 1024;
    char *body = big_body(over);
    for (int no_expect = 0; no_expect <= 1; no_expect++) {
        call c = {.method = "POST",
                  .path = "/snapshots",
                  .auth = "Bearer " TOKEN,
                  .body = body,
                  .body_len = over,
                  .no_expect = no_expect};
        perform(fx, &c);
        assert_int_equal(c.status, 413);
        /* evhttp's own answer, made JSON like every other error of the endpoint */
        assert_non_null(strstr(c.content_type, "application/json"));
        assert_error_code(&c, "PayloadTooLarge");
        call_free(&c);
    }
    free(body);
    assert_int_equal(fx->f.apply_calls, 0);
    call m;
    simple(fx, &m, "GET", "/metrics");
    assert_non_null(strstr(m.resp, "egbroker_admin_requests_total{route=\"other\",status=\"413\"} 2\n"));
    call_free(&m);
    /* Just under the limit is fine (and the server still serves). */
    size_t under = 16u * 1024 * 1024 - 1024;
    body = big_body(under);
    call c = {.method = "POST",
              .path = "/snapshots",
              .auth = "Bearer " TOKEN,
              .body = body,
              .body_len = under,
              .no_expect = true};
    perform(fx, &c);
    assert_int_equal(c.status, 200);
    assert_int_equal(fx->f.apply_calls, 1);
    assert_int_equal(fx->f.last_len, under);
    call_free(&c);
    free(body);
}

static void test_snapshot_status(void **state)
{
    fixture *fx = *state;
    call c;
    simple(fx, &c, "GET", "/snapshots");
    assert_int_equal(c.status, 200);
    assert_string_equal(c.content_type, "application/json");
    json_t *doc = resp_json(&c);
    assert_string_equal(json_string_value(json_object_get(doc, "namespace")), "demo");
    assert_int_equal(json_integer_value(json_object_get(doc, "appliedVersion")), 7);
    assert_true(json_is_null(json_object_get(doc, "lastError")));
    json_decref(doc);
    assert_int_equal(fx->f.status_calls, 1);
    call_free(&c);
}

static void test_metrics(void **state)
{
    fixture *fx = *state;
    call c = {.method = "POST",
              .path = "/snapshots",
              .auth = "Bearer " TOKEN,
              .body = "{\"version\": 3}",
              .body_len = 14};
    perform(fx, &c);
    call_free(&c);
    c = (call){.method = "POST",
               .path = "/snapshots",
               .auth = "Bearer " TOKEN,
               .body = "{\"refuse\": true}",
               .body_len = 16};
    perform(fx, &c);
    call_free(&c);
    c = (call){.method = "POST", .path = "/snapshots", .body = "{}", .body_len = 2};
    perform(fx, &c);
    call_free(&c);
    simple(fx, &c, "GET", "/elsewhere");
    call_free(&c);
    simple(fx, &c, "GET", "/metrics");
    assert_int_equal(c.status, 200);
    assert_non_null(strstr(c.content_type, "text/plain"));
    const char *want[] = {
        "# TYPE egbroker_admin_requests_total counter\n",
        "egbroker_admin_requests_total{route=\"/snapshots\",status=\"200\"} 1\n",
        "egbroker_admin_requests_total{route=\"/snapshots\",status=\"400\"} 1\n",
        "egbroker_admin_requests_total{route=\"/snapshots\",status=\"401\"} 1\n",
        "egbroker_admin_requests_total{route=\"other\",status=\"404\"} 1\n",
        "egbroker_admin_snapshots_total{result=\"applied\"} 1\n",
        "egbroker_admin_snapshots_total{result=\"refused\"} 1\n",
        "egbroker_enforcer_fake_total{namespace=\"demo\"} 5\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        if (!strstr(c.resp, want[i]))
            fail_msg("missing from /metrics: %s---\n%s", want[i], c.resp);
    }
    assert_int_equal(fx->f.metrics_calls, 1);
    call_free(&c);
    /* The /metrics request itself shows up in the next scrape. */
    simple(fx, &c, "GET", "/metrics");
    assert_non_null(strstr(c.resp, "egbroker_admin_requests_total{route=\"/metrics\",status=\"200\"} 1\n"));
    call_free(&c);
}

/* ---- HTTPS ---- */

static void add_ext(X509 *cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

/* A self-signed P-256 certificate for 127.0.0.1 and its key, as PEM files in a
 * fresh temporary directory. */
static void make_certificate(fixture *fx)
{
    snprintf(fx->dir, sizeof fx->dir, "%s", "/tmp/test_admin.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->cert, sizeof fx->cert, "%s/cert.pem", fx->dir);
    snprintf(fx->key, sizeof fx->key, "%s/key.pem", fx->dir);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    assert_non_null(key);
    X509 *cert = X509_new();
    assert_non_null(cert);
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(cert, name);
    add_ext(cert, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    assert_true(X509_sign(cert, key, EVP_sha256()) > 0);
    FILE *f = fopen(fx->cert, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, cert), 1);
    fclose(f);
    f = fopen(fx->key, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    X509_free(cert);
    EVP_PKEY_free(key);
}

static void test_https(void **state)
{
    fixture *fx = *state;
    make_certificate(fx);
    admin_server_free(fx->admin);
    fx->admin = start_admin(fx, fx->cert, fx->key, 0);
    assert_non_null(fx->admin);
    const char *body = "{\"version\": 77}";
    call c = {.method = "POST",
              .path = "/snapshots",
              .auth = "Bearer " TOKEN,
              .body = body,
              .body_len = strlen(body),
              .https = true,
              .cainfo = fx->cert,
              .no_expect = true};
    perform(fx, &c);
    assert_int_equal(c.rc, CURLE_OK);
    assert_int_equal(c.status, 200);
    json_t *doc = resp_json(&c);
    assert_int_equal(json_integer_value(json_object_get(doc, "appliedVersion")), 77);
    json_decref(doc);
    call_free(&c);
    c = (call){.method = "GET", .path = "/snapshots", .https = true, .cainfo = fx->cert};
    perform(fx, &c);
    assert_int_equal(c.status, 401);
    call_free(&c);
    /* Plain HTTP on the HTTPS port is never served, even with the token. */
    c = (call){.method = "POST",
               .path = "/snapshots",
               .auth = "Bearer " TOKEN,
               .body = body,
               .body_len = strlen(body)};
    perform(fx, &c);
    assert_int_not_equal(c.rc, CURLE_OK);
    assert_int_not_equal(c.status, 200);
    call_free(&c);
    /* A client that does not trust the certificate gives up. */
    c = (call){.method = "GET", .path = "/healthz", .https = true, .cainfo = "/nonexistent.pem"};
    perform(fx, &c);
    assert_int_not_equal(c.rc, CURLE_OK);
    call_free(&c);
    assert_int_equal(fx->f.apply_calls, 1);
    /* The server is still fine after the failed handshakes. */
    c = (call){.method = "GET", .path = "/healthz", .https = true, .cainfo = fx->cert};
    perform(fx, &c);
    assert_int_equal(c.status, 200);
    call_free(&c);
}

static void test_start_failures(void **state)
{
    fixture *fx = *state;
    /* The port is taken. */
    assert_null(start_admin(fx, NULL, NULL, (uint16_t)admin_server_port(fx->admin)));
    /* Unreadable certificate. */
    assert_null(start_admin(fx, "/nonexistent/cert.pem", "/nonexistent/key.pem", 0));
    /* No token: "Bearer " alone must never pass. */
    admin_config cfg = {.enabled = true, .bind = "127.0.0.1"};
    admin_callbacks cb = {&fx->f, fake_apply, fake_status, fake_metrics, fake_missing};
    assert_null(admin_server_start(fx->base, &cfg, &cb));
    admin_server_free(NULL);
}

int main(void)
{
    /* As egbroker does: a TLS alert written to a client already gone must not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_snapshot_applied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_required, setup, teardown),
        cmocka_unit_test_setup_teardown(test_healthz_without_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readyz_without_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found_and_wrong_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_failures, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
