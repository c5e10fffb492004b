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
#include <errno.h>
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
#include <unistd.h>

#include "loadgen_cpu.h"
#include "loadgen_mem.h"
#include "loadgen_opts.h"
#include "loadgen_report.h"
#include "loadgen_scenario.h"
#include "loadgen_track.h"
#include "loadgen_worker.h"

#define POLL_NS 2000000        /* main thread's polling period */
#define IDLE_END_NS 1000000000 /* drain: this long without a new delivery ends it */
#define MAX_THREADS 64

typedef struct totals {
    uint64_t connected, failed, subscribed, disconnects, sent, unique;
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
        t->disconnects += s.disconnects;
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

/* Descriptors beyond one per client: stdio, event loops, files. */
#define FD_MARGIN 64
/* Ephemeral ports per source address used at most (with the range of ip_local_port_range). */
#define PORTS_PER_SOURCE_MAX 50000

/* Each client is a descriptor: the soft limit goes up to the hard one. NULL,
 * or why there are not enough (written into why). */
static const char *raise_fd_limit(uint64_t clients, char *why, size_t len)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return NULL; /* unknown: let the sockets tell */
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit up = rl;
        /* An unlimited hard limit still stops at fs.nr_open: ask for what is needed. */
        if (up.rlim_max == RLIM_INFINITY)
            up.rlim_cur = clients + FD_MARGIN > rl.rlim_cur ? clients + FD_MARGIN : rl.rlim_cur;
        else
            up.rlim_cur = up.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl = up;
    }
    if (rl.rlim_cur >= clients + FD_MARGIN)
        return NULL;
    snprintf(why, len,
             "%llu clients need %llu file descriptors but the limit is %llu (hard limit: %s%llu): raise it "
             "(ulimit -Hn, prlimit --nofile, which needs CAP_SYS_RESOURCE)",
             (unsigned long long)clients, (unsigned long long)(clients + FD_MARGIN),
             (unsigned long long)rl.rlim_cur, rl.rlim_max == RLIM_INFINITY ? "unlimited, " : "",
             (unsigned long long)(rl.rlim_max == RLIM_INFINITY ? rl.rlim_cur : rl.rlim_max));
    return why;
}

/* Ports of ip_local_port_range: the connections one source address can have
 * to one destination. */
static uint32_t ephemeral_ports(void)
{
    unsigned lo = 32768, hi = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%u %u", &lo, &hi) != 2 || hi < lo)
            lo = 32768, hi = 60999;
        fclose(f);
    }
    return hi - lo + 1;
}

/* The source addresses 127.0.0.1 .. 127.0.0.K for `clients` connections:
 * --source-addrs, or as many as keep each one at an eighth of the ephemeral
 * port range (one: no bind, the kernel picks as before). connect() searches
 * the range for a port free for that source and destination: the fuller,
 * the longer (on 2 cores, 19,900 clients from one address of a 28,232-port
 * range took 11 s of mqttload's CPU to connect, over 4 addresses 1.4 s).
 * NULL, or why the ports do not suffice. */
