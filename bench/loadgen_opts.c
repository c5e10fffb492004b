/* Command line parsing and validation for mqttload. */
#include "loadgen_opts.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen_track.h"

void lg_opts_usage(FILE *out)
{
    fprintf(out,
            "usage: mqttload [options]\n"
            "  --host ADDR            broker address, loopback only (127.0.0.1)\n"
            "  --port PORT            broker port (1883)\n"
            "  --threads N            event loops, connections spread over them (1)\n"
            "  --topology T           fanin | fanout | pairs (fanout)\n"
            "  --publishers N         publishing clients (1)\n"
            "  --subscribers N        subscribing clients (1)\n"
            "  --qos 0|1              QoS of PUBLISH and SUBSCRIBE (0)\n"
            "  --size BYTES           payload size, >= %d (64)\n"
            "  --mqtt 3|5             protocol: 3.1.1 or 5.0 (3)\n"
            "  --window N             QoS 1 PUBLISHes in flight per publisher (16)\n"
            "  --rate MSGS            total PUBLISH/s over all publishers; 0 = as fast as allowed (0)\n"
            "  --warmup SEC           publishing before the measurement starts (2)\n"
            "  --duration SEC         measured publishing time (10)\n"
            "  --drain SEC            at most this long for in-flight messages at the end (5)\n"
            "  --topic-prefix STR     first topic levels (bench)\n"
            "  --username-prefix STR  send a Username: STR + the client's number, 4 digits (none)\n"
            "  --persistent           subscribers keep their session: Clean Start 0 (v5: Session Expiry\n"
            "                         Interval 3600), so the broker queues and stores their messages\n"
            "  --connect-only N       connect N clients, report the time, disconnect\n"
            "  --connect-concurrency N  connections being set up at once (200)\n"
            "  --connect-timeout SEC  for all clients to connect and subscribe (30)\n"
            "  --hold SEC             with --connect-only: keep the clients connected and idle this\n"
            "                         long after the last CONNACK, then sample the broker's memory\n"
            "                         (--broker-pid) and disconnect (0)\n"
            "  --pause-file FILE      with --hold: after it, create FILE and keep the clients until\n"
            "                         FILE is deleted (at most %d s), e.g. to measure the broker's heap\n"
            "  --keep-alive SEC       CONNECT Keep Alive, longer than any hold (600)\n"
            "  --source-addrs K       bind the clients to 127.0.0.1 .. 127.0.0.K in turn (0: enough\n"
            "                         that each uses at most 1/8 of ip_local_port_range)\n"
            "  --name STR             scenario name in the report (TOPOLOGY-qQOS-SIZE, or connect)\n"
            "  --label STR            free text copied into the report\n"
            "  --broker-pid PID       also report the broker's CPU use during the measurement\n"
            "  --tls                  MQTT over TLS; needs --cafile\n"
            "  --cafile FILE          CA certificate(s) the broker's certificate must chain to\n"
            "  --cert FILE --key FILE client certificate and key presented by every client\n"
            "  --servername NAME      SNI, and the name the certificate must carry (default: the\n"
            "                         certificate must carry the --host address)\n"
            "  --tls-version 1.2|1.3  only this TLS version (default: either, as negotiated)\n"
            "  --tls-resume           with --connect-only: connect every client once, keep its TLS\n"
            "                         session, disconnect, and measure the reconnect that resumes it\n"
            "Prints one JSON line: sent, delivered, msg/s, lost, duplicates, latency\n"
            "percentiles (microseconds), connect time.\n",
            LG_STAMP_SIZE, LG_PAUSE_MAX_S);
}

const char *lg_topology_name(enum lg_topology t)
{
    static const char *const names[] = {"fanin", "fanout", "pairs"};
    return t <= LG_PAIRS ? names[t] : "?";
}

static int bad(const char *opt, const char *value, const char *why)
{
    fprintf(stderr, "mqttload: --%s %s: %s\n", opt, value, why);
    return -1;
}

static int parse_uint(const char *opt, const char *s, unsigned long min, unsigned long max, uint32_t *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || *s == '-' || v < min || v > max) {
        char why[64];
        snprintf(why, sizeof why, "expected an integer from %lu to %lu", min, max);
        return bad(opt, s, why);
    }
    *out = (uint32_t)v;
    return 0;
}

