/* shared/snapshot/ns_policy: parsing the snapshot egcontrol pushes (the demo
 * namespace of SPEC.md section 1, in the exact shape controlplane/snapshot.c
 * writes), every validation error with the path it names, deleted
 * namespaces, client lookup ignoring case, identity comparison across
 * snapshots, and the CA store verifying chains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "snapshot/client_perms.h"
#include "snapshot/ns_policy.h"

#define THUMB "B54DC6C18C9B228007BC4E76D33EA962BB2550E8800858AF6C599B02504083E5"
#define T3 "ABCDEF0000000000000000000000000000000000000000000000000000000000"
#define T3_LOWER "abcdef0000000000000000000000000000000000000000000000000000000000"

/* GET /namespaces/demo/snapshot from egcontrol with the demo of SPEC.md
 * section 1 applied, the certificate replaced at setup. */
static const char demo_template[] =
    "{\"schema\":1,\"namespace\":\"demo\",\"version\":12,\"deleted\":false,\"settings\":{\"state\":"
    "\"Enabled\","
    "\"maximumSessionExpiryInHours\":1,\"maximumClientSessionsPerAuthenticationName\":1,"
    "\"alternativeAuthenticationNameSources\":[],\"hostname\":\"demo.localhost\",\"throughputUnits\":null},"
    "\"caCertificates\":[{\"name\":\"dev-ca\",\"encodedCertificate\":\"(set at setup)\"}],"
    "\"clients\":[{\"name\":\"device1\",\"authenticationName\":\"device1\",\"state\":\"Enabled\","
    "\"validationScheme\":\"SubjectMatchesAuthenticationName\",\"allowedThumbprints\":[],"
    "\"attributes\":{\"type\":\"sensor\"}},{\"name\":\"device2\",\"authenticationName\":\"device2\","
    "\"state\":\"Enabled\",\"validationScheme\":\"ThumbprintMatch\",\"allowedThumbprints\":[\"" THUMB "\"],"
    "\"attributes\":{\"type\":\"actuator\"}}],\"clientGroups\":[{\"name\":\"$all\",\"query\":null},"
    "{\"name\":\"sensors\",\"query\":\"attributes.type = 'sensor'\"}],\"topicSpaces\":[{\"name\":\"alerts\","
    "\"topicTemplates\":[\"alerts/#\"]},{\"name\":\"all-telemetry\",\"topicTemplates\":[\"devices/+/"
    "telemetry/"
    "#\"]},{\"name\":\"own-telemetry\",\"topicTemplates\":[\"devices/${client.authenticationName}/telemetry/#"
    "\"]}],\"permissionBindings\":[{\"name\":\"alerts-pub\",\"clientGroupName\":\"$all\",\"topicSpaceName\":"
    "\"alerts\",\"permission\":\"Publisher\"},{\"name\":\"alerts-sub\",\"clientGroupName\":\"$all\","
    "\"topicSpaceName\":\"alerts\",\"permission\":\"Subscriber\"},{\"name\":\"all-telemetry-sub\","
    "\"clientGroupName\":\"$all\",\"topicSpaceName\":\"all-telemetry\",\"permission\":\"Subscriber\"},{"
    "\"name\":"
    "\"sensors-own-telemetry\",\"clientGroupName\":\"sensors\",\"topicSpaceName\":\"own-telemetry\","
    "\"permission\":\"Publisher\"}]}";

static char *ca_pem;    /* a self-signed CA certificate */
static char *ca2_pem;   /* another one */
static char *demo_json; /* demo_template with ca_pem */

static char *make_cert(const char *cn)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_sign(cert, key, EVP_sha256());
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    char *pem = strndup(data, (size_t)len);
    BIO_free(bio);
    X509_free(cert);
    EVP_PKEY_free(key);
    return pem;
}

/* ---- editing documents by path: "clients[1].attributes.floor" */

/* The parent container of the last step of path, and that step. */
static json_t *walk(json_t *doc, const char *path, char *last, size_t *index, bool *is_index)
{
    json_t *cur = doc;
    const char *p = path;
    for (;;) {
        size_t n = strcspn(p, ".[");
        bool idx = false;
        char step[128];
        if (n == 0 && *p == '[') {
            idx = true;
            n = strcspn(p, "]");
            snprintf(step, sizeof step, "%.*s", (int)(n - 1), p + 1);
            n++;
        } else {
            snprintf(step, sizeof step, "%.*s", (int)n, p);
        }
        p += n;
        if (*p == '.')
            p++;
        if (!*p) {
            strcpy(last, step);
            *is_index = idx;
            *index = idx ? strtoul(step, NULL, 10) : 0;
            return cur;
        }
        cur = idx ? json_array_get(cur, strtoul(step, NULL, 10)) : json_object_get(cur, step);
        assert_non_null(cur);
    }
}

