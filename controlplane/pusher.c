/* Snapshot pusher. State per (broker, namespace) pair under one mutex; one
 * thread drives a curl multi handle, so requests to different brokers run in
 * parallel and a hanging broker delays nobody but itself. The thread sleeps in
 * curl_multi_poll, which curl_multi_wakeup interrupts from any thread: that is
 * how pusher_notify and pusher_stop wake it (a condition variable could not
 * interrupt a poll on sockets). */
#include "pusher.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pusher_http.h"

/* At start every namespace is due at once; thousands of parallel connections
 * would hurt a broker more than they help. Further due pairs wait for a slot. */
#define MAX_INFLIGHT_PER_BROKER 8
/* Longest sleep when nothing is due (a notify wakes the thread earlier). */
#define IDLE_WAIT_MS 10000
/* Sleep slices when libcurl could not set up its wakeup socket pair. */
#define NO_WAKEUP_WAIT_MS 50

typedef struct push_pair {
    char *ns;           /* immutable once created: read outside the mutex */
    uint64_t desired;   /* newest version notified (or built) */
    uint64_t applied;   /* newest version the broker acknowledged */
    unsigned attempts;  /* since the last success, that success included */
    unsigned failures;  /* consecutive attempts without progress: the backoff exponent */
    bool restart_count; /* the last attempt succeeded: the next one starts attempts at 1 */
    bool in_flight;
    char *last_error;                              /* NULL when the last attempt succeeded */
    char last_attempt_at[32], last_success_at[32]; /* "" = never */
    int64_t due_at;                                /* monotonic ms: no attempt before (coalescing, backoff) */
    int64_t notified_at;                           /* monotonic ms of the last notify that raised desired */
} push_pair;

typedef struct push_broker {
    char *name, *url, *post_url;
    struct curl_slist *headers;
    char **namespaces; /* NULL = all */
    size_t n_namespaces;
    push_pair **pairs; /* sorted by ns; pointers stay valid while the array grows */
    size_t n_pairs, cap_pairs;
    unsigned in_flight;
    uint64_t pushes_ok, pushes_error;
} push_broker;

/* One push of one round: a pair, the version built for it, its request. */
typedef struct push_job {
    push_broker *b;
    push_pair *q;
    uint64_t version;
    push_request *req;
    struct push_job *next, *prev; /* the pusher's in-flight list */
} push_job;

