/* mqttload: MQTT load generator for the benchmarks of bench/run.sh.
 *
 *   mqttload --port 1883 --topology fanin --publishers 50 --subscribers 1 --qos 1 --size 64
 *
 * Connects every client (subscribers subscribe), publishes for warm-up +
 * duration seconds, as fast as allowed (QoS 1: a window of PUBLISHes awaiting
 * PUBACK per publisher; QoS 0: as fast as TCP takes them) or at --rate, waits
 * for the messages still in flight, disconnects, and prints one JSON line
 * (see loadgen_report.h). Every phase is bounded in time. Exit status 0 when
 * the run completed, 1 when it could not (the JSON line then has "error").
 *
 * --tls: every client speaks MQTT over TLS (OpenSSL on the same non-blocking
 * sockets), verifying the broker's certificate against --cafile. */
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>

#include "loadgen_cpu.h"
#include "loadgen_opts.h"
#include "loadgen_report.h"
#include "loadgen_scenario.h"
#include "loadgen_track.h"
#include "loadgen_worker.h"

#define POLL_NS 2000000        /* main thread's polling period */
#define IDLE_END_NS 1000000000 /* drain: this long without a new delivery ends it */
#define MAX_THREADS 64

typedef struct totals {
    uint64_t connected, failed, subscribed, sent, unique;
    int64_t last_connected_ns;
    int64_t measure_start_ns; /* the earliest of the workers' */
    bool all_measuring;       /* every worker has started its measured connections */
    bool publishing_done;
} totals;

static void sleep_until(int64_t t)
{
    struct timespec ts = {t / 1000000000, t % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
        ;
}

static void poll_all(lg_worker *const *w, uint32_t count, totals *t)
{
    memset(t, 0, sizeof *t);
    t->publishing_done = true;
    t->all_measuring = true;
    for (uint32_t i = 0; i < count; i++) {
        lg_snapshot s;
        lg_worker_poll(w[i], &s);
        t->connected += s.connected;
        t->failed += s.failed;
        t->subscribed += s.subscribed;
        t->sent += s.sent;
        t->unique += s.unique;
        if (s.last_connected_ns > t->last_connected_ns)
            t->last_connected_ns = s.last_connected_ns;
        if (s.measure_start_ns && (!t->measure_start_ns || s.measure_start_ns < t->measure_start_ns))
            t->measure_start_ns = s.measure_start_ns;
        t->all_measuring &= s.measure_start_ns != 0;
        t->publishing_done &= s.publishing_done;
    }
}

/* CPU counters at one instant; negative where unknown. */
typedef struct cpu_sample {
    double self, broker;
    lg_cpu_machine machine;
} cpu_sample;

static void sample_cpu(const lg_opts *o, cpu_sample *s)
{
    s->self = lg_cpu_self();
    s->broker = o->broker_pid ? lg_cpu_process((pid_t)o->broker_pid) : -1;
    if (lg_cpu_machine_read(&s->machine) != 0)
        s->machine.busy = s->machine.steal = -1;
}

/* Who used the CPUs between a and b (percent of one core). */
static void cpu_use(const cpu_sample *a, const cpu_sample *b, double seconds, lg_result *r)
{
    double pct = 100 / seconds;
    double self = b->self - a->self;
    double broker = a->broker >= 0 && b->broker >= 0 ? b->broker - a->broker : -1;
    r->gen_cpu_pct = self * pct;
    r->broker_cpu_pct = broker >= 0 ? broker * pct : -1;
    r->other_cpu_pct = r->steal_pct = -1;
    if (a->machine.busy >= 0 && b->machine.busy >= 0) {
        double other = (b->machine.busy - a->machine.busy) - self - (broker >= 0 ? broker : 0);
        r->other_cpu_pct = other > 0 ? other * pct : 0;
        r->steal_pct = (b->machine.steal - a->machine.steal) * pct;
    }
}

/* Each client is a descriptor: take the hard limit if the soft one is short. */
static void raise_fd_limit(uint64_t clients)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= clients + 64)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > clients + 64 ? clients + 64 : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < clients + 64)
        fprintf(stderr, "mqttload: only %llu file descriptors for %llu clients\n",
                (unsigned long long)rl.rlim_cur, (unsigned long long)clients);
}

/* Waits until every client is connected and every subscriber subscribed.
 * NULL on success, else why not. */