/* Sets path to the JSON text value, or deletes it when value is NULL. */
static void edit(json_t *doc, const char *path, const char *value)
{
    char last[128];
    size_t index;
    bool is_index;
    json_t *parent = walk(doc, path, last, &index, &is_index);
    json_t *v = NULL;
    if (value) {
        json_error_t je;
        v = json_loads(value, JSON_DECODE_ANY, &je);
        if (!v)
            fail_msg("bad test value %s: %s", value, je.text);
    }
    if (is_index)
        assert_int_equal(v ? json_array_set_new(parent, index, v) : json_array_remove(parent, index), 0);
    else
        assert_int_equal(v ? json_object_set_new(parent, last, v) : json_object_del(parent, last), 0);
}

static json_t *demo_doc(void)
{
    json_error_t je;
    json_t *doc = json_loads(demo_json, 0, &je);
    assert_non_null(doc);
    return doc;
}

static ns_policy *parse_doc(const json_t *doc, char *err, size_t err_len)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    assert_non_null(text);
    ns_policy *p = ns_policy_parse(text, strlen(text), err, err_len);
    free(text);
    return p;
}

static ns_policy *parse_ok(const json_t *doc)
{
    char err[NS_POLICY_ERR_SIZE];
    ns_policy *p = parse_doc(doc, err, sizeof err);
    if (!p)
        fail_msg("refused: %s", err);
    return p;
}

static int setup(void **state)
{
    (void)state;
    ca_pem = make_cert("dev-ca");
    ca2_pem = make_cert("other-ca");
    json_error_t je;
    json_t *doc = json_loads(demo_template, 0, &je);
    if (!doc || !ca_pem || !ca2_pem)
        return -1;
    json_object_set_new(json_array_get(json_object_get(doc, "caCertificates"), 0), "encodedCertificate",
                        json_string(ca_pem));
    demo_json = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return demo_json ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(ca_pem);
    free(ca2_pem);
    free(demo_json);
    return 0;
}

/* ---- the demo */

static void test_demo_parses(void **state)
{
    (void)state;
    char err[NS_POLICY_ERR_SIZE] = "untouched";
    ns_policy *p = ns_policy_parse(demo_json, strlen(demo_json), err, sizeof err);
    assert_non_null(p);
    assert_string_equal(err, "");
    assert_string_equal(ns_policy_namespace(p), "demo");
    assert_int_equal(ns_policy_version(p), 12);
    assert_false(ns_policy_deleted(p));
    const ns_settings *s = ns_policy_settings(p);
    assert_true(s->enabled);
    assert_int_equal(s->max_session_expiry_hours, 1);
    assert_int_equal(s->max_sessions_per_auth_name, 1);
    assert_int_equal(s->n_alt_sources, 0);
    assert_string_equal(s->hostname, "demo.localhost");
    assert_int_equal(s->throughput_units, 0);
    X509_STORE *store = ns_policy_ca_store(p);
    assert_non_null(store);
    assert_int_equal(sk_X509_OBJECT_num(X509_STORE_get0_objects(store)), 1);

    assert_int_equal(ns_policy_client_count(p), 2);
    const ns_client *d1 = ns_policy_find_client(p, "device1", 7);
    const ns_client *d2 = ns_policy_find_client(p, "device2", 7);
    assert_ptr_equal(d1, ns_policy_client_at(p, 0));
    assert_ptr_equal(d2, ns_policy_client_at(p, 1));
    assert_null(ns_policy_client_at(p, 2));
    assert_string_equal(ns_client_name(d1), "device1");
    assert_string_equal(ns_client_auth_name(d1), "device1");
    assert_true(ns_client_enabled(d1));
    assert_int_equal(ns_client_scheme(d1), NS_SCHEME_SUBJECT);
    assert_int_equal(ns_client_scheme(d2), NS_SCHEME_THUMBPRINT);
    assert_false(ns_client_thumbprint_allowed(d1, THUMB));
    assert_true(ns_client_thumbprint_allowed(d2, THUMB));
    char lower[] = THUMB;
    for (char *c = lower; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'F' ? *c + 32 : *c);
    assert_true(ns_client_thumbprint_allowed(d2, lower));
    lower[63] = '0';
    assert_false(ns_client_thumbprint_allowed(d2, lower));
    assert_false(ns_client_thumbprint_allowed(d2, "B54D"));
    assert_false(ns_client_thumbprint_allowed(d2, THUMB "0"));
    client_view v = ns_client_view(d2);
    assert_string_equal(v.authentication_name, "device2");
    assert_int_equal(v.n_attrs, 1);
    assert_string_equal(v.attrs[0].key, "type");
    assert_int_equal(v.attrs[0].type, CLIENT_ATTR_STRING);
    assert_string_equal(v.attrs[0].str, "actuator");
    ns_policy_free(p);
}

