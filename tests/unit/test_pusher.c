/* Snapshot pusher against fake brokers (libmicrohttpd in the test process):
 * request shape, coalescing, backoff while a broker is down and recovery, error
 * texts, namespace lists, appliedVersion answers, brokers not blocking each
 * other, a prompt stop while a broker hangs, status and metrics. Every wait is
 * bounded: the pusher's status is polled until a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pusher.h"

/* ---- time ---- */

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- the snapshot source: versions set by the test ---- */

#define MAX_NS 8
static pthread_mutex_t src_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char name[32];
    uint64_t version;
    int builds;
} src_ns[MAX_NS];

static void src_reset(void)
{
    pthread_mutex_lock(&src_mu);
    memset(src_ns, 0, sizeof src_ns);
    pthread_mutex_unlock(&src_mu);
}

static int src_slot(const char *ns) /* under src_mu */
{
    for (int i = 0; i < MAX_NS; i++)
        if (strcmp(src_ns[i].name, ns) == 0)
            return i;
    for (int i = 0; i < MAX_NS; i++)
        if (!src_ns[i].name[0]) {
            snprintf(src_ns[i].name, sizeof src_ns[i].name, "%s", ns);
            return i;
        }
    return -1;
}

/* The namespace's version changes (and the pusher hears of it). */
static void change(pusher *p, const char *ns, uint64_t version)
{
    pthread_mutex_lock(&src_mu);
    src_ns[src_slot(ns)].version = version;
    pthread_mutex_unlock(&src_mu);
    pusher_notify(p, ns, version);
}

static int src_builds(const char *ns)
{
    pthread_mutex_lock(&src_mu);
    int n = src_ns[src_slot(ns)].builds;
    pthread_mutex_unlock(&src_mu);
    return n;
}

/* Namespace "missing" cannot be built. */
static char *build_snapshot(void *ctx, const char *ns, uint64_t *version)
{
    (void)ctx;
    if (strcmp(ns, "missing") == 0)
        return NULL;
    pthread_mutex_lock(&src_mu);
    int i = src_slot(ns);
    src_ns[i].builds++;
    *version = src_ns[i].version;
    pthread_mutex_unlock(&src_mu);
    char *text;
    if (asprintf(&text, "{\"namespace\":\"%s\",\"version\":%llu}", ns, (unsigned long long)*version) < 0)
        return NULL;
    return text;
}

/* ---- fake broker ---- */

#define MAX_REQS 256
typedef struct fake_req {
    char method[8], path[64], auth[128], ctype[64];
    char *body;
} fake_req;

typedef struct fake_broker {
    struct MHD_Daemon *d;
    unsigned short port;
    pthread_mutex_t mu;
    fake_req reqs[MAX_REQS];
    int n;
    int status;
    char reply[256];
    atomic_bool hang;    /* handlers wait until release */
    atomic_bool release; /* set before stopping the daemon */
    atomic_int started;  /* requests that reached the handler */
} fake_broker;

typedef struct upload {
    char *data;
    size_t len;
} upload;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *data, size_t *size, void **con_cls)
{
    (void)version;
    fake_broker *f = cls;
    upload *u = *con_cls;
    if (!u) {
        *con_cls = calloc(1, sizeof *u);
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*size) {
        char *grown = realloc(u->data, u->len + *size + 1);
        if (!grown)
            return MHD_NO;
        u->data = grown;
        memcpy(u->data + u->len, data, *size);
        u->len += *size;
        u->data[u->len] = '\0';
        *size = 0;
        return MHD_YES;
    }
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    pthread_mutex_lock(&f->mu);
    if (f->n < MAX_REQS) {
        fake_req *r = &f->reqs[f->n++];
        snprintf(r->method, sizeof r->method, "%s", method);
        snprintf(r->path, sizeof r->path, "%s", url);
        snprintf(r->auth, sizeof r->auth, "%s", auth ? auth : "");
        snprintf(r->ctype, sizeof r->ctype, "%s", ctype ? ctype : "");
        r->body = strdup(u->data ? u->data : "");
    }
    int status = f->status;
    char reply[sizeof f->reply];
    memcpy(reply, f->reply, sizeof reply);
    pthread_mutex_unlock(&f->mu);
    atomic_fetch_add(&f->started, 1);
    while (atomic_load(&f->hang) && !atomic_load(&f->release))
        sleep_ms(5);
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(reply), reply, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    upload *u = *con_cls;
    if (u) {
        free(u->data);
        free(u);
        *con_cls = NULL;
    }
}

