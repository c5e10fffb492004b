/* Broker configuration: defaults (Event Grid's limits), JSON loading, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

/* Writes `json` to a temporary file and loads it over the defaults. */
static int load(const char *json, broker_config *cfg, char *err, size_t err_len)
{
    char path[] = "/tmp/egconfig-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    config_defaults(cfg);
    int rc = config_load_file(cfg, path, err, err_len);
    unlink(path);
    return rc;
}

static void test_defaults_are_event_grid_limits(void **state)
{
    (void)state;
    broker_config cfg;
    config_defaults(&cfg);
    assert_int_equal(cfg.listener_count, 1);
    assert_string_equal(cfg.listeners[0].bind, "127.0.0.1");
    assert_int_equal(cfg.listeners[0].port, 1883);
    assert_int_equal(cfg.limits.max_packet_size, 512 * 1024);
    assert_int_equal(cfg.limits.topic_alias_maximum, 10);
    assert_int_equal(cfg.limits.receive_maximum, 1000);
    assert_int_equal(cfg.limits.max_keep_alive, 1160);
    assert_int_equal(cfg.limits.queue_max_messages, 100);
    assert_int_equal(cfg.limits.queue_max_bytes, 1024 * 1024);
    assert_int_equal(cfg.limits.max_session_expiry, 3600);
    /* The throughput-unit quotas (applied only where a namespace sets throughputUnits). */
    assert_int_equal(cfg.limits.publish_rate_per_session, 1000);
    assert_int_equal(cfg.limits.publish_bytes_per_session, 1024 * 1024);
    assert_int_equal(cfg.limits.sessions_per_throughput_unit, 10000);
    assert_int_equal(cfg.limits.retained_per_throughput_unit, 10000);
}