static void test_lookup_ignores_ascii_case(void **state)
{
    (void)state;
    json_t *doc = demo_doc();
    edit(doc, "clients[1].authenticationName", "\"Gate-Way.\\u00c4\"");
    ns_policy *p = parse_ok(doc);
    const ns_client *d1 = ns_policy_find_client(p, "device1", 7);
    assert_non_null(d1);
    assert_ptr_equal(ns_policy_find_client(p, "DEVICE1", 7), d1);
    assert_ptr_equal(ns_policy_find_client(p, "DeViCe1", 7), d1);
    assert_ptr_equal(ns_policy_find_client(p, "device1xyz", 7), d1); /* the length counts */
    assert_null(ns_policy_find_client(p, "device", 6));
    assert_null(ns_policy_find_client(p, "device1 ", 8));
    assert_null(ns_policy_find_client(p, "device3", 7));
    assert_null(ns_policy_find_client(p, "", 0));
    assert_null(ns_policy_find_client(p, NULL, 0));
    /* ASCII only: U+00C4 does not fold to U+00E4. */
    const ns_client *gw = ns_policy_find_client(p, "gate-way.\xc3\x84", 11);
    assert_non_null(gw);
    assert_string_equal(ns_client_auth_name(gw), "Gate-Way.\xc3\x84");
    assert_null(ns_policy_find_client(p, "gate-way.\xc3\xa4", 11));
    ns_policy_free(p);
    json_decref(doc);
}

static void test_defaults_and_settings(void **state)
{
    (void)state;
    json_t *doc = demo_doc();
    edit(doc, "clients[0].authenticationName", "null"); /* the client name, as the REST API defaults */
    edit(doc, "clients[1].attributes", NULL);
    edit(doc, "clients[1].allowedThumbprints[0]", "\"" THUMB "\"");
    edit(doc, "clients[1].state", "\"Disabled\"");
    edit(doc, "clients[0].attributes.floor", "3");
    edit(doc, "clients[0].attributes.big", "-9223372036854775808");
    edit(doc, "clients[0].attributes.tags", "[\"a\", \"b c\", \"\"]");
    edit(doc, "clients[0].attributes.none", "[]");
    edit(doc, "settings.state", "\"Disabled\"");
    edit(doc, "settings.maximumSessionExpiryInHours", "8");
    edit(doc, "settings.maximumClientSessionsPerAuthenticationName", "100");
    edit(doc, "settings.alternativeAuthenticationNameSources",
         "[\"ClientCertificateEmail\", \"ClientCertificateSubject\", \"ClientCertificateIp\", "
         "\"ClientCertificateUri\", \"ClientCertificateDns\"]");
    edit(doc, "settings.throughputUnits", "40");
    edit(doc, "settings.hostname", NULL);
    edit(doc, "futureKey", "{\"anything\": [1]}"); /* unknown keys are ignored */
    edit(doc, "clients[0].futureKey", "true");
    ns_policy *p = parse_ok(doc);
    const ns_settings *s = ns_policy_settings(p);
    assert_false(s->enabled);
    assert_int_equal(s->max_session_expiry_hours, 8);
    assert_int_equal(s->max_sessions_per_auth_name, 100);
    assert_int_equal(s->n_alt_sources, 5);
    static const ns_name_source want[] = {NS_SOURCE_EMAIL, NS_SOURCE_SUBJECT, NS_SOURCE_IP, NS_SOURCE_URI,
                                          NS_SOURCE_DNS};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(s->alt_sources[i], want[i]);
    assert_int_equal(s->throughput_units, 40);
    assert_null(s->hostname);

    const ns_client *d1 = ns_policy_find_client(p, "device1", 7);
    assert_string_equal(ns_client_auth_name(d1), "device1");
    client_view v = ns_client_view(d1);
    assert_int_equal(v.n_attrs, 5);
    const client_attr *floor = client_view_find_attr(&v, "floor", 5);
    assert_int_equal(floor->type, CLIENT_ATTR_INT);
    assert_int_equal(floor->num, 3);
    const client_attr *big = client_view_find_attr(&v, "big", 3);
    assert_true(big->num == INT64_MIN);
    const client_attr *tags = client_view_find_attr(&v, "tags", 4);
    assert_int_equal(tags->type, CLIENT_ATTR_STRING_ARRAY);
    assert_int_equal(tags->n_items, 3);
    assert_string_equal(tags->items[1], "b c");
    assert_string_equal(tags->items[2], "");
    assert_int_equal(client_view_find_attr(&v, "none", 4)->n_items, 0);
    const ns_client *d2 = ns_policy_find_client(p, "device2", 7);
    assert_false(ns_client_enabled(d2));
    assert_int_equal(ns_client_view(d2).n_attrs, 0);
    ns_policy_free(p);
    json_decref(doc);
}

static void test_all_group_implicit(void **state)
{
    (void)state;
    json_t *doc = demo_doc();
    edit(doc, "clientGroups[0]", NULL); /* $all left out: bindings may still name it */
    ns_policy *p = parse_ok(doc);
    client_perms *cp = client_perms_build(p, ns_policy_find_client(p, "device2", 7));
    assert_true(client_perms_can_publish(cp, "alerts/x", 8));
    client_perms_free(cp);
    ns_policy_free(p);
    json_decref(doc);
}

