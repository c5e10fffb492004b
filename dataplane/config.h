/* Broker configuration: defaults, `-p PORT`, and the JSON file of `--config`. */
#ifndef EG_CONFIG_H
#define EG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_LISTENERS 16
#define CONFIG_MAX_NAMESPACES 32

enum listener_type { LISTENER_MQTT, LISTENER_MQTTS, LISTENER_WS, LISTENER_WSS };

typedef struct listener_config {
    enum listener_type type;
    char bind[64];
    uint16_t port;
    bool insecure;                   /* plain listener allowed on a non-loopback address */
    char cert[256];                  /* mqtts/wss: PEM server certificate chain */
    char key[256];                   /* mqtts/wss: PEM private key */
    char path[64];                   /* ws/wss: the upgrade path, default /mqtt */
    bool request_client_certificate; /* mqtts/wss: ask for one (default true; not required either way) */
    char namespace_name[64];         /* the namespace its clients join (default: the top-level one) */
} listener_config;

/* Limits are Event Grid's published defaults (SPEC section 6). */
typedef struct broker_limits {
    uint32_t max_packet_size;     /* bytes, both directions; CONNACK Maximum Packet Size */
    uint16_t topic_alias_maximum; /* CONNACK Topic Alias Maximum */
    uint16_t receive_maximum;     /* inbound QoS 1/2 in flight per session */
    uint16_t max_keep_alive;      /* seconds; Server Keep Alive when capped */
    uint32_t max_session_expiry;  /* seconds; v3.1.1 persistent sessions get this */
    uint32_t queue_max_messages;  /* offline queue, then the session ends */
    uint32_t queue_max_bytes;
    uint16_t max_inflight_out;  /* outbound QoS 1/2 in flight per session (capped by the client's Receive
                                   Maximum) */
    uint32_t max_retained_size; /* bytes of payload per retained message */
    uint32_t connect_timeout;   /* seconds to wait for CONNECT */
    uint32_t output_high_water; /* bytes buffered for a subscriber before QoS 0 is dropped */
    uint32_t slow_subscriber_timeout; /* seconds congested before a subscriber is disconnected */
    /* Quotas of a namespace that sets throughputUnits (none otherwise): */
    uint32_t publish_rate_per_session;     /* inbound PUBLISH per second per session */
    uint32_t publish_bytes_per_session;    /* inbound PUBLISH packet bytes per second per session */
    uint32_t publish_rate_sustained;       /* seconds of refusals in a row before DISCONNECT 0x96 */
    uint32_t sessions_per_throughput_unit; /* sessions in the namespace, per throughput unit */
    uint32_t retained_per_throughput_unit; /* retained messages in the namespace, per throughput unit */
} broker_limits;

/* The control-plane link: an HTTP endpoint that accepts snapshots from egcontrol. */
typedef struct admin_config {
    bool enabled;
    char bind[64];   /* default 127.0.0.1; a non-loopback address needs cert and key */
    uint16_t port;   /* default 9090 */
    char token[256]; /* bearer token egcontrol presents (from "token" or "token_file") */
    char cert[256];  /* PEM: HTTPS when both are set */
    char key[256];
} admin_config;

/* Client life-cycle events (lifecycle_events.h). */
typedef struct events_config {
    bool publish;         /* on $events/... topics in the namespace (default true) */
    char audit_file[256]; /* JSON lines appended there; "" = none */
} events_config;

/* Where persistent sessions and retained messages go (session_store_sqlite.h). */
enum persistence_mode { PERSIST_PERIODIC, PERSIST_SYNC, PERSIST_OFF };

/* How closely a namespace follows Event Grid: full MQTT (the default), or Event Grid's
 * limitations reproduced (compat_eventgrid.h). */
enum compatibility_mode { COMPAT_MQTT, COMPAT_EVENTGRID };

/* One entry of "namespace_compatibility": a served namespace's own mode. */
typedef struct namespace_compatibility {
    char name[64];
    enum compatibility_mode mode;
} namespace_compatibility;

typedef struct broker_config {
    listener_config listeners[CONFIG_MAX_LISTENERS];
    int listener_count;
    broker_limits limits;
    char data_dir[256];
    enum persistence_mode persistence; /* default: periodic when the configuration sets data_dir, else off */
    uint32_t persistence_interval_ms;  /* periodic (and sync) group commit interval, default 100 */
    uint32_t workers;                  /* worker threads (worker.h); 0: egbroker's default, one per core */
    char log_level[16];
    char log_format[16]; /* "text" (default) or "json" (log.h) */
    char log_file[256];  /* "" = stderr; reopened on SIGHUP */
    admin_config admin;
    events_config events;
    /* The namespace whose snapshot this broker enforces; "" = open mode (everyone allowed). */
    char namespace_name[64];
    /* TLS clients may name the namespace as SNI "{namespace}.{sni_domain}"; "" = not used. */
    char sni_domain[128];
    /* Every namespace served: the top-level one, the listeners', then "namespaces" (reachable by
     * SNI only), without repeats. None: open mode. */
    char served[CONFIG_MAX_NAMESPACES][64];
    int served_count;
    /* "compatibility": every namespace's mode (and open mode's), unless overridden below. */
    enum compatibility_mode compatibility;
    namespace_compatibility namespace_compat[CONFIG_MAX_NAMESPACES];
    int namespace_compat_count;
} broker_config;

void config_defaults(broker_config *cfg);

/* Loads a JSON config file over the defaults. Unknown keys and bad values are
 * errors: returns 0, or -1 with a message in err. */
int config_load_file(broker_config *cfg, const char *path, char *err, size_t err_len);

/* Computes cfg->served and fills the listeners' default namespace (config_load_file does it;
 * a config built in code calls it). 0, or -1 with a message in err. */
int config_resolve_namespaces(broker_config *cfg, const char *const *extra, int extra_count, char *err,
                              size_t err_len);

const char *listener_type_name(enum listener_type t);

/* The mode of namespace `name` ("" in open mode): its override, else the top-level one. */
enum compatibility_mode config_compatibility_of(const broker_config *cfg, const char *name);

#endif