/* Listens on 127.0.0.1:port (0 = any free port). */
static void fake_listen(fake_broker *f, unsigned short port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* A thread per connection: a hanging handler must not stall the others. */
    f->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, port, NULL, NULL,
                            on_request, f, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, f, MHD_OPTION_END);
    assert_non_null(f->d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    f->port = info->port;
}

static fake_broker *fake_new(int status, const char *reply)
{
    fake_broker *f = calloc(1, sizeof *f);
    assert_non_null(f);
    pthread_mutex_init(&f->mu, NULL);
    f->status = status;
    snprintf(f->reply, sizeof f->reply, "%s", reply);
    return f;
}

static void fake_answer(fake_broker *f, int status, const char *reply)
{
    pthread_mutex_lock(&f->mu);
    f->status = status;
    snprintf(f->reply, sizeof f->reply, "%s", reply);
    pthread_mutex_unlock(&f->mu);
}

static int fake_count(fake_broker *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->n;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* A copy of request i's field (the array may be appended to meanwhile). */
static void fake_get(fake_broker *f, int i, fake_req *out, char *body, size_t body_len)
{
    pthread_mutex_lock(&f->mu);
    assert_true(i < f->n);
    *out = f->reqs[i];
    snprintf(body, body_len, "%s", f->reqs[i].body);
    out->body = NULL;
    pthread_mutex_unlock(&f->mu);
}

static void fake_free(fake_broker *f)
{
    atomic_store(&f->release, true);
    if (f->d)
        MHD_stop_daemon(f->d);
    for (int i = 0; i < f->n; i++)
        free(f->reqs[i].body);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* A port where nothing listens: bound for a moment to learn a free one. */
static unsigned short free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t len = sizeof sin;
    assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &len), 0);
    close(s);
    return ntohs(sin.sin_port);
}

static void url_of(char *out, size_t len, unsigned short port)
{
    snprintf(out, len, "http://127.0.0.1:%u", port);
}

/* ---- pusher status helpers ---- */

/* A copy of the status entry of (broker, ns), NULL if absent. */
static json_t *pair_status(pusher *p, const char *broker, const char *ns)
{
    json_t *st = pusher_status(p);
    assert_non_null(st);
    json_t *found = NULL, *b, *q;
    size_t i, k;
    json_array_foreach(json_object_get(st, "value"), i, b)
    {
        if (strcmp(json_string_value(json_object_get(b, "name")), broker) != 0)
            continue;
        json_array_foreach(json_object_get(b, "namespaces"), k, q)
        {
            if (strcmp(json_string_value(json_object_get(q, "namespace")), ns) == 0)
                found = json_deep_copy(q);
        }
    }
    json_decref(st);
    return found;
}

static const char *str_of(json_t *q, const char *key)
{
    return json_string_value(json_object_get(q, key));
}

static long long int_of(json_t *q, const char *key)
{
    return json_integer_value(json_object_get(q, key));
}

/* Polls until the pair has `state` and appliedVersion `applied` (or any when
 * applied < 0); the last status seen, or NULL on timeout. */
static json_t *wait_pair(pusher *p, const char *broker, const char *ns, const char *state, long long applied,
                         long timeout_ms)
{
    long long deadline = mono_ms() + timeout_ms;
    for (;;) {
        json_t *q = pair_status(p, broker, ns);
        if (q && strcmp(str_of(q, "state"), state) == 0 &&
            (applied < 0 || int_of(q, "appliedVersion") == applied))
            return q;
        json_decref(q);
        if (mono_ms() > deadline)
            return NULL;
        sleep_ms(5);
    }
}

static bool wait_count(fake_broker *f, int n, long timeout_ms)
{
    long long deadline = mono_ms() + timeout_ms;
    while (fake_count(f) < n) {
        if (mono_ms() > deadline)
            return false;
        sleep_ms(5);
    }
    return true;
}