static void test_deleted(void **state)
{
    (void)state;
    const char *text = "{\"schema\": 1, \"namespace\": \"gone\", \"version\": 77, \"deleted\": true}";
    char err[NS_POLICY_ERR_SIZE];
    ns_policy *p = ns_policy_parse(text, strlen(text), err, sizeof err);
    assert_non_null(p);
    assert_true(ns_policy_deleted(p));
    assert_string_equal(ns_policy_namespace(p), "gone");
    assert_int_equal(ns_policy_version(p), 77);
    assert_false(ns_policy_settings(p)->enabled);
    assert_int_equal(ns_policy_client_count(p), 0);
    assert_null(ns_policy_find_client(p, "device1", 7));
    assert_non_null(ns_policy_ca_store(p));
    ns_policy_free(p);

    /* A tombstone's other keys do not count; its header does. */
    json_t *doc = demo_doc();
    edit(doc, "deleted", "true");
    edit(doc, "clients", "\"whatever\"");
    p = parse_ok(doc);
    assert_true(ns_policy_deleted(p));
    ns_policy_free(p);
    edit(doc, "version", "0");
    assert_null(parse_doc(doc, err, sizeof err));
    assert_string_equal(err, "snapshot.version: must be 1-9223372036854775807, not 0");
    json_decref(doc);
}

static void test_identity_across_snapshots(void **state)
{
    (void)state;
    json_t *doc = demo_doc();
    ns_policy *a = parse_ok(doc);
    edit(doc, "version", "13");
    edit(doc, "clients[0].attributes.type", "\"actuator\""); /* attributes are not identity */
    edit(doc, "clients[1].state", "\"Disabled\"");           /* nor is the state: checked on its own */
    ns_policy *b = parse_ok(doc);
    assert_true(ns_client_same_identity(ns_policy_client_at(a, 0), ns_policy_client_at(b, 0)));
    assert_true(ns_client_same_identity(ns_policy_client_at(a, 1), ns_policy_client_at(b, 1)));
    assert_false(ns_client_same_identity(ns_policy_client_at(a, 0), ns_policy_client_at(b, 1)));
    assert_false(ns_client_same_identity(ns_policy_client_at(a, 0), NULL));
    assert_true(ns_client_same_identity(NULL, NULL));
    assert_true(ns_policy_same_cas(a, b));

    const char *t2 = "\"0000000000000000000000000000000000000000000000000000000000000000\"";
    edit(doc, "clients[1].allowedThumbprints[0]", t2);
    edit(doc, "clients[0].validationScheme", "\"DnsMatchesAuthenticationName\"");
    edit(doc, "caCertificates[0].encodedCertificate", NULL);
    json_object_set_new(json_array_get(json_object_get(doc, "caCertificates"), 0), "encodedCertificate",
                        json_string(ca2_pem));
    ns_policy *c = parse_ok(doc);
    assert_false(ns_client_same_identity(ns_policy_client_at(a, 0), ns_policy_client_at(c, 0)));
    assert_false(ns_client_same_identity(ns_policy_client_at(a, 1), ns_policy_client_at(c, 1)));
    assert_false(ns_policy_same_cas(a, c));

    /* Two thumbprints in another order and case are the same set. */
    json_t *d = demo_doc(), *d2 = demo_doc();
    edit(d, "clients[1].allowedThumbprints", "[\"" THUMB "\", \"" T3 "\"]");
    edit(d2, "clients[1].allowedThumbprints", "[\"" T3_LOWER "\", \"" THUMB "\"]");
    ns_policy *pd = parse_ok(d), *pd2 = parse_ok(d2);
    assert_true(ns_client_same_identity(ns_policy_client_at(pd, 1), ns_policy_client_at(pd2, 1)));
    assert_true(ns_client_thumbprint_allowed(ns_policy_client_at(pd2, 1), T3));
    assert_true(ns_client_thumbprint_allowed(ns_policy_client_at(pd2, 1), T3_LOWER));
    edit(d2, "clients[1].allowedThumbprints", "[\"" THUMB "\"]");
    ns_policy *pd3 = parse_ok(d2);
    assert_false(ns_client_same_identity(ns_policy_client_at(pd, 1), ns_policy_client_at(pd3, 1)));
    ns_policy_free(pd);
    ns_policy_free(pd2);
    ns_policy_free(pd3);
    json_decref(d);
    json_decref(d2);
    ns_policy_free(a);
    ns_policy_free(b);
    ns_policy_free(c);
    json_decref(doc);
}

/* ---- validation errors: each one refused with the path it names */

typedef struct bad_case {
    const char *path;   /* edited in the demo document */
    const char *value;  /* JSON text; NULL deletes */
    const char *expect; /* the message starts with this */
} bad_case;

#define PEM_TWICE "(two certificates)"
#define PEM_HEADER "(a certificate with a trailing line)"