static int parse_seconds(const char *opt, const char *s, double min, double max, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || !(v >= min && v <= max)) {
        char why[64];
        snprintf(why, sizeof why, "expected a number from %g to %g", min, max);
        return bad(opt, s, why);
    }
    *out = v;
    return 0;
}

static int copy_text(const char *opt, const char *s, char *dst, size_t cap)
{
    if (strlen(s) >= cap || strpbrk(s, "\"\\+#"))
        return bad(opt, s, "too long, or has a quote, backslash or wildcard");
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

static int copy_path(const char *opt, const char *s, char *dst, size_t cap)
{
    if (*s == '\0' || strlen(s) >= cap)
        return bad(opt, s, "empty or too long");
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

static void defaults(lg_opts *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->host, sizeof o->host, "127.0.0.1");
    o->port = 1883;
    o->threads = 1;
    o->publishers = 1;
    o->subscribers = 1;
    o->version = 4;
    o->size = 64;
    o->warmup = 2;
    o->duration = 10;
    o->window = 16;
    o->topology = LG_FANOUT;
    snprintf(o->topic_prefix, sizeof o->topic_prefix, "bench");
    o->connect_concurrency = 200;
    o->connect_timeout = 30;
    o->drain = 5;
    o->keep_alive = 600;
}

enum {
    OPT_HOST = 256,
    OPT_PORT,
    OPT_THREADS,
    OPT_TOPOLOGY,
    OPT_PUBS,
    OPT_SUBS,
    OPT_QOS,
    OPT_SIZE,
    OPT_MQTT,
    OPT_WINDOW,
    OPT_RATE,
    OPT_WARMUP,
    OPT_DURATION,
    OPT_DRAIN,
    OPT_PREFIX,
    OPT_USERNAME_PREFIX,
    OPT_PERSISTENT,
    OPT_CONNECT_ONLY,
    OPT_CONCURRENCY,
    OPT_CONNECT_TIMEOUT,
    OPT_HOLD,
    OPT_PAUSE_FILE,
    OPT_KEEP_ALIVE,
    OPT_SOURCE_ADDRS,
    OPT_NAME,
    OPT_LABEL,
    OPT_BROKER_PID,
    OPT_TLS,
    OPT_CAFILE,
    OPT_CERT,
    OPT_KEY,
    OPT_SERVERNAME,
    OPT_TLS_VERSION,
    OPT_TLS_RESUME,
    OPT_HELP,
};

static int apply(lg_opts *o, int id, const char *opt, const char *v)
{
    uint32_t n;
    switch (id) {
    case OPT_HOST: {
        struct in_addr a;
        if (inet_pton(AF_INET, v, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127)
            return bad(opt, v, "only an IPv4 loopback address is allowed");
        return copy_text(opt, v, o->host, sizeof o->host);
    }
    case OPT_PORT:
        if (parse_uint(opt, v, 1, 65535, &n))
            return -1;
        o->port = (uint16_t)n;
        return 0;
    case OPT_THREADS: return parse_uint(opt, v, 1, 64, &o->threads);
    case OPT_TOPOLOGY:
        for (int t = LG_FANIN; t <= LG_PAIRS; t++) {
            if (strcmp(v, lg_topology_name((enum lg_topology)t)) == 0) {
                o->topology = (enum lg_topology)t;
                return 0;
            }
        }
        return bad(opt, v, "expected fanin, fanout or pairs");
    case OPT_PUBS: return parse_uint(opt, v, 0, 100000, &o->publishers);
    case OPT_SUBS: return parse_uint(opt, v, 0, 100000, &o->subscribers);
    case OPT_QOS:
        if (parse_uint(opt, v, 0, 1, &n))
            return -1;
        o->qos = (uint8_t)n;
        return 0;
    case OPT_SIZE: return parse_uint(opt, v, LG_STAMP_SIZE, 16u * 1024 * 1024, &o->size);
    case OPT_MQTT:
        if (strcmp(v, "3") != 0 && strcmp(v, "5") != 0)
            return bad(opt, v, "expected 3 (3.1.1) or 5");
        o->version = v[0] == '3' ? 4 : 5;
        return 0;
    case OPT_WINDOW: return parse_uint(opt, v, 1, 60000, &o->window);
    case OPT_RATE: return parse_seconds(opt, v, 0, 1e8, &o->rate);
    case OPT_WARMUP: return parse_seconds(opt, v, 0, 3600, &o->warmup);
    case OPT_DURATION: return parse_seconds(opt, v, 0.1, 3600, &o->duration);
    case OPT_DRAIN: return parse_seconds(opt, v, 0, 600, &o->drain);
    case OPT_PREFIX:
        if (*v == '\0' || *v == '$')
            return bad(opt, v, "must be a non-empty topic not starting with $");
        return copy_text(opt, v, o->topic_prefix, sizeof o->topic_prefix);
    case OPT_USERNAME_PREFIX: return copy_text(opt, v, o->username_prefix, sizeof o->username_prefix);
    case OPT_PERSISTENT: o->persistent = true; return 0;
    case OPT_CONNECT_ONLY: return parse_uint(opt, v, 1, 1000000, &o->connect_only);
    case OPT_CONCURRENCY: return parse_uint(opt, v, 1, 100000, &o->connect_concurrency);
    case OPT_CONNECT_TIMEOUT: return parse_seconds(opt, v, 0.1, 3600, &o->connect_timeout);
    case OPT_HOLD: return parse_seconds(opt, v, 0, 86400, &o->hold);
    case OPT_PAUSE_FILE: return copy_path(opt, v, o->pause_file, sizeof o->pause_file);
    case OPT_KEEP_ALIVE:
        if (parse_uint(opt, v, 0, 65535, &n))
            return -1;
        o->keep_alive = (uint16_t)n;
        return 0;
    case OPT_SOURCE_ADDRS: return parse_uint(opt, v, 0, 254, &o->source_addrs);
    case OPT_NAME: return copy_text(opt, v, o->name, sizeof o->name);
    case OPT_LABEL: return copy_text(opt, v, o->label, sizeof o->label);
    case OPT_BROKER_PID: return parse_uint(opt, v, 1, 4194304, &o->broker_pid);
    case OPT_TLS: o->tls = true; return 0;
    case OPT_TLS_RESUME: o->tls_resume = true; return 0;
    case OPT_CAFILE: return copy_path(opt, v, o->cafile, sizeof o->cafile);
    case OPT_CERT: return copy_path(opt, v, o->certfile, sizeof o->certfile);
    case OPT_KEY: return copy_path(opt, v, o->keyfile, sizeof o->keyfile);
    case OPT_SERVERNAME: return copy_text(opt, v, o->servername, sizeof o->servername);
    case OPT_TLS_VERSION:
        if (strcmp(v, "1.2") != 0 && strcmp(v, "1.3") != 0)
            return bad(opt, v, "expected 1.2 or 1.3");
        o->tls_version = strcmp(v, "1.2") == 0 ? TLS1_2_VERSION : TLS1_3_VERSION;
        return 0;
    default: return -1;
    }
}

/* Combinations that cannot describe a run. */
static int validate(lg_opts *o)
{
    bool tls_detail = o->cafile[0] || o->certfile[0] || o->keyfile[0] || o->servername[0] || o->tls_version ||
                      o->tls_resume;
    if (!o->tls && tls_detail) {
        fprintf(
            stderr,
            "mqttload: --cafile, --cert, --key, --servername, --tls-version and --tls-resume need --tls\n");
        return -1;
    }
    if (o->tls && !o->cafile[0]) {
        fprintf(stderr, "mqttload: --tls needs --cafile (the broker's certificate is always verified)\n");
        return -1;
    }
    if (!o->certfile[0] != !o->keyfile[0]) {
        fprintf(stderr, "mqttload: --cert and --key go together\n");
        return -1;
    }
    if (o->tls_resume && !o->connect_only) {
        fprintf(stderr, "mqttload: --tls-resume is for --connect-only runs\n");
        return -1;
    }
    if ((o->hold > 0 || o->pause_file[0]) && !o->connect_only) {
        fprintf(stderr, "mqttload: --hold and --pause-file are for --connect-only runs\n");
        return -1;
    }
    if (o->pause_file[0] && o->hold <= 0) {
        fprintf(stderr, "mqttload: --pause-file needs --hold\n");
        return -1;
    }
    /* Idle clients send no PINGREQ: the broker must not time them out (it allows 1.5 x Keep Alive). */
    if (o->hold > 0 && o->keep_alive && o->hold + (o->pause_file[0] ? LG_PAUSE_MAX_S : 0) >= o->keep_alive) {
        fprintf(stderr, "mqttload: --keep-alive %u is not longer than --hold%s\n", o->keep_alive,
                o->pause_file[0] ? " plus the longest pause" : "");
        return -1;
    }
    if (o->connect_only)
        return 0;
    if (o->publishers == 0 || o->subscribers == 0) {
        fprintf(stderr, "mqttload: a run needs at least one publisher and one subscriber\n");
        return -1;
    }
    if (o->topology == LG_PAIRS && o->publishers != o->subscribers) {
        fprintf(stderr, "mqttload: pairs needs as many publishers as subscribers\n");
        return -1;
    }
    if (o->name[0] == '\0')
        snprintf(o->name, sizeof o->name, "%s-q%u-%u", lg_topology_name(o->topology), o->qos, o->size);
    return 0;
}

int lg_opts_parse(lg_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"topology", required_argument, NULL, OPT_TOPOLOGY},
        {"publishers", required_argument, NULL, OPT_PUBS},
        {"subscribers", required_argument, NULL, OPT_SUBS},
        {"qos", required_argument, NULL, OPT_QOS},
        {"size", required_argument, NULL, OPT_SIZE},
        {"mqtt", required_argument, NULL, OPT_MQTT},
        {"window", required_argument, NULL, OPT_WINDOW},
        {"rate", required_argument, NULL, OPT_RATE},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"drain", required_argument, NULL, OPT_DRAIN},
        {"topic-prefix", required_argument, NULL, OPT_PREFIX},
        {"username-prefix", required_argument, NULL, OPT_USERNAME_PREFIX},
        {"persistent", no_argument, NULL, OPT_PERSISTENT},
        {"connect-only", required_argument, NULL, OPT_CONNECT_ONLY},
        {"connect-concurrency", required_argument, NULL, OPT_CONCURRENCY},
        {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
        {"hold", required_argument, NULL, OPT_HOLD},
        {"pause-file", required_argument, NULL, OPT_PAUSE_FILE},
        {"keep-alive", required_argument, NULL, OPT_KEEP_ALIVE},
        {"source-addrs", required_argument, NULL, OPT_SOURCE_ADDRS},
        {"name", required_argument, NULL, OPT_NAME},
        {"label", required_argument, NULL, OPT_LABEL},
        {"broker-pid", required_argument, NULL, OPT_BROKER_PID},
        {"tls", no_argument, NULL, OPT_TLS},
        {"cafile", required_argument, NULL, OPT_CAFILE},
        {"cert", required_argument, NULL, OPT_CERT},
        {"key", required_argument, NULL, OPT_KEY},
        {"servername", required_argument, NULL, OPT_SERVERNAME},
        {"tls-version", required_argument, NULL, OPT_TLS_VERSION},
        {"tls-resume", no_argument, NULL, OPT_TLS_RESUME},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    defaults(o);
    int id, index;
    opterr = 0;
    optind = 1;
    while ((id = getopt_long(argc, argv, "h", longopts, &index)) != -1) {
        if (id == 'h' || id == OPT_HELP) {
            lg_opts_usage(stdout);
            return 1;
        }
        if (id == '?' || id == ':') {
            fprintf(stderr, "mqttload: unknown option or missing value: %s\n", argv[optind - 1]);
            lg_opts_usage(stderr);
            return -1;
        }
        if (apply(o, id, longopts[index].name, optarg) != 0)
            return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "mqttload: unexpected argument: %s\n", argv[optind]);
        return -1;
    }
    return validate(o);
}