static const char *await_connected(lg_worker *const *w, uint32_t count, const lg_opts *o, int64_t deadline,
                                   totals *t)
{
    uint64_t clients = o->connect_only ? o->connect_only : (uint64_t)o->publishers + o->subscribers;
    uint64_t subscribers = o->connect_only ? 0 : o->subscribers;
    for (;;) {
        poll_all(w, count, t);
        if (t->failed)
            return "some clients could not connect or subscribe";
        if (t->connected == clients && t->subscribed == subscribers)
            return NULL;
        if (lg_now_ns() >= deadline)
            return "timed out connecting and subscribing";
        sleep_until(lg_now_ns() + POLL_NS);
    }
}

/* --tls-resume: until every worker has its sessions and reconnects (or failed). */
static void await_measuring(lg_worker *const *w, uint32_t count, int64_t deadline, totals *t)
{
    for (;;) {
        poll_all(w, count, t);
        if (t->all_measuring || t->failed || lg_now_ns() >= deadline)
            return;
        sleep_until(lg_now_ns() + POLL_NS / 4);
    }
}

/* After publishing stops: until every owed delivery arrived, nothing arrived
 * for a second, or --drain is over. */
static void drain(lg_worker *const *w, uint32_t count, const lg_opts *o, totals *t)
{
    int64_t deadline = lg_now_ns() + (int64_t)(o->drain * 1e9);
    uint64_t last_unique = 0;
    int64_t last_change = lg_now_ns();
    for (;;) {
        poll_all(w, count, t);
        int64_t now = lg_now_ns();
        uint64_t expected = t->sent * lg_receivers_per_publisher(o);
        if (t->publishing_done && t->unique >= expected)
            return;
        if (t->unique != last_unique) {
            last_unique = t->unique;
            last_change = now;
        }
        if (now >= deadline || (t->publishing_done && now - last_change >= IDLE_END_NS))
            return;
        sleep_until(now + POLL_NS);
    }
}

static void stop_all(lg_run *run, lg_worker *const *w, uint32_t count)
{
    atomic_store_explicit(&run->phase, LG_PHASE_CLOSE, memory_order_release);
    for (uint32_t i = 0; i < count; i++)
        lg_worker_join(w[i]);
}

/* Sums the workers' counts and histograms into r (histograms owned by the caller). */
static void collect(lg_worker *const *w, uint32_t count, lg_result *r, lg_hist *latency, lg_hist *connect)
{
    lg_counts *n = &r->n;
    memset(n, 0, sizeof *n);
    for (uint32_t i = 0; i < count; i++) {
        const lg_counts *c = lg_worker_counts(w[i]);
        n->clients += c->clients;
        n->connected += c->connected;
        n->failed += c->failed;
        n->subscribed += c->subscribed;
        n->disconnects += c->disconnects;
        n->sent_total += c->sent_total;
        n->sent_window += c->sent_window;
        n->received_total += c->received_total;
        n->unique_total += c->unique_total;
        n->delivered_window += c->delivered_window;
        n->duplicates += c->duplicates;
        n->foreign += c->foreign;
        n->unexpected_acks += c->unexpected_acks;
        n->tls_resumed += c->tls_resumed;
        const char *version, *cipher;
        lg_worker_tls_info(w[i], &version, &cipher);
        if (version && !r->tls_version) {
            r->tls_version = version;
            r->tls_cipher = cipher;
        }
        lg_hist_merge(latency, lg_worker_latency(w[i]));
        lg_hist_merge(connect, lg_worker_connect_latency(w[i]));
    }
    r->latency = latency;
    r->connect_latency = connect;
}

static int tls_error(const char *what, const char *file)
{
    char text[200];
    ERR_error_string_n(ERR_get_error(), text, sizeof text);
    fprintf(stderr, "mqttload: %s%s%s: %s\n", what, file ? " " : "", file ? file : "", text);
    return -1;
}

/* The client context every connection shares: TLS 1.2 or 1.3 (or only the
 * one asked for), the broker's certificate verified against the CA file and
 * checked for the server name (or the address connected to), the client
 * certificate if given, and read-ahead so that one read() brings many records. */