static const bad_case bad_cases[] = {
    {"schema", "2", "snapshot.schema: this broker reads snapshot schema 1, not 2"},
    {"schema", NULL, "snapshot.schema: is required"},
    {"schema", "\"1\"", "snapshot.schema: must be an integer, not a string"},
    {"namespace", "\"ab\"", "snapshot.namespace: must be 3-50 characters long, not 2"},
    {"namespace", "\"de mo\"",
     "snapshot.namespace: may hold only letters, digits, '-'; byte 0x20 at position 2"},
    {"namespace", NULL, "snapshot.namespace: is required"},
    {"version", "0", "snapshot.version: must be 1-9223372036854775807, not 0"},
    {"version", "-5", "snapshot.version: must be 1-"},
    {"version", "1.5", "snapshot.version: must be an integer, not a real"},
    {"deleted", "1", "snapshot.deleted: must be a boolean, not an integer"},
    {"settings", NULL, "snapshot.settings: is required"},
    {"settings", "[]", "snapshot.settings: must be an object, not an array"},
    {"settings.state", "\"On\"", "settings.state: must be one of Enabled, Disabled, not 'On'"},
    {"settings.state", NULL, "settings.state: is required"},
    {"settings.maximumSessionExpiryInHours", "9", "settings.maximumSessionExpiryInHours: must be 1-8, not 9"},
    {"settings.maximumSessionExpiryInHours", "0", "settings.maximumSessionExpiryInHours: must be 1-8, not 0"},
    {"settings.maximumClientSessionsPerAuthenticationName", "101",
     "settings.maximumClientSessionsPerAuthenticationName: must be 1-100, not 101"},
    {"settings.maximumClientSessionsPerAuthenticationName", NULL,
     "settings.maximumClientSessionsPerAuthenticationName: is required"},
    {"settings.alternativeAuthenticationNameSources", "[\"ClientCertificateDns\", \"ClientCertificateDns\"]",
     "settings.alternativeAuthenticationNameSources[1]: repeats ClientCertificateDns"},
    {"settings.alternativeAuthenticationNameSources", "[\"Username\"]",
     "settings.alternativeAuthenticationNameSources[0]: must be one of ClientCertificateSubject, "
     "ClientCertificateDns, ClientCertificateUri, ClientCertificateIp, ClientCertificateEmail, not "
     "'Username'"},
    {"settings.alternativeAuthenticationNameSources", "\"ClientCertificateDns\"",
     "settings.alternativeAuthenticationNameSources: must be an array, not a string"},
    {"settings.throughputUnits", "41", "settings.throughputUnits: must be 1-40, not 41"},
    {"settings.hostname", "5", "settings.hostname: must be a string, not an integer"},
    {"caCertificates", NULL, "snapshot.caCertificates: is required"},
    {"caCertificates", "{}", "snapshot.caCertificates: must be an array, not an object"},
    {"caCertificates[0]", "\"pem\"", "caCertificates[0]: must be an object, not a string"},
    {"caCertificates[0].name", "\"x\"", "caCertificates[0].name: must be 3-50 characters long, not 1"},
    {"caCertificates[0].encodedCertificate", NULL, "caCertificates[0].encodedCertificate: is required"},
    {"caCertificates[0].encodedCertificate", "\"hello\"",
     "caCertificates[0].encodedCertificate: must be a PEM certificate beginning with -----BEGIN "
     "CERTIFICATE-----"},
    {"caCertificates[0].encodedCertificate",
     "\"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n\"",
     "caCertificates[0].encodedCertificate: does not hold a valid X.509 certificate"},
    {"caCertificates[0].encodedCertificate", "\"-----BEGIN CERTIFICATE-----\\n%%%\\n\"",
     "caCertificates[0].encodedCertificate: is not valid PEM"},
    {"caCertificates[0].encodedCertificate", PEM_TWICE,
     "caCertificates[0].encodedCertificate: must hold exactly one certificate"},
    {"caCertificates[0].encodedCertificate", PEM_HEADER,
     "caCertificates[0].encodedCertificate: must hold exactly one certificate"},
    {"clients", NULL, "snapshot.clients: is required"},
    {"clients[0]", "[]", "clients[0]: must be an object, not an array"},
    {"clients[0].name", NULL, "clients[0].name: is required"},
    {"clients[0].name", "\"dev/1\"",
     "clients[0].name: may hold only letters, digits, '-', ':', '.' and '_'; byte "
     "0x2F at position 3"},
    {"clients[0].name", "\"\"", "clients[0].name: must be 1-128 characters long, not 0"},
    {"clients[1].name", "\"device1\"", "clients[1].name: repeats the name of clients[0]"},
    {"clients[1].authenticationName", "\"DEVICE1\"",
     "clients[1].authenticationName: repeats the authentication name of clients[0] (device1), ignoring ASCII "
     "case"},
    {"clients[0].authenticationName", "\"device2\"",
     "clients[1].authenticationName: repeats the authentication name of clients[0] (device1)"},
    {"clients[0].authenticationName", "\"\"",
     "clients[0].authenticationName: must be 1-128 bytes long, not 0"},
    {"clients[0].authenticationName", "7", "clients[0].authenticationName: must be a string, not an integer"},
    {"clients[0].state", "\"Off\"", "clients[0].state: must be one of Enabled, Disabled, not 'Off'"},
    {"clients[0].state", NULL, "clients[0].state: is required"},
    {"clients[0].validationScheme", "\"Password\"",
     "clients[0].validationScheme: must be one of SubjectMatchesAuthenticationName, "
     "DnsMatchesAuthenticationName, "
     "UriMatchesAuthenticationName, IpMatchesAuthenticationName, EmailMatchesAuthenticationName, "
     "ThumbprintMatch, not 'Password'"},
    {"clients[0].validationScheme", NULL, "clients[0].validationScheme: is required"},
    {"clients[1].allowedThumbprints[0]", "\"abc\"",
     "clients[1].allowedThumbprints[0]: must be exactly 64 hexadecimal digits, not 3 characters"},
    {"clients[1].allowedThumbprints[0]", "\"G" THUMB "\"",
     "clients[1].allowedThumbprints[0]: must be exactly 64"},
    {"clients[1].allowedThumbprints[0]",
     "\"Z54DC6C18C9B228007BC4E76D33EA962BB2550E8800858AF6C599B02504083E5\"",
     "clients[1].allowedThumbprints[0]: must be exactly 64 hexadecimal digits; byte 0x5A at position 0 is "
     "not "
     "one"},
    {"clients[1].allowedThumbprints[0]", "64",
     "clients[1].allowedThumbprints[0]: must be a string, not an integer"},
    {"clients[1].allowedThumbprints", "[]",
     "clients[1].allowedThumbprints: must hold 1 or 2 SHA-256 thumbprints with validationScheme "
     "ThumbprintMatch, "
     "not 0"},
    {"clients[1].allowedThumbprints", NULL, "clients[1].allowedThumbprints: must hold 1 or 2"},
    {"clients[1].allowedThumbprints", "[\"" THUMB "\", \"" T3 "\", \"" T3_LOWER "\"]",
     "clients[1].allowedThumbprints: must hold 1 or 2 SHA-256 thumbprints with validationScheme "
     "ThumbprintMatch, "
     "not 3"},
    {"clients[1].allowedThumbprints", "[\"" T3 "\", \"" T3_LOWER "\"]",
     "clients[1].allowedThumbprints[1]: repeats the thumbprint at index 0"},
    {"clients[0].allowedThumbprints", "[\"" THUMB "\"]",
     "clients[0].allowedThumbprints: is only allowed with validationScheme ThumbprintMatch"},
    {"clients[0].attributes.floor", "1.5",
     "clients[0].attributes.floor: must be a string, an integer or an array of strings, not a real"},
    {"clients[0].attributes.ok", "true",
     "clients[0].attributes.ok: must be a string, an integer or an array of "
     "strings, not a boolean"},
    {"clients[0].attributes.obj", "{}",
     "clients[0].attributes.obj: must be a string, an integer or an array"},
    {"clients[0].attributes.tags", "[\"a\", 3]",
     "clients[0].attributes.tags[1]: must be a string, not an integer"},
    {"clients[0].attributes.bad-key", "\"x\"",
     "clients[0].attributes: attribute names must be 1-64 letters, digits or '_', not 'bad-key'"},
    {"clients[0].attributes", "[]", "clients[0].attributes: must be an object, not an array"},
    {"clientGroups", NULL, "snapshot.clientGroups: is required"},
    {"clientGroups[0]", "{\"name\": \"sensors\", \"query\": \"attributes.x = 1\"}",
     "clientGroups[1].name: repeats the name of clientGroups[0]"},
    {"clientGroups[1].name", "\"s\"", "clientGroups[1].name: must be 3-50 characters long, not 1"},
    {"clientGroups[1].query", "\"attributes.type = \"", "clientGroups[1].query: does not parse: "},
    {"clientGroups[1].query", "\"attributes.type == 'x'\"", "clientGroups[1].query: does not parse: "},
    {"clientGroups[1].query", NULL, "clientGroups[1].query: is required"},
    {"clientGroups[1].query", "[]", "clientGroups[1].query: must be a string, not an array"},
    {"clientGroups[0].query", "\"attributes.type = 'x'\"",
     "clientGroups[0].query: must be null: the built-in group $all holds every client"},
    {"topicSpaces", "null", "snapshot.topicSpaces: is required"},
    {"topicSpaces[0].topicTemplates", "[]",
     "topicSpaces[0].topicTemplates: must hold at least one topic template"},
    {"topicSpaces[0].topicTemplates", NULL, "topicSpaces[0].topicTemplates: is required"},
    {"topicSpaces[0].topicTemplates[0]", "\"a/#/b\"",
     "topicSpaces[0].topicTemplates[0]: is not a valid topic template: "},
    {"topicSpaces[0].topicTemplates[0]", "\"a/${client.foo}\"",
     "topicSpaces[0].topicTemplates[0]: is not a valid topic template: "},
    {"topicSpaces[0].topicTemplates[0]", "\"$share/g/a\"",
     "topicSpaces[0].topicTemplates[0]: is not a valid topic template: "},
    {"topicSpaces[0].topicTemplates[0]", "5",
     "topicSpaces[0].topicTemplates[0]: must be a string, not an integer"},
    {"topicSpaces[1].name", "\"alerts\"", "topicSpaces[1].name: repeats the name of topicSpaces[0]"},
    {"topicSpaces[1].name", "\"all_telemetry\"",
     "topicSpaces[1].name: may hold only letters, digits, '-'; byte "
     "0x5F at position 3"},
    {"permissionBindings", "{}", "snapshot.permissionBindings: must be an array, not an object"},
    {"permissionBindings[0].clientGroupName", "\"no-group\"",
     "permissionBindings[0].clientGroupName: names no client group of this namespace: 'no-group'"},
    {"permissionBindings[0].clientGroupName", NULL, "permissionBindings[0].clientGroupName: is required"},
    {"permissionBindings[3].topicSpaceName", "\"no-space\"",
     "permissionBindings[3].topicSpaceName: names no topic space of this namespace: 'no-space'"},
    {"permissionBindings[3].topicSpaceName", "\"\\u00e4\"",
     "permissionBindings[3].topicSpaceName: names no topic space of this namespace: a value of 2 bytes"},
    {"permissionBindings[0].permission", "\"Owner\"",
     "permissionBindings[0].permission: must be one of Publisher, Subscriber, not 'Owner'"},
    {"permissionBindings[0].permission", NULL, "permissionBindings[0].permission: is required"},
    {"permissionBindings[1].name", "\"alerts-pub\"",
     "permissionBindings[1].name: repeats the name of "
     "permissionBindings[0]"},
};