static bool is_iso_ms(const char *s)
{
    int y, mo, d, h, mi, sec, ms;
    char z;
    return s && strlen(s) == 24 &&
           sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &sec, &ms, &z) == 8 && z == 'Z';
}

static pusher_options fast_opts(void)
{
    return (pusher_options){
        .initial_backoff_ms = 100, .max_backoff_ms = 1000, .coalesce_ms = 20, .timeout_ms = 2000};
}

static int setup(void **state)
{
    (void)state;
    src_reset();
    return 0;
}

/* ---- tests ---- */

static void test_single_push(void **state)
{
    (void)state;
    fake_broker *f = fake_new(200, "");
    fake_listen(f, 0);
    char url[64];
    /* A trailing slash must not end up as "//snapshots". */
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", f->port);
    pusher_broker b = {.name = "local", .url = url, .token = "s3cret"};
    pusher_options o = fast_opts();
    pusher *p = pusher_start(&b, 1, &o, build_snapshot, NULL);
    assert_non_null(p);
    change(p, "demo", 42);
    json_t *q = wait_pair(p, "local", "demo", "InSync", 42, 3000);
    assert_non_null(q);
    assert_int_equal(int_of(q, "desiredVersion"), 42);
    assert_int_equal(int_of(q, "attempts"), 1);
    assert_true(json_is_null(json_object_get(q, "lastError")));
    assert_true(is_iso_ms(str_of(q, "lastAttemptAt")));
    assert_true(is_iso_ms(str_of(q, "lastSuccessAt")));
    json_decref(q);
    sleep_ms(150); /* no second push of the same version */
    assert_int_equal(fake_count(f), 1);
    fake_req r;
    char body[256];
    fake_get(f, 0, &r, body, sizeof body);
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.path, "/snapshots");
    assert_string_equal(r.auth, "Bearer s3cret");
    assert_string_equal(r.ctype, "application/json");
    assert_string_equal(body, "{\"namespace\":\"demo\",\"version\":42}");

    /* The status document: broker fields and the pair's full key set. */
    json_t *st = pusher_status(p);
    json_t *b0 = json_array_get(json_object_get(st, "value"), 0);
    assert_string_equal(str_of(b0, "name"), "local");
    assert_string_equal(str_of(b0, "url"), url);
    json_t *q0 = json_array_get(json_object_get(b0, "namespaces"), 0);
    const char *keys[] = {"namespace", "desiredVersion", "appliedVersion", "state",
                          "lastError", "attempts",       "lastAttemptAt",  "lastSuccessAt"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_non_null(json_object_get(q0, keys[i]));
    assert_int_equal(json_object_size(q0), 8);
    json_decref(st);
    pusher_stop(p);
    fake_free(f);
}

static void test_burst_coalesced(void **state)
{
    (void)state;
    fake_broker *f = fake_new(200, "");
    fake_listen(f, 0);
    char url[64];
    url_of(url, sizeof url, f->port);
    pusher_broker b = {.name = "local", .url = url, .token = "t"};
    pusher_options o = fast_opts();
    o.coalesce_ms = 300;
    pusher *p = pusher_start(&b, 1, &o, build_snapshot, NULL);
    assert_non_null(p);
    /* Spread over ~100 ms, so that without coalescing there would be many pushes. */
    for (int v = 1; v <= 50; v++) {
        change(p, "demo", (uint64_t)v);
        sleep_ms(2);
    }
    json_t *q = wait_pair(p, "local", "demo", "InSync", 50, 3000);
    assert_non_null(q);
    json_decref(q);
    sleep_ms(100);
    int n = fake_count(f);
    assert_true(n >= 1 && n <= 2);
    fake_req r;
    char body[256];
    fake_get(f, n - 1, &r, body, sizeof body);
    assert_string_equal(body, "{\"namespace\":\"demo\",\"version\":50}");
    pusher_stop(p);
    fake_free(f);
}