static SSL_CTX *tls_context(const lg_opts *o)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        tls_error("cannot create a TLS context", NULL);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, o->tls_version ? o->tls_version : TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, o->tls_version ? o->tls_version : TLS1_3_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
    int rc = 0;
    if (SSL_CTX_load_verify_locations(ctx, o->cafile, NULL) != 1)
        rc = tls_error("cannot load the CA certificates of", o->cafile);
    else if (o->servername[0] ? X509_VERIFY_PARAM_set1_host(param, o->servername, 0) != 1
                              : X509_VERIFY_PARAM_set1_ip_asc(param, o->host) != 1)
        rc = tls_error("cannot set the name to verify", NULL);
    else if (o->certfile[0] && SSL_CTX_use_certificate_chain_file(ctx, o->certfile) != 1)
        rc = tls_error("cannot load the client certificate", o->certfile);
    else if (o->keyfile[0] && (SSL_CTX_use_PrivateKey_file(ctx, o->keyfile, SSL_FILETYPE_PEM) != 1 ||
                               SSL_CTX_check_private_key(ctx) != 1))
        rc = tls_error("cannot load the client key (or it does not match the certificate)", o->keyfile);
    if (rc != 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static int run(const lg_opts *o)
{
    lg_run shared = {.opts = o, .id = lg_new_run_id()};
    if (o->tls && !(shared.tls_ctx = tls_context(o)))
        return 2;
    shared.addr.sin_family = AF_INET;
    shared.addr.sin_port = htons(o->port);
    inet_pton(AF_INET, o->host, &shared.addr.sin_addr);
    atomic_init(&shared.phase, LG_PHASE_CONNECT);
    atomic_init(&shared.t0_ns, 0);

    lg_worker *w[MAX_THREADS] = {0};
    uint32_t count = 0;
    lg_result r = {0};
    r.gen_cpu_pct = r.broker_cpu_pct = r.other_cpu_pct = r.steal_pct = -1;
    lg_hist *latency = lg_hist_new(), *connect = lg_hist_new();
    if (!latency || !connect) {
        fprintf(stderr, "mqttload: out of memory\n");
        return 1;
    }
    int64_t start = lg_now_ns();
    for (; count < o->threads; count++) {
        if (!(w[count] = lg_worker_new(&shared, count)) || lg_worker_start(w[count]) != 0) {
            r.error = "cannot start a worker thread";
            if (w[count])
                count++; /* created but not started: still freed below */
            break;
        }
    }
    totals t = {0};
    int64_t deadline = start + (int64_t)(o->connect_timeout * 1e9);
    /* --connect-only: the CPU used while connecting (--tls-resume: while reconnecting). */
    cpu_sample conn0, conn1;
    int64_t conn_t0 = 0;
    if (!r.error && o->connect_only) {
        if (o->tls_resume)
            await_measuring(w, count, deadline, &t);
        sample_cpu(o, &conn0);
        conn_t0 = lg_now_ns();
    }
    if (!r.error)
        r.error = await_connected(w, count, o, deadline, &t);
    if (conn_t0 && !r.error) {
        sample_cpu(o, &conn1);
        r.window_s = (double)(lg_now_ns() - conn_t0) / 1e9;
        cpu_use(&conn0, &conn1, r.window_s, &r);
    }
    if (o->tls_resume && t.measure_start_ns) /* the first connections only fetched the sessions */
        start = t.measure_start_ns;
    r.connect_s = t.last_connected_ns > start ? (double)(t.last_connected_ns - start) / 1e9 : 0;

    if (!r.error && !o->connect_only) {
        int64_t t0 = lg_now_ns();
        int64_t t_warm = t0 + (int64_t)(o->warmup * 1e9), t_end = t_warm + (int64_t)(o->duration * 1e9);
        atomic_store_explicit(&shared.t0_ns, t0, memory_order_relaxed);
        atomic_store_explicit(&shared.phase, LG_PHASE_RUN, memory_order_release);
        cpu_sample c0, c1;
        sleep_until(t_warm);
        sample_cpu(o, &c0);
        sleep_until(t_end);
        sample_cpu(o, &c1);
        r.window_s = o->duration;
        cpu_use(&c0, &c1, o->duration, &r);
        drain(w, count, o, &t);
    }
    stop_all(&shared, w, count);
    collect(w, count, &r, latency, connect);
    if (!r.error && r.n.disconnects)
        r.error = "connections were lost during the run";
    r.expected = r.n.sent_total * (o->connect_only ? 0 : lg_receivers_per_publisher(o));
    lg_report_json(stdout, o, &r);
    for (uint32_t i = 0; i < count; i++)
        lg_worker_free(w[i]);
    SSL_CTX_free(shared.tls_ctx);
    lg_hist_free(latency);
    lg_hist_free(connect);
    return r.error ? 1 : 0;
}

int main(int argc, char **argv)
{
    lg_opts o;
    int rc = lg_opts_parse(&o, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (o.threads > MAX_THREADS)
        o.threads = MAX_THREADS;
    /* A broker closing a connection must not kill the generator mid-write. */
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit(o.connect_only ? o.connect_only : (uint64_t)o.publishers + o.subscribers);
    return run(&o);
}