static void test_validation_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        json_t *doc = demo_doc();
        if (c->value && strcmp(c->value, PEM_TWICE) == 0) {
            char *two = malloc(strlen(ca_pem) + strlen(ca2_pem) + 1);
            strcpy(two, ca_pem);
            strcat(two, ca2_pem);
            json_object_set_new(json_array_get(json_object_get(doc, "caCertificates"), 0),
                                "encodedCertificate", json_string(two));
            free(two);
        } else if (c->value && strcmp(c->value, PEM_HEADER) == 0) {
            char *more = malloc(strlen(ca_pem) + 8);
            strcpy(more, ca_pem);
            strcat(more, "junk\n");
            json_object_set_new(json_array_get(json_object_get(doc, "caCertificates"), 0),
                                "encodedCertificate", json_string(more));
            free(more);
        } else {
            edit(doc, c->path, c->value);
        }
        char err[NS_POLICY_ERR_SIZE] = "";
        ns_policy *p = parse_doc(doc, err, sizeof err);
        if (p || strncmp(err, c->expect, strlen(c->expect)) != 0) {
            print_error("case %zu (%s = %s)\n  expected: %s...\n  got:      %s\n", i, c->path,
                        c->value ? c->value : "(deleted)", c->expect, p ? "(accepted)" : err);
            ns_policy_free(p);
            json_decref(doc);
            fail();
        }
        json_decref(doc);
    }
}