static void test_full_file(void **state)
{
    (void)state;
    broker_config cfg;
    char err[256] = "";
    int rc = load(
        "{\"listeners\": [{\"type\": \"mqtt\", \"bind\": \"127.0.0.1\", \"port\": 0},"
        "                {\"type\": \"mqtt\", \"bind\": \"0.0.0.0\", \"port\": 1884, \"insecure\": true}],"
        " \"limits\": {\"queue_max_messages\": 5, \"topic_alias_maximum\": 3, \"publish_rate_per_session\": "
        "20,"
        "             \"publish_rate_sustained\": 2, \"retained_per_throughput_unit\": 3},"
        " \"data_dir\": \"/tmp/x\", \"log_level\": \"debug\"}",
        &cfg, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_int_equal(cfg.listener_count, 2);
    assert_int_equal(cfg.listeners[1].port, 1884);
    assert_true(cfg.listeners[1].insecure);
    assert_int_equal(cfg.limits.queue_max_messages, 5);
    assert_int_equal(cfg.limits.topic_alias_maximum, 3);
    assert_int_equal(cfg.limits.publish_rate_per_session, 20);
    assert_int_equal(cfg.limits.publish_rate_sustained, 2);
    assert_int_equal(cfg.limits.retained_per_throughput_unit, 3);
    assert_int_equal(cfg.limits.max_packet_size, 512 * 1024); /* untouched default */
    assert_string_equal(cfg.data_dir, "/tmp/x");
    assert_string_equal(cfg.log_level, "debug");
}

static void test_namespaces_served(void **state)
{
    (void)state;
    broker_config cfg;
    char err[256] = "";
    int rc = load("{\"listeners\": [{\"type\": \"mqtt\", \"port\": 1},"
                  "                {\"type\": \"mqtt\", \"port\": 2, \"namespace\": \"ns2\"},"
                  "                {\"type\": \"mqtt\", \"port\": 3, \"namespace\": \"ns1\"}],"
                  " \"namespace\": \"ns1\", \"namespaces\": [\"ns3\", \"ns2\"]}",
                  &cfg, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_string_equal(cfg.listeners[0].namespace_name, "ns1"); /* the top-level one by default */
    assert_string_equal(cfg.listeners[1].namespace_name, "ns2");
    assert_int_equal(cfg.served_count, 3); /* top-level, listeners', then "namespaces", no repeats */
    assert_string_equal(cfg.served[0], "ns1");
    assert_string_equal(cfg.served[1], "ns2");
    assert_string_equal(cfg.served[2], "ns3");
    /* Open mode: nothing named anywhere. */
    assert_int_equal(load("{\"listeners\": [{\"type\": \"mqtt\", \"port\": 1}]}", &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.served_count, 0);
    assert_string_equal(cfg.listeners[0].namespace_name, "");
}

typedef struct refusal {
    const char *json;
    const char *message_part; /* the error must say what is wrong */
} refusal;

static void test_refusals(void **state)
{
    (void)state;
    static const refusal cases[] = {
        {"{", "'}' expected"},
        {"[]", "must be a JSON object"},
        {"{\"listners\": []}", "unknown key \"listners\""},
        {"{\"limits\": {\"queue_max\": 1}}", "unknown key \"queue_max\""},
        {"{\"limits\": {\"receive_maximum\": 0}}", "\"receive_maximum\" must be an integer from 1"},
        {"{\"limits\": {\"sessions_per_throughput_unit\": 0}}",
         "\"sessions_per_throughput_unit\" must be an integer from 1"},
        {"{\"limits\": {\"publish_bytes_per_session\": -1}}",
         "\"publish_bytes_per_session\" must be an integer"},
        {"{\"limits\": {\"topic_alias_maximum\": \"10\"}}", "\"topic_alias_maximum\" must be an integer"},
        {"{\"listeners\": [{\"type\": \"amqp\", \"port\": 1}]}", "must be one of mqtt, mqtts, ws, wss"},
        {"{\"listeners\": [{\"type\": \"mqtt\"}]}", "needs a \"port\""},
        {"{\"listeners\": [{\"type\": \"mqtt\", \"port\": 70000}]}",
         "\"port\" must be an integer from 0 to 65535"},
        {"{\"listeners\": [{\"type\": \"mqtt\", \"bind\": \"0.0.0.0\", \"port\": 1}]}",
         "needs \"insecure\": true"},
        {"{\"listeners\": []}", "array of 1 to"},
        {"{\"limits\": {\"max_keep_alive\": 1, \"max_keep_alive\": 2}}", "duplicate"},
        {"{\"listeners\": [{\"type\": \"mqtts\", \"port\": 1}]}", "needs \"cert\" and \"key\""},
        {"{\"listeners\": [{\"type\": \"mqtt\", \"port\": 1, \"request_client_certificate\": false}]}",
         "is a boolean for mqtts and wss"},
        {"{\"listeners\": [{\"type\": \"mqtt\", \"port\": 1, \"path\": \"/mqtt\"}]}", "is for ws and wss"},
        {"{\"listeners\": [{\"type\": \"mqtt\", \"port\": 1, \"namespace\": \"\"}]}",
         "listener \"namespace\" must be a string"},
        {"{\"listeners\": [{\"type\": \"mqtt\", \"port\": 1, \"namespace\": \"a\"}, {\"type\": \"mqtt\", "
         "\"port\": 2}]}",
         "every listener needs one"},
        {"{\"namespaces\": [\"b\"]}", "every listener needs one"},
        {"{\"namespace\": \"a\", \"namespaces\": [1]}", "\"namespaces\" entries must be strings"},
        {"{\"persistence\": \"always\"}", "\"persistence\" must be"},
        {"{\"persistence_interval_ms\": 0}", "\"persistence_interval_ms\" must be an integer from 1"},
        {"{\"events\": true}", "\"events\" must be an object"},
        {"{\"events\": {\"audit\": \"x\"}}", "unknown key \"audit\" in events"},
        {"{\"events\": {\"publish\": 1}}", "\"events.publish\" must be true or false"},
        {"{\"events\": {\"audit_file\": 7}}", "\"audit_file\" must be a string"},
        {"{\"log_format\": 1}", "\"log_format\" must be a string"},
        {"{\"log_file\": true}", "\"log_file\" must be a string"},
        {"{\"log_level\": \"0123456789abcdef\"}", "\"log_level\" must be a string of at most 15"},
        {"{\"compatibility\": \"EventGrid\"}", "\"compatibility\" must be \"mqtt\" or \"eventgrid\""},
        {"{\"compatibility\": true}", "\"compatibility\" must be \"mqtt\" or \"eventgrid\""},
        {"{\"namespace\": \"a\", \"namespace_compatibility\": [\"a\"]}", "must be an object"},
        {"{\"namespace\": \"a\", \"namespace_compatibility\": {\"b\": \"eventgrid\"}}",
         "names \"b\", which this broker does not serve"},
        {"{\"namespace_compatibility\": {\"a\": \"eventgrid\"}}",
         "names \"a\", which this broker does not serve"},
        {"{\"namespace\": \"a\", \"namespace_compatibility\": {\"a\": \"strict\"}}",
         "a \"namespace_compatibility\" value must be"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        broker_config cfg;
        char err[256] = "";
        if (load(cases[i].json, &cfg, err, sizeof err) != -1 || !strstr(err, cases[i].message_part))
            fail_msg("config %s: expected a refusal mentioning '%s', got '%s'", cases[i].json,
                     cases[i].message_part, err);
    }
}

static void test_persistence(void **state)
{
    (void)state;
    broker_config cfg;
    char err[256] = "";
    config_defaults(&cfg);
    assert_int_equal(cfg.persistence, PERSIST_OFF); /* no data_dir configured */
    assert_int_equal(cfg.persistence_interval_ms, 100);
    assert_int_equal(load("{\"data_dir\": \"/tmp/x\"}", &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.persistence, PERSIST_PERIODIC);
    assert_int_equal(
        load("{\"persistence\": \"sync\", \"persistence_interval_ms\": 20}", &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.persistence, PERSIST_SYNC);
    assert_int_equal(cfg.persistence_interval_ms, 20);
    assert_int_equal(load("{\"persistence\": \"off\"}", &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.persistence, PERSIST_OFF);
}

static void test_events(void **state)
{
    (void)state;
    broker_config cfg;
    char err[256] = "";
    config_defaults(&cfg);
    assert_true(cfg.events.publish); /* published by default, audited only when asked */
    assert_string_equal(cfg.events.audit_file, "");
    assert_int_equal(
        load("{\"events\": {\"publish\": false, \"audit_file\": \"var/e.jsonl\"}}", &cfg, err, sizeof err),
        0);
    assert_false(cfg.events.publish);
    assert_string_equal(cfg.events.audit_file, "var/e.jsonl");
}

/* "compatibility" for every namespace (and open mode), "namespace_compatibility" per namespace. */
static void test_compatibility(void **state)
{
    (void)state;
    broker_config cfg;
    char err[256] = "";
    config_defaults(&cfg);
    assert_int_equal(config_compatibility_of(&cfg, ""), COMPAT_MQTT);
    assert_int_equal(load("{\"compatibility\": \"eventgrid\"}", &cfg, err, sizeof err), 0);
    assert_int_equal(config_compatibility_of(&cfg, ""), COMPAT_EVENTGRID);
    assert_int_equal(load("{\"namespace\": \"a\", \"namespaces\": [\"b\", \"c\"],"
                          " \"namespace_compatibility\": {\"b\": \"eventgrid\", \"c\": \"mqtt\"}}",
                          &cfg, err, sizeof err),
                     0);
    assert_int_equal(config_compatibility_of(&cfg, "a"), COMPAT_MQTT);
    assert_int_equal(config_compatibility_of(&cfg, "b"), COMPAT_EVENTGRID);
    assert_int_equal(config_compatibility_of(&cfg, "c"), COMPAT_MQTT);
    assert_int_equal(load("{\"namespace\": \"a\", \"namespaces\": [\"b\"], \"compatibility\": \"eventgrid\","
                          " \"namespace_compatibility\": {\"b\": \"mqtt\"}}",
                          &cfg, err, sizeof err),
                     0);
    assert_int_equal(config_compatibility_of(&cfg, "a"), COMPAT_EVENTGRID);
    assert_int_equal(config_compatibility_of(&cfg, "b"), COMPAT_MQTT);
}

/* The log keys are read as given; the values are checked where logging is set up (egbroker's main). */
static void test_log_keys(void **state)
{
    (void)state;
    broker_config cfg;
    char err[256] = "";
    config_defaults(&cfg);
    assert_string_equal(cfg.log_format, "text");
    assert_string_equal(cfg.log_file, "");
    assert_int_equal(load("{\"log_level\": \"warn\", \"log_format\": \"json\", \"log_file\": \"/tmp/b.log\"}",
                          &cfg, err, sizeof err),
                     0);
    assert_string_equal(cfg.log_level, "warn");
    assert_string_equal(cfg.log_format, "json");
    assert_string_equal(cfg.log_file, "/tmp/b.log");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_event_grid_limits),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_namespaces_served),
        cmocka_unit_test(test_persistence),
        cmocka_unit_test(test_log_keys),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_compatibility),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