static void test_down_then_up(void **state)
{
    (void)state;
    unsigned short port = free_port();
    char url[64];
    url_of(url, sizeof url, port);
    pusher_broker b = {.name = "local", .url = url, .token = "t"};
    pusher_options o = fast_opts();
    pusher *p = pusher_start(&b, 1, &o, build_snapshot, NULL);
    assert_non_null(p);
    change(p, "demo", 1);
    json_t *q = wait_pair(p, "local", "demo", "Failing", 0, 2000);
    assert_non_null(q);
    assert_non_null(strstr(str_of(q, "lastError"), "connect"));
    assert_true(json_is_null(json_object_get(q, "lastSuccessAt")));
    json_decref(q);
    /* Backoff 100, 200, 400, 800 ms (+-20 %): about 4 attempts in the first
     * second, not the hundreds a tight loop would make. */
    sleep_ms(1000);
    q = pair_status(p, "local", "demo");
    long long attempts = int_of(q, "attempts");
    json_decref(q);
    assert_true(attempts >= 2 && attempts <= 6);
    char metrics[4096] = "";
    FILE *m = fmemopen(metrics, sizeof metrics - 1, "w");
    pusher_write_metrics(p, m);
    fclose(m);
    assert_null(strstr(metrics, "result=\"error\"} 0\n"));

    change(p, "demo", 2); /* a change while down: only the newest goes out */
    fake_broker *f = fake_new(200, "");
    fake_listen(f, port);
    q = wait_pair(p, "local", "demo", "InSync", 2, 4000);
    assert_non_null(q);
    assert_true(json_is_null(json_object_get(q, "lastError")));
    json_decref(q);
    assert_int_equal(fake_count(f), 1);
    fake_req r;
    char body[256];
    fake_get(f, 0, &r, body, sizeof body);
    assert_string_equal(body, "{\"namespace\":\"demo\",\"version\":2}");
    pusher_stop(p);
    fake_free(f);
}

static void test_http_error_retried(void **state)
{
    (void)state;
    fake_broker *f = fake_new(400, "bad snapshot\n");
    fake_listen(f, 0);
    char url[64];
    url_of(url, sizeof url, f->port);
    pusher_broker b = {.name = "local", .url = url, .token = "t"};
    pusher_options o = fast_opts();
    pusher *p = pusher_start(&b, 1, &o, build_snapshot, NULL);
    assert_non_null(p);
    change(p, "demo", 3);
    json_t *q = wait_pair(p, "local", "demo", "Failing", 0, 2000);
    assert_non_null(q);
    assert_string_equal(str_of(q, "lastError"), "HTTP 400: bad snapshot");
    json_decref(q);
    assert_true(wait_count(f, 2, 2000)); /* retried */
    fake_answer(f, 204, "");
    q = wait_pair(p, "local", "demo", "InSync", 3, 3000);
    assert_non_null(q);
    assert_int_equal(int_of(q, "attempts"), fake_count(f));
    json_decref(q);
    pusher_stop(p);
    fake_free(f);
}

static void test_namespace_lists(void **state)
{
    (void)state;
    fake_broker *f = fake_new(200, "");
    fake_listen(f, 0);
    char url[64];
    url_of(url, sizeof url, f->port);
    const char *only_a[] = {"a"};
    const char *none[] = {NULL};
    pusher_broker b[] = {{.name = "A", .url = url, .token = "tA", .namespaces = only_a, .n_namespaces = 1},
                         {.name = "B", .url = url, .token = "tB"},
                         {.name = "C", .url = url, .token = "tC", .namespaces = none, .n_namespaces = 0}};
    pusher_options o = fast_opts();
    pusher *p = pusher_start(b, 3, &o, build_snapshot, NULL);
    assert_non_null(p);
    change(p, "b", 2);
    change(p, "a", 1);
    json_t *q;
    assert_non_null(q = wait_pair(p, "A", "a", "InSync", 1, 3000));
    json_decref(q);
    assert_non_null(q = wait_pair(p, "B", "a", "InSync", 1, 3000));
    json_decref(q);
    assert_non_null(q = wait_pair(p, "B", "b", "InSync", 2, 3000));
    json_decref(q);
    sleep_ms(100);
    assert_int_equal(fake_count(f), 3);
    for (int i = 0; i < 3; i++) {
        fake_req r;
        char body[256];
        fake_get(f, i, &r, body, sizeof body);
        assert_true(strcmp(r.auth, "Bearer tA") == 0 || strcmp(r.auth, "Bearer tB") == 0);
        if (strcmp(r.auth, "Bearer tA") == 0)
            assert_string_equal(body, "{\"namespace\":\"a\",\"version\":1}");
    }
    /* One build of "a" served both brokers. */
    assert_int_equal(src_builds("a"), 1);
    json_t *st = pusher_status(p);
    json_t *v = json_object_get(st, "value");
    assert_int_equal(json_array_size(v), 3);
    assert_string_equal(str_of(json_array_get(v, 0), "name"), "A"); /* config order */
    assert_int_equal(json_array_size(json_object_get(json_array_get(v, 0), "namespaces")), 1);
    json_t *bns = json_object_get(json_array_get(v, 1), "namespaces");
    assert_int_equal(json_array_size(bns), 2);
    assert_string_equal(str_of(json_array_get(bns, 0), "namespace"), "a"); /* sorted by name */
    assert_int_equal(json_array_size(json_object_get(json_array_get(v, 2), "namespaces")), 0);
    json_decref(st);
    pusher_stop(p);
    fake_free(f);
}