static void test_not_json(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *expect;
    } cases[] = {
        {"", "snapshot: invalid JSON at line 1, column 0: "},
        {"{", "snapshot: invalid JSON at line 1, column 1: "},
        {"{\"schema\": 1} x", "snapshot: invalid JSON at line 1, column 15: "},
        {"{\"schema\": 1, \"schema\": 1}",
         "snapshot: invalid JSON at line 1, column 22: duplicate object key"},
        {"[]", "snapshot: must be a JSON object, not an array"},
        {"{\"schema\":1,\"namespace\":\"abc\",\"version\":1,\"a\":\"\\u0000\"}", "snapshot: invalid JSON"},
        {"{\"schema\":1,\"namespace\":\"abc\",\"version\":99999999999999999999}", "snapshot: invalid JSON"},
        {"{\"schema\":1,\"namespace\":\"abc\",\"version\":1,\"deleted\":true,\"x\":\"\xff\"}",
         "snapshot: invalid JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[NS_POLICY_ERR_SIZE] = "";
        ns_policy *p = ns_policy_parse(cases[i].text, strlen(cases[i].text), err, sizeof err);
        if (p || strncmp(err, cases[i].expect, strlen(cases[i].expect)) != 0)
            fail_msg("case %zu: expected %s..., got %s", i, cases[i].expect, p ? "(accepted)" : err);
    }
    char err[NS_POLICY_ERR_SIZE];
    assert_null(ns_policy_parse(NULL, 0, err, sizeof err));
    assert_string_equal(err, "snapshot: no document");
    /* The error buffer is optional, and a short one is cut, not overrun. */
    assert_null(ns_policy_parse("[]", 2, NULL, 0));
    char small[12];
    assert_null(ns_policy_parse("[]", 2, small, sizeof small));
    assert_string_equal(small, "snapshot: m");
    /* Not NUL-terminated: only len bytes count. */
    char *copy = strdup(demo_json);
    size_t len = strlen(copy);
    ns_policy *p = ns_policy_parse(copy, len, err, sizeof err);
    assert_non_null(p);
    ns_policy_free(p);
    assert_null(ns_policy_parse(copy, len - 1, err, sizeof err));
    free(copy);
}