struct pusher {
    pthread_mutex_t mu;
    pthread_t thread;
    bool stop;
    bool wakeup_works;
    CURLM *multi;
    push_broker *brokers;
    size_t n_brokers;
    pusher_options opt;
    snapshot_build_fn build;
    void *build_ctx;
    /* Pusher thread only. */
    push_job *active;
    uint64_t rng;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void iso_now(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char secs[24];
    strftime(secs, sizeof secs, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%.19s.%03dZ", secs, (int)(ts.tv_nsec / 1000000));
}

/* xorshift64*: jitter only needs to decorrelate retries, not be unpredictable. */
static double rand01(pusher *p)
{
    p->rng ^= p->rng >> 12;
    p->rng ^= p->rng << 25;
    p->rng ^= p->rng >> 27;
    return (double)((p->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* initial * 2^(failures-1), capped, then +-20 % so that pairs that failed
 * together (every namespace of a broker that went down) do not retry in lockstep. */
static int64_t backoff_ms(pusher *p, unsigned failures)
{
    double d = (double)p->opt.initial_backoff_ms;
    for (unsigned i = 1; i < failures && d < (double)p->opt.max_backoff_ms; i++)
        d *= 2;
    if (d > (double)p->opt.max_backoff_ms)
        d = (double)p->opt.max_backoff_ms;
    return (int64_t)(d * (0.8 + 0.4 * rand01(p)));
}

static bool broker_serves(const push_broker *b, const char *ns)
{
    if (!b->namespaces)
        return true;
    for (size_t i = 0; i < b->n_namespaces; i++)
        if (strcmp(b->namespaces[i], ns) == 0)
            return true;
    return false;
}

/* The pair of ns, created (InSync at version 0) if new. NULL on allocation failure. */
static push_pair *pair_get(push_broker *b, const char *ns)
{
    size_t lo = 0, hi = b->n_pairs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(b->pairs[mid]->ns, ns);
        if (c == 0)
            return b->pairs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (b->n_pairs == b->cap_pairs) {
        size_t cap = b->cap_pairs ? b->cap_pairs * 2 : 8;
        push_pair **grown = realloc(b->pairs, cap * sizeof *grown);
        if (!grown)
            return NULL;
        b->pairs = grown;
        b->cap_pairs = cap;
    }
    push_pair *q = calloc(1, sizeof *q);
    if (!q || !(q->ns = strdup(ns))) {
        free(q);
        return NULL;
    }
    memmove(b->pairs + lo + 1, b->pairs + lo, (b->n_pairs - lo) * sizeof *b->pairs);
    b->pairs[lo] = q;
    b->n_pairs++;
    return q;
}

static void wake(pusher *p)
{
    /* Lossless: the wakeup byte waits in a socket pair until the next poll. */
    curl_multi_wakeup(p->multi);
}

void pusher_notify(pusher *p, const char *ns, uint64_t version)
{
    if (!p || !ns)
        return;
    bool changed = false;
    pthread_mutex_lock(&p->mu);
    int64_t now = now_ms();
    for (size_t i = 0; i < p->n_brokers; i++) {
        push_broker *b = &p->brokers[i];
        if (!broker_serves(b, ns))
            continue;
        push_pair *q = pair_get(b, ns);
        if (!q) {
            log_msg(LOG_ERROR, "pusher", "out of memory tracking namespace %s for broker %s", ns, b->name);
            continue;
        }
        if (version <= q->desired)
            continue;
        bool was_pending = q->desired > q->applied;
        q->desired = version;
        q->notified_at = now;
        /* An idle pair waits coalesce_ms so that a burst of changes becomes one
         * push. A pending pair keeps its schedule: a push in flight or a backoff
         * must not be cut short (or a down broker would be hammered). */
        if (!was_pending)
            q->due_at = now + p->opt.coalesce_ms;
        changed = true;
    }
    pthread_mutex_unlock(&p->mu);
    if (changed)
        wake(p);
}

/* A push of q ended without progress: record why, back off. Under the mutex. */
static void record_failure(pusher *p, push_broker *b, push_pair *q, char *error, bool counted, int64_t now)
{
    q->in_flight = false;
    b->in_flight--;
    if (counted)
        b->pushes_error++;
    if (!error) /* allocation failure: keep the previous text rather than none */
        error = strdup(q->last_error ? q->last_error : "out of memory");
    /* Only a new error text is worth a line: a broker that stays down would
     * otherwise log every retry. */
    if (error && (!q->last_error || strcmp(q->last_error, error) != 0))
        log_msg(LOG_WARN, "pusher", "push of namespace %s to broker %s failed: %s (retrying)", q->ns, b->name,
                error);
    if (error) {
        free(q->last_error);
        q->last_error = error;
    }
    q->failures++;
    q->due_at = now + backoff_ms(p, q->failures);
}

/* A 2xx answer to the push of `version`. Under the mutex. */
static void record_success(pusher *p, push_job *j, bool has_applied, uint64_t applied, int64_t now)
{
    push_pair *q = j->q;
    push_broker *b = j->b;
    q->in_flight = false;
    b->in_flight--;
    b->pushes_ok++;
    q->applied = has_applied ? applied : j->version;
    /* The build may have seen a change whose notify is still on its way. */
    if (j->version > q->desired)
        q->desired = j->version;
    q->restart_count = true;
    iso_now(q->last_success_at);
    if (q->last_error) {
        log_msg(LOG_INFO, "pusher",
                "broker %s has namespace %s again (version %" PRIu64 ") after %u attempts", b->name, q->ns,
                q->applied, q->attempts);
        free(q->last_error);
        q->last_error = NULL;
    }
    if (q->applied >= q->desired) {
        q->failures = 0;
    } else if (q->desired > j->version) {
        /* A change came in while this push was built or under way: the newer
         * snapshot goes next, after the same quiet time a fresh notify gets. */
        q->failures = 0;
        int64_t quiet = q->notified_at + p->opt.coalesce_ms;
        q->due_at = quiet > now ? quiet : now;
    } else {
        /* The broker acknowledged less than it was sent: retrying at once
         * would loop as fast as it answers, so back off as after a failure. */
        q->failures++;
        q->due_at = now + backoff_ms(p, q->failures);
    }
}

/* One entry of a round, before its request exists. */
typedef struct due_item {
    push_broker *b;
    push_pair *q;
} due_item;

static int due_item_cmp(const void *x, const void *y)
{
    return strcmp(((const due_item *)x)->q->ns, ((const due_item *)y)->q->ns);
}

/* Marks every due pair in flight and returns them (*n); *wait_ms is set to the
 * time until the next pair becomes due. Under the mutex. */
static due_item *collect_due(pusher *p, int64_t now, size_t *n, int64_t *wait_ms)
{
    due_item *items = NULL;
    size_t cap = 0;
    *n = 0;
    for (size_t i = 0; i < p->n_brokers; i++) {
        push_broker *b = &p->brokers[i];
        for (size_t k = 0; k < b->n_pairs; k++) {
            push_pair *q = b->pairs[k];
            if (q->in_flight || q->desired <= q->applied)
                continue;
            if (q->due_at > now) {
                if (q->due_at - now < *wait_ms)
                    *wait_ms = q->due_at - now;
                continue;
            }
            if (b->in_flight >= MAX_INFLIGHT_PER_BROKER)
                continue; /* the end of a transfer wakes the thread */
            if (*n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                due_item *grown = realloc(items, ncap * sizeof *grown);
                if (!grown) {
                    *wait_ms = 0; /* try the rest again soon */
                    return items;
                }
                items = grown;
                cap = ncap;
            }
            items[(*n)++] = (due_item){b, q};
            q->in_flight = true;
            b->in_flight++;
            if (q->restart_count) {
                q->attempts = 0;
                q->restart_count = false;
            }
            q->attempts++;
            iso_now(q->last_attempt_at);
        }
    }
    return items;
}

/* Sends the snapshot of one namespace to the brokers of items[0..n). */
static void start_group(pusher *p, due_item *items, size_t n)
{
    const char *ns = items[0].q->ns;
    uint64_t version = 0;
    char *text = p->build(p->build_ctx, ns, &version);
    push_body *body = text ? push_body_new(text) : NULL;
    if (text && !body)
        free(text);
    for (size_t i = 0; i < n; i++) {
        push_job *j = body ? calloc(1, sizeof *j) : NULL;
        if (j) {
            *j = (push_job){.b = items[i].b, .q = items[i].q, .version = version};
            j->req = push_request_new(j->b->post_url, j->b->headers, body, p->opt.timeout_ms, j);
        }
        if (j && j->req && curl_multi_add_handle(p->multi, j->req->easy) == CURLM_OK) {
            j->next = p->active;
            if (p->active)
                p->active->prev = j;
            p->active = j;
            continue;
        }
        if (j)
            push_request_free(j->req);
        free(j);
        char *error = NULL;
        if (!text && asprintf(&error, "the snapshot of namespace %s could not be built", ns) < 0)
            error = NULL;
        pthread_mutex_lock(&p->mu);
        record_failure(p, items[i].b, items[i].q, text ? strdup("out of memory") : error, false, now_ms());
        pthread_mutex_unlock(&p->mu);
    }
    /* The requests hold their own references (a failed one may already have
     * dropped its own, which is why the group keeps one until here). */
    if (body)
        push_body_unref(body);
}

/* Builds each namespace's snapshot once for all its brokers of this round
 * (outside the mutex: the build reads the database) and starts the requests. */
static void start_round(pusher *p, due_item *items, size_t n)
{
    qsort(items, n, sizeof *items, due_item_cmp);
    for (size_t i = 0; i < n;) {
        size_t k = i + 1;
        while (k < n && strcmp(items[k].q->ns, items[i].q->ns) == 0)
            k++;
        start_group(p, items + i, k - i);
        i = k;
    }
}

static void unlink_job(pusher *p, push_job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        p->active = j->next;
    if (j->next)
        j->next->prev = j->prev;
}

/* Records the outcome of every finished request. */
static void finish_done(pusher *p)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(p->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode code = msg->data.result; /* msg dies with the removal below */
        char *priv = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        push_job *j = (push_job *)priv;
        curl_multi_remove_handle(p->multi, easy);
        char *error;
        bool has_applied;
        uint64_t applied = 0;
        bool ok = push_request_outcome(j->req, code, &error, &has_applied, &applied);
        pthread_mutex_lock(&p->mu);
        int64_t now = now_ms();
        if (ok)
            record_success(p, j, has_applied, applied, now);
        else
            record_failure(p, j->b, j->q, error, true, now);
        pthread_mutex_unlock(&p->mu);
        unlink_job(p, j);
        push_request_free(j->req);
        free(j);
    }
}

static void *pusher_main(void *arg)
{
    pusher *p = arg;
    for (;;) {
        int running;
        curl_multi_perform(p->multi, &running);
        finish_done(p);
        pthread_mutex_lock(&p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        int64_t wait = p->wakeup_works ? IDLE_WAIT_MS : NO_WAKEUP_WAIT_MS;
        size_t n;
        due_item *items = collect_due(p, now_ms(), &n, &wait);
        pthread_mutex_unlock(&p->mu);
        if (n > 0) {
            start_round(p, items, n);
            free(items);
            continue; /* perform at once: the new requests start connecting */
        }
        free(items);
        /* Also returns for socket activity and libcurl's own timers (request timeouts). */
        curl_multi_poll(p->multi, NULL, 0, (int)wait, NULL);
    }
    /* Stopping: in-flight requests are abandoned, not awaited. */
    while (p->active) {
        push_job *j = p->active;
        p->active = j->next;
        curl_multi_remove_handle(p->multi, j->req->easy);
        push_request_free(j->req);
        free(j);
    }
    return NULL;
}

static void free_brokers(pusher *p)
{
    for (size_t i = 0; i < p->n_brokers; i++) {
        push_broker *b = &p->brokers[i];
        free(b->name);
        free(b->url);
        free(b->post_url);
        curl_slist_free_all(b->headers);
        for (size_t k = 0; b->namespaces && k < b->n_namespaces; k++)
            free(b->namespaces[k]);
        free(b->namespaces);
        for (size_t k = 0; k < b->n_pairs; k++) {
            free(b->pairs[k]->ns);
            free(b->pairs[k]->last_error);
            free(b->pairs[k]);
        }
        free(b->pairs);
    }
    free(p->brokers);
}

static bool copy_broker(push_broker *dst, const pusher_broker *src)
{
    if (!src->name || !src->url || !src->token) {
        log_msg(LOG_ERROR, "pusher", "a broker needs a name, a url and a token");
        return false;
    }
    dst->name = strdup(src->name);
    dst->url = strdup(src->url);
    dst->post_url = push_url(src->url);
    if (!(dst->headers = push_headers_new(src->token))) {
        log_msg(LOG_ERROR, "pusher", "broker %s: the token cannot be sent in a header", src->name);
        return false;
    }
    if (src->namespaces) {
        dst->n_namespaces = src->n_namespaces;
        /* One spare slot: an empty list is still a list ("serves nothing"), not NULL ("serves all"). */
        if (!(dst->namespaces = calloc(src->n_namespaces + 1, sizeof *dst->namespaces)))
            return false;
        for (size_t k = 0; k < src->n_namespaces; k++)
            if (!(dst->namespaces[k] = strdup(src->namespaces[k])))
                return false;
    }
    return dst->name && dst->url && dst->post_url;
}

pusher *pusher_start(const pusher_broker *brokers, size_t n_brokers, const pusher_options *opt,
                     snapshot_build_fn build, void *build_ctx)
{
    if (!build || (n_brokers > 0 && !brokers))
        return NULL;
    /* Here and not in the caller: not thread-safe in older libcurl, and this
     * runs before the pusher thread exists. Nested inits are reference-counted. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    pusher *p = calloc(1, sizeof *p);
    if (!p) {
        curl_global_cleanup();
        return NULL;
    }
    pusher_options def = {
        .initial_backoff_ms = 200, .max_backoff_ms = 10000, .coalesce_ms = 50, .timeout_ms = 5000};
    p->opt = def;
    if (opt) {
        if (opt->initial_backoff_ms > 0)
            p->opt.initial_backoff_ms = opt->initial_backoff_ms;
        if (opt->max_backoff_ms > 0)
            p->opt.max_backoff_ms = opt->max_backoff_ms;
        if (opt->coalesce_ms >= 0)
            p->opt.coalesce_ms = opt->coalesce_ms;
        if (opt->timeout_ms > 0)
            p->opt.timeout_ms = opt->timeout_ms;
    }
    if (p->opt.max_backoff_ms < p->opt.initial_backoff_ms)
        p->opt.max_backoff_ms = p->opt.initial_backoff_ms;
    p->build = build;
    p->build_ctx = build_ctx;
    p->rng = ((uint64_t)now_ms() << 20) ^ (uint64_t)(uintptr_t)p ^ 0x9e3779b97f4a7c15ULL;
    bool ok = pthread_mutex_init(&p->mu, NULL) == 0;
    if (!ok) {
        free(p);
        curl_global_cleanup();
        return NULL;
    }
    p->n_brokers = n_brokers;
    ok = (p->brokers = calloc(n_brokers ? n_brokers : 1, sizeof *p->brokers)) != NULL;
    for (size_t i = 0; ok && i < n_brokers; i++)
        ok = copy_broker(&p->brokers[i], &brokers[i]);
    ok = ok && (p->multi = curl_multi_init()) != NULL;
    if (ok) {
        /* Without the wakeup socket pair (descriptor shortage) the thread polls in short slices instead. */
        p->wakeup_works = curl_multi_wakeup(p->multi) == CURLM_OK;
        ok = pthread_create(&p->thread, NULL, pusher_main, p) == 0;
    }
    if (!ok) {
        if (p->multi)
            curl_multi_cleanup(p->multi);
        if (p->brokers)
            free_brokers(p);
        pthread_mutex_destroy(&p->mu);
        free(p);
        curl_global_cleanup();
        return NULL;
    }
    return p;
}

void pusher_stop(pusher *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_mutex_unlock(&p->mu);
    wake(p);
    pthread_join(p->thread, NULL);
    curl_multi_cleanup(p->multi);
    free_brokers(p);
    pthread_mutex_destroy(&p->mu);
    free(p);
    curl_global_cleanup();
}

static const char *pair_state(const push_pair *q)
{
    if (q->last_error)
        return "Failing";
    return q->desired > q->applied || q->in_flight ? "Pending" : "InSync";
}

json_t *pusher_status(pusher *p)
{
    json_t *value = json_array();
    if (!p || !value)
        return value ? json_pack("{s:o}", "value", value) : NULL;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n_brokers; i++) {
        const push_broker *b = &p->brokers[i];
        json_t *nss = json_array();
        for (size_t k = 0; nss && k < b->n_pairs; k++) {
            const push_pair *q = b->pairs[k];
            json_array_append_new(
                nss,
                json_pack("{s:s, s:I, s:I, s:s, s:o?, s:I, s:o?, s:o?}", "namespace", q->ns, "desiredVersion",
                          (json_int_t)q->desired, "appliedVersion", (json_int_t)q->applied, "state",
                          pair_state(q), "lastError", q->last_error ? json_string(q->last_error) : NULL,
                          "attempts", (json_int_t)q->attempts, "lastAttemptAt",
                          q->last_attempt_at[0] ? json_string(q->last_attempt_at) : NULL, "lastSuccessAt",
                          q->last_success_at[0] ? json_string(q->last_success_at) : NULL));
        }
        json_array_append_new(
            value, json_pack("{s:s, s:s, s:o}", "name", b->name, "url", b->url, "namespaces", nss));
    }
    pthread_mutex_unlock(&p->mu);
    return json_pack("{s:o}", "value", value);
}

/* A label value in the Prometheus text format: backslash, quote and newline escaped. */
static void write_label(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", out);
        else if (*s == '"')
            fputs("\\\"", out);
        else if (*s == '\n')
            fputs("\\n", out);
        else
            fputc(*s, out);
    }
}

void pusher_write_metrics(pusher *p, FILE *out)
{
    if (!p || !out)
        return;
    pthread_mutex_lock(&p->mu);
    fputs("# HELP egcontrol_snapshot_pushes_total Snapshot pushes to brokers, by result.\n"
          "# TYPE egcontrol_snapshot_pushes_total counter\n",
          out);
    for (size_t i = 0; i < p->n_brokers; i++) {
        const push_broker *b = &p->brokers[i];
        const char *results[] = {"ok", "error"};
        uint64_t counts[] = {b->pushes_ok, b->pushes_error};
        for (int r = 0; r < 2; r++) {
            fputs("egcontrol_snapshot_pushes_total{broker=\"", out);
            write_label(out, b->name);
            fprintf(out, "\",result=\"%s\"} %" PRIu64 "\n", results[r], counts[r]);
        }
    }
    fputs("# HELP egcontrol_broker_applied_version Newest snapshot version a broker acknowledged, per "
          "namespace.\n"
          "# TYPE egcontrol_broker_applied_version gauge\n",
          out);
    for (size_t i = 0; i < p->n_brokers; i++) {
        const push_broker *b = &p->brokers[i];
        for (size_t k = 0; k < b->n_pairs; k++) {
            fputs("egcontrol_broker_applied_version{broker=\"", out);
            write_label(out, b->name);
            fputs("\",namespace=\"", out);
            write_label(out, b->pairs[k]->ns);
            fprintf(out, "\"} %" PRIu64 "\n", b->pairs[k]->applied);
        }
    }
    pthread_mutex_unlock(&p->mu);
}
