/* Command line of mqttload. */
#ifndef LG_OPTS_H
#define LG_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* --pause-file: the longest wait for the file to be deleted. */
#define LG_PAUSE_MAX_S 120

enum lg_topology {
    LG_FANIN,  /* every publisher to its own topic, every subscriber to all of them (`+`) */
    LG_FANOUT, /* every publisher to one topic, every subscriber to it */
    LG_PAIRS,  /* publisher i to topic i, subscriber i to topic i */
};

typedef struct lg_opts {
    char host[64]; /* a loopback address: the benchmark never leaves the machine */
    uint16_t port;
    uint32_t threads;
    uint32_t publishers, subscribers;
    uint8_t qos;             /* 0 or 1 */
    uint8_t version;         /* 4 (3.1.1) or 5 */
    uint32_t size;           /* payload bytes, at least the stamp */
    double warmup, duration; /* seconds */
    double rate;             /* total PUBLISH/s over all publishers; 0: as fast as allowed */
    uint32_t window;         /* QoS 1 PUBLISHes awaiting PUBACK per publisher */
    enum lg_topology topology;
    char topic_prefix[128];
    bool persistent;              /* subscribers connect with Clean Start 0 and a session expiry */
    char username_prefix[64];     /* non-empty: CONNECT Username = prefix + %04u of the client's number */
    uint32_t connect_only;        /* > 0: only connect this many clients and report the time */
    uint32_t connect_concurrency; /* connections being set up at once, over all threads */
    double connect_timeout;       /* seconds for every client to be connected and subscribed */
    /* --connect-only at scale: keep the clients connected and idle this long
     * after the last CONNACK (0: disconnect at once), then sample the broker's
     * memory; with pause_file, create it and keep them until it is deleted. */
    double hold;
    char pause_file[512];
    uint16_t keep_alive;   /* CONNECT Keep Alive, seconds */
    uint32_t source_addrs; /* clients bind to 127.0.0.1 .. 127.0.0.K in turn; 0: as many as the ports need */
    double drain;          /* seconds to wait for messages still in flight at the end */
    char name[64];         /* scenario name in the report; default topology-qQ-SIZE */
    char label[64];        /* free text copied into the report, e.g. the broker's name */
    uint32_t broker_pid;   /* > 0: report this process's CPU use during the window */
    /* TLS (--tls): the broker's certificate is verified against cafile, and
     * its name against servername (also sent as SNI) or else the host address. */
    bool tls;
    bool tls_resume; /* --connect-only: connect, keep the session, reconnect: the reconnect is measured */
    uint16_t tls_version; /* 0: 1.2 or 1.3 as negotiated; else TLS1_2_VERSION or TLS1_3_VERSION only */
    char cafile[512], certfile[512], keyfile[512], servername[256];
} lg_opts;

/* Fills `o` from argv over the defaults. Returns 0, 1 when help was printed
 * (exit successfully), or -1 after printing the error. */
int lg_opts_parse(lg_opts *o, int argc, char **argv);
void lg_opts_usage(FILE *out);

const char *lg_topology_name(enum lg_topology t);

#endif