/* ---- the CA store */

/* A certificate for `cn` signed by issuer (self-signed when NULL); *key_out
 * receives its key. */
static X509 *make_signed(const char *cn, X509 *issuer, EVP_PKEY *issuer_key, bool ca, EVP_PKEY **key_out)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), (long)(strlen(cn) + 1));
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
                               -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(issuer ? issuer : cert));
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    if (ca) {
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, "critical,CA:TRUE");
        X509_add_ext(cert, ext, -1);
        X509_EXTENSION_free(ext);
    }
    X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256());
    *key_out = key;
    return cert;
}

static char *pem_of(X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    char *pem = strndup(data, (size_t)len);
    BIO_free(bio);
    return pem;
}

static bool verifies(const ns_policy *p, X509 *leaf, X509 *intermediate)
{
    STACK_OF(X509) *chain = sk_X509_new_null();
    if (intermediate)
        sk_X509_push(chain, intermediate);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    assert_int_equal(X509_STORE_CTX_init(ctx, ns_policy_ca_store(p), leaf, chain), 1);
    bool ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    sk_X509_free(chain);
    return ok;
}

/* A chain to any of the namespace's CA certificates verifies, an uploaded
 * intermediate included; the same certificate twice is one anchor. */
static void test_ca_store(void **state)
{
    (void)state;
    EVP_PKEY *root_key, *mid_key, *leaf_key, *leaf2_key, *other_key;
    X509 *root = make_signed("root-ca", NULL, NULL, true, &root_key);
    X509 *mid = make_signed("intermediate-ca", root, root_key, true, &mid_key);
    X509 *leaf = make_signed("device1", mid, mid_key, false, &leaf_key);
    X509 *leaf2 = make_signed("device2", root, root_key, false, &leaf2_key);
    X509 *other = make_signed("other-ca", NULL, NULL, true, &other_key);
    char *root_pem = pem_of(root), *mid_pem = pem_of(mid), *other_pem = pem_of(other);
    json_t *doc = demo_doc();
    json_t *cas = json_pack("[{s:s, s:s}, {s:s, s:s}]", "name", "root-ca", "encodedCertificate", root_pem,
                            "name", "same-root", "encodedCertificate", root_pem);
    json_object_set_new(doc, "caCertificates", cas);
    ns_policy *with_root = parse_ok(doc);
    assert_int_equal(sk_X509_OBJECT_num(X509_STORE_get0_objects(ns_policy_ca_store(with_root))), 1);
    assert_true(verifies(with_root, leaf2, NULL));
    assert_true(verifies(with_root, leaf, mid));
    assert_false(verifies(with_root, leaf, NULL)); /* the intermediate is missing */

    json_object_set_new(doc, "caCertificates",
                        json_pack("[{s:s, s:s}]", "name", "intermediate", "encodedCertificate", mid_pem));
    ns_policy *with_mid = parse_ok(doc);
    assert_true(verifies(with_mid, leaf, NULL)); /* an uploaded intermediate is an anchor */
    assert_false(verifies(with_mid, leaf2, NULL));
    assert_false(ns_policy_same_cas(with_root, with_mid));

    json_object_set_new(doc, "caCertificates",
                        json_pack("[{s:s, s:s}]", "name", "other-ca", "encodedCertificate", other_pem));
    ns_policy *with_other = parse_ok(doc);
    assert_false(verifies(with_other, leaf, mid));
    assert_false(verifies(with_other, leaf2, NULL));
    json_object_set_new(doc, "caCertificates", json_array());
    ns_policy *none = parse_ok(doc);
    assert_false(verifies(none, leaf2, NULL));
    assert_int_equal(sk_X509_OBJECT_num(X509_STORE_get0_objects(ns_policy_ca_store(none))), 0);

    ns_policy_free(with_root);
    ns_policy_free(with_mid);
    ns_policy_free(with_other);
    ns_policy_free(none);
    json_decref(doc);
    free(root_pem);
    free(mid_pem);
    free(other_pem);
    X509 *certs[] = {root, mid, leaf, leaf2, other};
    EVP_PKEY *keys[] = {root_key, mid_key, leaf_key, leaf2_key, other_key};
    for (size_t i = 0; i < 5; i++) {
        X509_free(certs[i]);
        EVP_PKEY_free(keys[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_parses),
        cmocka_unit_test(test_lookup_ignores_ascii_case),
        cmocka_unit_test(test_defaults_and_settings),
        cmocka_unit_test(test_all_group_implicit),
        cmocka_unit_test(test_deleted),
        cmocka_unit_test(test_identity_across_snapshots),
        cmocka_unit_test(test_validation_errors),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_ca_store),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