static void test_applied_version_from_answer(void **state)
{
    (void)state;
    fake_broker *f = fake_new(200, "{\"appliedVersion\": 7}");
    fake_listen(f, 0);
    char url[64];
    url_of(url, sizeof url, f->port);
    pusher_broker b = {.name = "local", .url = url, .token = "t"};
    pusher_options o = fast_opts();
    pusher *p = pusher_start(&b, 1, &o, build_snapshot, NULL);
    assert_non_null(p);
    change(p, "demo", 5);
    json_t *q = wait_pair(p, "local", "demo", "InSync", 7, 3000);
    assert_non_null(q);
    json_decref(q);

    /* A broker that acknowledges less than it got: retried, but with backoff. */
    fake_answer(f, 200, "{\"appliedVersion\": 1}");
    int before = fake_count(f);
    change(p, "demo", 10);
    assert_true(wait_count(f, before + 1, 2000));
    sleep_ms(400);
    q = pair_status(p, "local", "demo");
    assert_string_equal(str_of(q, "state"), "Pending");
    json_decref(q);
    assert_true(fake_count(f) - before <= 4);
    fake_answer(f, 200, "not json");
    q = wait_pair(p, "local", "demo", "InSync", 10, 3000);
    assert_non_null(q);
    json_decref(q);
    pusher_stop(p);
    fake_free(f);
}

static void test_down_broker_does_not_delay_others(void **state)
{
    (void)state;
    fake_broker *f = fake_new(200, "");
    fake_listen(f, 0);
    char up[64], down[64];
    url_of(up, sizeof up, f->port);
    url_of(down, sizeof down, free_port());
    pusher_broker b[] = {{.name = "down", .url = down, .token = "t"},
                         {.name = "up", .url = up, .token = "t"}};
    pusher_options o = fast_opts();
    pusher *p = pusher_start(b, 2, &o, build_snapshot, NULL);
    assert_non_null(p);
    for (int v = 1; v <= 5; v++) {
        long long t0 = mono_ms();
        change(p, "demo", (uint64_t)v);
        json_t *q = wait_pair(p, "up", "demo", "InSync", v, 2000);
        assert_non_null(q);
        json_decref(q);
        assert_true(mono_ms() - t0 < 500);
    }
    json_t *q = wait_pair(p, "down", "demo", "Failing", 0, 2000);
    assert_non_null(q);
    json_decref(q);
    pusher_stop(p);
    fake_free(f);
}