static const char *plan_sources(const lg_opts *o, uint64_t clients, struct sockaddr_in *src, uint32_t *count,
                                char *why, size_t len)
{
    uint32_t ports = ephemeral_ports();
    uint64_t usable = ports / 8 < PORTS_PER_SOURCE_MAX ? ports / 8 : PORTS_PER_SOURCE_MAX;
    if (o->source_addrs) /* as asked, up to nine tenths of the range each */
        usable = ports - ports / 10 < PORTS_PER_SOURCE_MAX ? ports - ports / 10 : PORTS_PER_SOURCE_MAX;
    if (usable == 0)
        usable = 1;
    uint64_t k = o->source_addrs ? o->source_addrs : (clients + usable - 1) / usable;
    if (k == 0)
        k = 1;
    if (k > 254 || (clients + k - 1) / k > usable) {
        snprintf(why, len,
                 "%llu clients over %llu source addresses: too many per address for %u ephemeral ports "
                 "(ip_local_port_range; at most %llu per address used)",
                 (unsigned long long)clients, (unsigned long long)k, ports, (unsigned long long)usable);
        return why;
    }
    *count = o->source_addrs || k > 1 ? (uint32_t)k : 0;
    for (uint32_t i = 0; i < *count; i++) {
        memset(&src[i], 0, sizeof src[i]);
        src[i].sin_family = AF_INET;
        src[i].sin_addr.s_addr = htonl(0x7f000001u + i); /* 127.0.0.1 + i, all on lo */
    }
    return NULL;
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
        /* --hold: the clients that did connect are held and measured; the
         * failures are reported after. */
        if (o->hold > 0 && t->connected + t->failed == clients)
            return NULL;
        if (t->failed && o->hold <= 0)
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

/* --hold: the clients stay connected and idle; then the broker's memory is
 * sampled, and with --pause-file the clients wait for that file to be
 * deleted. NULL, or why the hold failed. */
static const char *hold_idle(lg_worker *const *w, uint32_t count, const lg_opts *o, lg_result *r)
{
    totals t;
    cpu_sample c0, c1;
    sample_cpu(o, &c0);
    int64_t start = lg_now_ns(), end = start + (int64_t)(o->hold * 1e9);
    const char *error = NULL;
    while (!error && lg_now_ns() < end) {
        sleep_until(lg_now_ns() + 20 * POLL_NS);
        poll_all(w, count, &t);
        if (t.disconnects)
            error = "connections were lost while held idle";
    }
    sample_cpu(o, &c1);
    r->hold_s = (double)(lg_now_ns() - start) / 1e9;
    lg_result during = {0};
    cpu_use(&c0, &c1, r->hold_s, &during);
    r->hold_broker_cpu_pct = during.broker_cpu_pct;
    r->hold_other_cpu_pct = during.other_cpu_pct;
    if (o->broker_pid)
        lg_mem_read((pid_t)o->broker_pid, &r->broker_held);
    lg_mem_read(getpid(), &r->gen_held);
    if (error || !o->pause_file[0])
        return error;
    FILE *f = fopen(o->pause_file, "w");
    if (!f) {
        fprintf(stderr, "mqttload: cannot create %s: %s\n", o->pause_file, strerror(errno));
        return NULL;
    }
    fclose(f);
    int64_t deadline = lg_now_ns() + (int64_t)LG_PAUSE_MAX_S * 1000000000;
    while (access(o->pause_file, F_OK) == 0) {
        if (lg_now_ns() >= deadline) {
            fprintf(stderr, "mqttload: %s still there after %d s: not waiting any longer\n", o->pause_file,
                    LG_PAUSE_MAX_S);
            unlink(o->pause_file);
            break;
        }
        sleep_until(lg_now_ns() + 10 * POLL_NS);
    }
    poll_all(w, count, &t);
    return t.disconnects ? "connections were lost while held idle" : NULL;
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
    /* Thousands of idle clients: no 16 KiB buffers each while nothing moves. */
    if (o->hold > 0)
        SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
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
    uint64_t clients = o->connect_only ? o->connect_only : (uint64_t)o->publishers + o->subscribers;
    static struct sockaddr_in sources[254];
    char why[400];
    const char *cannot = raise_fd_limit(clients, why, sizeof why);
    if (!cannot)
        cannot = plan_sources(o, clients, sources, &shared.source_count, why, sizeof why);
    if (cannot) { /* a JSON line all the same: the harness records why */
        fprintf(stderr, "mqttload: %s\n", cannot);
        lg_result r = {.error = cannot,
                       .gen_cpu_pct = -1,
                       .broker_cpu_pct = -1,
                       .other_cpu_pct = -1,
                       .steal_pct = -1,
                       .hold_broker_cpu_pct = -1,
                       .hold_other_cpu_pct = -1};
        r.broker_before = r.broker_held = r.gen_held = (lg_mem){-1, -1, -1};
        lg_hist *empty = lg_hist_new();
        r.latency = r.connect_latency = empty;
        lg_report_json(stdout, o, &r);
        lg_hist_free(empty);
        return 1;
    }
    shared.sources = sources;
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
    r.hold_broker_cpu_pct = r.hold_other_cpu_pct = -1;
    r.source_addrs = shared.source_count;
    r.broker_before = r.broker_held = r.gen_held = (lg_mem){-1, -1, -1};
    if (o->broker_pid) /* the broker before any client: its idle memory */
        lg_mem_read((pid_t)o->broker_pid, &r.broker_before);
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

    static char failures_why[96];
    const char *failures = NULL;
    if (!r.error && t.failed) {
        snprintf(failures_why, sizeof failures_why, "%llu of %llu clients could not connect",
                 (unsigned long long)t.failed, (unsigned long long)clients);
        failures = failures_why;
    }
    if (!r.error && o->hold > 0 && t.connected > 0)
        r.error = hold_idle(w, count, o, &r);
    if (!r.error)
        r.error = failures;

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
    return run(&o);
}