static void test_hanging_broker(void **state)
{
    (void)state;
    fake_broker *hung = fake_new(200, "");
    atomic_store(&hung->hang, true);
    fake_listen(hung, 0);
    fake_broker *f = fake_new(200, "");
    fake_listen(f, 0);
    char hu[64], up[64];
    url_of(hu, sizeof hu, hung->port);
    url_of(up, sizeof up, f->port);
    pusher_broker b[] = {{.name = "hung", .url = hu, .token = "t"}, {.name = "up", .url = up, .token = "t"}};
    pusher_options o = fast_opts();
    o.timeout_ms = 300;
    pusher *p = pusher_start(b, 2, &o, build_snapshot, NULL);
    assert_non_null(p);
    long long t0 = mono_ms();
    change(p, "demo", 1);
    /* Done well before the hanging request's timeout. */
    json_t *q = wait_pair(p, "up", "demo", "InSync", 1, 2000);
    assert_non_null(q);
    json_decref(q);
    assert_true(mono_ms() - t0 < 250);
    q = wait_pair(p, "hung", "demo", "Failing", 0, 2000);
    assert_non_null(q);
    assert_non_null(strstr(str_of(q, "lastError"), "Timeout"));
    json_decref(q);
    /* Stop while a retry hangs: abandoned, not awaited. */
    int seen = atomic_load(&hung->started);
    long long deadline = mono_ms() + 2000;
    while (atomic_load(&hung->started) == seen && mono_ms() < deadline)
        sleep_ms(5);
    assert_true(atomic_load(&hung->started) > seen);
    t0 = mono_ms();
    pusher_stop(p);
    assert_true(mono_ms() - t0 < 300);
    fake_free(hung);
    fake_free(f);
}

static void test_unbuildable_snapshot(void **state)
{
    (void)state;
    fake_broker *f = fake_new(200, "");
    fake_listen(f, 0);
    char url[64];
    url_of(url, sizeof url, f->port);
    pusher_broker b = {.name = "local", .url = url, .token = "t"};
    pusher_options o = fast_opts();
    pusher *p = pusher_start(&b, 1, &o, build_snapshot, NULL);
    assert_non_null(p);
    pusher_notify(p, "missing", 4);
    json_t *q = wait_pair(p, "local", "missing", "Failing", 0, 2000);
    assert_non_null(q);
    assert_non_null(strstr(str_of(q, "lastError"), "could not be built"));
    json_decref(q);
    assert_int_equal(fake_count(f), 0);
    pusher_stop(p);
    fake_free(f);
}

static void test_metrics(void **state)
{
    (void)state;
    fake_broker *f = fake_new(200, "");
    fake_listen(f, 0);
    char url[64];
    url_of(url, sizeof url, f->port);
    pusher_broker b = {.name = "we\"ird\\name", .url = url, .token = "t"};
    pusher_options o = fast_opts();
    pusher *p = pusher_start(&b, 1, &o, build_snapshot, NULL);
    assert_non_null(p);
    change(p, "demo", 42);
    json_t *q = wait_pair(p, "we\"ird\\name", "demo", "InSync", 42, 3000);
    assert_non_null(q);
    json_decref(q);
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    pusher_write_metrics(p, m);
    fclose(m);
    assert_non_null(strstr(text, "# TYPE egcontrol_snapshot_pushes_total counter\n"));
    assert_non_null(strstr(text, "# HELP egcontrol_snapshot_pushes_total "));
    assert_non_null(
        strstr(text, "egcontrol_snapshot_pushes_total{broker=\"we\\\"ird\\\\name\",result=\"ok\"} 1\n"));
    assert_non_null(
        strstr(text, "egcontrol_snapshot_pushes_total{broker=\"we\\\"ird\\\\name\",result=\"error\"} 0\n"));
    assert_non_null(strstr(text, "# TYPE egcontrol_broker_applied_version gauge\n"));
    assert_non_null(strstr(
        text, "egcontrol_broker_applied_version{broker=\"we\\\"ird\\\\name\",namespace=\"demo\"} 42\n"));
    free(text);
    pusher_stop(p);
    fake_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_single_push, setup),
        cmocka_unit_test_setup(test_burst_coalesced, setup),
        cmocka_unit_test_setup(test_down_then_up, setup),
        cmocka_unit_test_setup(test_http_error_retried, setup),
        cmocka_unit_test_setup(test_namespace_lists, setup),
        cmocka_unit_test_setup(test_applied_version_from_answer, setup),
        cmocka_unit_test_setup(test_down_broker_does_not_delay_others, setup),
        cmocka_unit_test_setup(test_hanging_broker, setup),
        cmocka_unit_test_setup(test_unbuildable_snapshot, setup),
        cmocka_unit_test_setup(test_metrics, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
