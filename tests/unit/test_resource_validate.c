/* resource_validate: kinds, names, the top level of bodies (name, read-only and
 * unknown fields), namespaces, and RFC 7386 merge patch. Clients, the policy
 * resources and CA certificates have their own suites (test_validate_*.c). */
#include "validate_test_util.h"

#define NS KIND_NAMESPACE

static const char *const full_namespace =
    "{'properties': {'topicSpacesConfiguration': {'state': 'Enabled', 'maximumSessionExpiryInHours': 1,"
    " 'maximumClientSessionsPerAuthenticationName': 1,"
    " 'clientAuthentication': {'alternativeAuthenticationNameSources': []}}}}";

static void test_kind_table(void **state)
{
    (void)state;
    assert_string_equal(resource_kind_collection(KIND_NAMESPACE), "namespaces");
    assert_string_equal(resource_kind_collection(KIND_CLIENT), "clients");
    assert_string_equal(resource_kind_collection(KIND_CLIENT_GROUP), "clientGroups");
    assert_string_equal(resource_kind_collection(KIND_TOPIC_SPACE), "topicSpaces");
    assert_string_equal(resource_kind_collection(KIND_PERMISSION_BINDING), "permissionBindings");
    assert_string_equal(resource_kind_collection(KIND_CA_CERTIFICATE), "caCertificates");
    assert_null(resource_kind_collection(KIND_COUNT));
    assert_string_equal(resource_kind_type(KIND_NAMESPACE), "Microsoft.EventGrid/namespaces");
    assert_string_equal(resource_kind_type(KIND_CLIENT), "Microsoft.EventGrid/namespaces/clients");
    assert_string_equal(resource_kind_type(KIND_CA_CERTIFICATE),
                        "Microsoft.EventGrid/namespaces/caCertificates");
    for (int k = KIND_CLIENT; k < KIND_COUNT; k++)
        assert_int_equal(resource_kind_from_collection(resource_kind_collection((resource_kind)k)), k);
    assert_int_equal(resource_kind_from_collection("namespaces"), KIND_COUNT);
    assert_int_equal(resource_kind_from_collection("Clients"), KIND_COUNT);
    assert_int_equal(resource_kind_from_collection(""), KIND_COUNT);
    assert_int_equal(resource_kind_from_collection(NULL), KIND_COUNT);
}

static void name_refused(const char *file, int line, resource_kind kind, const char *name, const char *code,
                         const char *substring)
{
    api_error err = {0};
    if (resource_name_valid(kind, name, &err)) {
        print_error("name '%s' accepted\n", name ? name : "(null)");
        fail_at(file, line);
    }
    check_error_at(file, line, &err, code, "name", substring);
}
#define NAME_REFUSED(kind, name, code, substring)                                                            \
    name_refused(__FILE__, __LINE__, (kind), (name), (code), (substring))

static void test_names(void **state)
{
    (void)state;
    api_error err = {0};
    char *n50 = repeat('a', 50), *n51 = repeat('a', 51), *n128 = repeat('c', 128), *n129 = repeat('c', 129);
    const char *ok_short[] = {"abc", "A-1", "demo-namespace-01", "---", "123", n50};
    for (size_t i = 0; i < sizeof ok_short / sizeof *ok_short; i++)
        for (int k = 0; k < KIND_COUNT; k++)
            assert_true(resource_name_valid((resource_kind)k, ok_short[i], &err));
    const char *ok_client[] = {"d", "device_1", "a:b.c-d", "urn:x.y", n128};
    for (size_t i = 0; i < sizeof ok_client / sizeof *ok_client; i++)
        assert_true(resource_name_valid(KIND_CLIENT, ok_client[i], &err));
    assert_int_equal(err.status, 0);

    NAME_REFUSED(KIND_TOPIC_SPACE, "ab", "InvalidResourceName", "must be 3-50 characters long, not 2");
    NAME_REFUSED(KIND_NAMESPACE, n51, "InvalidResourceName", "must be 3-50 characters long, not 51");
    NAME_REFUSED(KIND_PERMISSION_BINDING, "", "InvalidResourceName", "not 0");
    NAME_REFUSED(KIND_CLIENT_GROUP, "a_b", "InvalidResourceName", "'_' at position 1 is not allowed");
    NAME_REFUSED(KIND_CA_CERTIFICATE, "ab.cd", "InvalidResourceName", "letters, digits and '-'");
    NAME_REFUSED(KIND_NAMESPACE, "has space", "InvalidResourceName", "byte 0x20 at position 3");
    NAME_REFUSED(KIND_CLIENT, "", "InvalidResourceName", "must be 1-128 characters long, not 0");
    NAME_REFUSED(KIND_CLIENT, n129, "InvalidResourceName", "not 129");
    NAME_REFUSED(KIND_CLIENT, "dev/1", "InvalidResourceName", "'/' at position 3");
    NAME_REFUSED(KIND_CLIENT, "d\xc3\xa9vice", "InvalidResourceName", "byte 0xC3 at position 1");
    NAME_REFUSED(KIND_CLIENT, "bad\xff", "InvalidResourceName", "byte 0xFF");
    NAME_REFUSED(KIND_CLIENT, NULL, "InvalidResourceName", "client name is required");
    /* The name is quoted when it is plain text, so the user sees which one. */
    NAME_REFUSED(KIND_TOPIC_SPACE, "x", "InvalidResourceName", "topic space name 'x' must be 3-50");
    /* $all: read-only for client groups, merely invalid for the other kinds. */
    NAME_REFUSED(KIND_CLIENT_GROUP, "$all", "ReadOnlyResource",
                 "the built-in client group $all cannot be changed");
    NAME_REFUSED(KIND_TOPIC_SPACE, "$all", "InvalidResourceName", "'$' at position 0");
    NAME_REFUSED(KIND_CLIENT_GROUP, "$ALL", "InvalidResourceName", "'$'");
    free(n50);
    free(n51);
    free(n128);
    free(n129);
}

static void test_body_must_be_object(void **state)
{
    (void)state;
    const char *bodies[] = {"[]", "'x'", "1", "null", "true"};
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++)
        INVALID(NS, "demo", bodies[i], NULL, "InvalidJson", "", "must be a JSON object");
    api_error err = {0};
    assert_null(resource_validate(NS, "demo", NULL, NULL, NULL, &err));
    assert_string_equal(err.code, "InvalidJson");
    /* The name is checked first, as the handler does with the path. */
    INVALID(NS, "x", "{}", NULL, "InvalidResourceName", "name", "namespace name 'x'");
    /* err may be NULL */
    json_t *body = TJ("{'sku': 3}");
    assert_null(resource_validate(NS, "demo", body, NULL, NULL, NULL));
    json_decref(body);
}

static void test_top_level(void **state)
{
    (void)state;
    /* name equal to the path's, and the read-only members of a GET result, are accepted. */
    EXPECT_JSON(VALID(NS, "demo",
                      "{'name': 'demo', 'id': '/namespaces/demo', 'type': 'Microsoft.EventGrid/namespaces',"
                      " 'systemData': {'createdAt': 'x'}, 'properties': {'provisioningState': 'Succeeded',"
                      " 'topicSpacesConfiguration': {'hostname': 'demo.localhost'}}}",
                      NULL),
                full_namespace);
    /* read-only members of any type */
    EXPECT_JSON(
        VALID(KIND_CLIENT, "d1", "{'id': 5, 'type': [], 'systemData': null}", NULL),
        "{'properties': {'authenticationName': 'd1', 'state': 'Enabled', 'attributes': {},"
        " 'clientCertificateAuthentication': {'validationScheme': 'SubjectMatchesAuthenticationName'}}}");
    INVALID(NS, "demo", "{'name': 'other'}", NULL, "InvalidProperty", "name",
            "name must equal the name in the path, 'demo'");
    INVALID(NS, "demo", "{'name': 'Demo'}", NULL, "InvalidProperty", "name", "'demo'");
    INVALID(NS, "demo", "{'name': 7}", NULL, "InvalidProperty", "name",
            "name must be a string, not an integer");
    INVALID(NS, "demo", "{'nmae': 'demo'}", NULL, "UnknownField", "nmae", "nmae is not a known field");
    INVALID(NS, "demo", "{'properties': {'foo': 1}}", NULL, "UnknownField", "properties.foo",
            "properties.foo");
    INVALID(NS, "demo", "{'properties': {'topicSpacesConfiguration': {'routeTopicResourceId': 'x'}}}", NULL,
            "UnknownField", "properties.topicSpacesConfiguration.routeTopicResourceId", "not a known field");
    INVALID(NS, "demo", "{'properties': {'topicSpacesConfiguration': {'clientAuthentication': {'x': []}}}}",
            NULL, "UnknownField", "properties.topicSpacesConfiguration.clientAuthentication.x",
            "not a known field");
    /* sku, location and tags belong to namespaces only */
    INVALID(KIND_CLIENT, "d1", "{'sku': {}}", NULL, "UnknownField", "sku", "sku is not a known field");
    INVALID(KIND_TOPIC_SPACE, "tsp", "{'location': 'x', 'properties': {'topicTemplates': ['a']}}", NULL,
            "UnknownField", "location", "location");
    INVALID(NS, "demo", "{'properties': []}", NULL, "InvalidProperty", "properties",
            "properties must be an object, not an array");
    INVALID(NS, "demo", "{'properties': 'x'}", NULL, "InvalidProperty", "properties", "not a string");
    /* null is absent */
    EXPECT_JSON(VALID(NS, "demo", "{'properties': null}", NULL), full_namespace);
}

static void test_namespace_defaults_and_values(void **state)
{
    (void)state;
    EXPECT_JSON(VALID(NS, "demo", "{}", NULL), full_namespace);
    EXPECT_JSON(VALID(NS, "demo", "{'properties': {}}", NULL), full_namespace);
    EXPECT_JSON(VALID(NS, "demo", "{'properties': {'topicSpacesConfiguration': {}}}", NULL), full_namespace);
    EXPECT_JSON(VALID(NS, "demo",
                      "{'properties': {'topicSpacesConfiguration': {'state': 'Disabled',"
                      " 'maximumSessionExpiryInHours': 8, 'maximumClientSessionsPerAuthenticationName': 100,"
                      " 'clientAuthentication': {'alternativeAuthenticationNameSources':"
                      " ['ClientCertificateUri', 'ClientCertificateSubject']}}}}",
                      NULL),
                "{'properties': {'topicSpacesConfiguration': {'state': 'Disabled',"
                " 'maximumSessionExpiryInHours': 8, 'maximumClientSessionsPerAuthenticationName': 100,"
                " 'clientAuthentication': {'alternativeAuthenticationNameSources':"
                " ['ClientCertificateUri', 'ClientCertificateSubject']}}}}");
    EXPECT_JSON(
        VALID(
            NS, "demo",
            "{'properties': {'topicSpacesConfiguration': {'state': null, 'maximumSessionExpiryInHours': null,"
            " 'clientAuthentication': {'alternativeAuthenticationNameSources': null}}}}",
            NULL),
        full_namespace);
}

#define TSC "properties.topicSpacesConfiguration"

static void test_namespace_invalid(void **state)
{
    (void)state;
    INVALID(NS, "demo", "{'properties': {'topicSpacesConfiguration': []}}", NULL, "InvalidProperty", TSC,
            TSC " must be an object");
    INVALID(NS, "demo", "{'properties': {'topicSpacesConfiguration': {'state': 'enabled'}}}", NULL,
            "InvalidProperty", TSC ".state", TSC ".state must be one of Enabled, Disabled");
    INVALID(NS, "demo", "{'properties': {'topicSpacesConfiguration': {'state': true}}}", NULL,
            "InvalidProperty", TSC ".state", "must be a string, not a boolean");
    INVALID(NS, "demo", "{'properties': {'topicSpacesConfiguration': {'maximumSessionExpiryInHours': 0}}}",
            NULL, "InvalidProperty", TSC ".maximumSessionExpiryInHours", "must be between 1 and 8, not 0");
    INVALID(NS, "demo", "{'properties': {'topicSpacesConfiguration': {'maximumSessionExpiryInHours': 9}}}",
            NULL, "InvalidProperty", TSC ".maximumSessionExpiryInHours", "not 9");
    INVALID(NS, "demo", "{'properties': {'topicSpacesConfiguration': {'maximumSessionExpiryInHours': 2.0}}}",
            NULL, "InvalidProperty", TSC ".maximumSessionExpiryInHours", "must be an integer, not a number");
    INVALID(NS, "demo", "{'properties': {'topicSpacesConfiguration': {'maximumSessionExpiryInHours': '2'}}}",
            NULL, "InvalidProperty", TSC ".maximumSessionExpiryInHours", "must be an integer, not a string");
    INVALID(
        NS, "demo",
        "{'properties': {'topicSpacesConfiguration': {'maximumClientSessionsPerAuthenticationName': 101}}}",
        NULL, "InvalidProperty", TSC ".maximumClientSessionsPerAuthenticationName",
        "between 1 and 100, not 101");
    INVALID(
        NS, "demo",
        "{'properties': {'topicSpacesConfiguration': {'maximumClientSessionsPerAuthenticationName': -1}}}",
        NULL, "InvalidProperty", TSC ".maximumClientSessionsPerAuthenticationName", "not -1");
    INVALID(NS, "demo", "{'properties': {'topicSpacesConfiguration': {'clientAuthentication': 1}}}", NULL,
            "InvalidProperty", TSC ".clientAuthentication", "must be an object");
    INVALID(NS, "demo",
            "{'properties': {'topicSpacesConfiguration': {'clientAuthentication':"
            " {'alternativeAuthenticationNameSources': 'ClientCertificateDns'}}}}",
            NULL, "InvalidProperty", TSC ".clientAuthentication.alternativeAuthenticationNameSources",
            "must be an array, not a string");
    INVALID(NS, "demo",
            "{'properties': {'topicSpacesConfiguration': {'clientAuthentication':"
            " {'alternativeAuthenticationNameSources': ['ClientCertificateDns', 'ClientCertificateSan']}}}}",
            NULL, "InvalidProperty", TSC ".clientAuthentication.alternativeAuthenticationNameSources[1]",
            "must be one of ClientCertificateSubject, ClientCertificateDns, ClientCertificateUri, "
            "ClientCertificateIp, ClientCertificateEmail");
    INVALID(NS, "demo",
            "{'properties': {'topicSpacesConfiguration': {'clientAuthentication':"
            " {'alternativeAuthenticationNameSources': ['ClientCertificateIp', 'ClientCertificateEmail',"
            " 'ClientCertificateIp']}}}}",
            NULL, "InvalidProperty", TSC ".clientAuthentication.alternativeAuthenticationNameSources[2]",
            "repeats ClientCertificateIp, already at index 0");
    INVALID(NS, "demo",
            "{'properties': {'topicSpacesConfiguration': {'clientAuthentication':"
            " {'alternativeAuthenticationNameSources': [null]}}}}",
            NULL, "InvalidProperty", TSC ".clientAuthentication.alternativeAuthenticationNameSources[0]",
            "must be a string, not null");
}

static void test_namespace_sku_location_tags(void **state)
{
    (void)state;
    json_t *out = VALID(NS, "demo",
                        "{'sku': {'name': 'Standard', 'capacity': 40}, 'location': 'westeurope',"
                        " 'tags': {'env': 'dev', 'owner': ''}}",
                        NULL);
    json_t *expected = TJ(full_namespace);
    json_object_set_new(expected, "sku", json_pack("{s:s, s:i}", "name", "Standard", "capacity", 40));
    json_object_set_new(expected, "location", json_string("westeurope"));
    json_object_set_new(expected, "tags", json_pack("{s:s, s:s}", "env", "dev", "owner", ""));
    assert_true(json_equal(out, expected));
    json_decref(expected);
    json_decref(out);

    /* sku.name defaults to Standard; capacity stays unset (no throughput limit). */
    out = VALID(NS, "demo", "{'sku': {}}", NULL);
    json_t *sku = json_object_get(out, "sku");
    assert_string_equal(json_string_value(json_object_get(sku, "name")), "Standard");
    assert_null(json_object_get(sku, "capacity"));
    json_decref(out);
    out = VALID(NS, "demo", "{'sku': {'capacity': 1}, 'tags': {}}", NULL);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "sku"), "capacity")), 1);
    assert_int_equal(json_object_size(json_object_get(out, "tags")), 0);
    json_decref(out);
    out = VALID(NS, "demo", "{'sku': null, 'tags': null, 'location': null}", NULL);
    assert_int_equal(json_object_size(out), 1);
    json_decref(out);

    INVALID(NS, "demo", "{'sku': 'Standard'}", NULL, "InvalidProperty", "sku", "sku must be an object");
    INVALID(NS, "demo", "{'sku': {'capacity': 0}}", NULL, "InvalidProperty", "sku.capacity",
            "between 1 and 40, not 0");
    INVALID(NS, "demo", "{'sku': {'capacity': 41}}", NULL, "InvalidProperty", "sku.capacity", "not 41");
    INVALID(NS, "demo", "{'sku': {'name': 'Premium'}}", NULL, "InvalidProperty", "sku.name",
            "sku.name must be one of Standard");
    INVALID(NS, "demo", "{'sku': {'tier': 'Standard'}}", NULL, "UnknownField", "sku.tier",
            "not a known field");
    INVALID(NS, "demo", "{'location': ['x']}", NULL, "InvalidProperty", "location",
            "location must be a string");
    INVALID(NS, "demo", "{'tags': []}", NULL, "InvalidProperty", "tags", "tags must be an object");
    INVALID(NS, "demo", "{'tags': {'a': 'b', 'n': 1}}", NULL, "InvalidProperty", "tags.n",
            "tags.n must be a string");
}

/* PATCH is merge-then-validate: the handler merges the body into the stored
 * document, which is what validate sees. */
static void test_patch_flow(void **state)
{
    (void)state;
    json_t *stored = VALID(NS, "demo",
                           "{'properties': {'topicSpacesConfiguration': {'maximumSessionExpiryInHours': 4}},"
                           " 'tags': {'a': 'b'}}",
                           NULL);
    json_t *patch = TJ("{'properties': {'topicSpacesConfiguration': {'state': 'Disabled',"
                       " 'maximumSessionExpiryInHours': null}}, 'tags': {'a': null, 'c': 'd'}}");
    json_t *merged = json_merge_patch(stored, patch);
    json_t *out = valid_json_at(__FILE__, __LINE__, NS, "demo", merged, stored, NULL);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(out, "properties"), "topicSpacesConfiguration"), "state")),
        "Disabled");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(out, "properties"), "topicSpacesConfiguration"),
                         "maximumSessionExpiryInHours")),
                     1); /* removed: back to the default */
    assert_true(json_equal(json_object_get(out, "tags"), json_object_get(merged, "tags")));
    assert_null(json_object_get(json_object_get(out, "tags"), "a"));
    json_decref(out);
    json_decref(merged);
    /* A patch that breaks a rule is refused on the merged document. */
    json_decref(patch);
    patch = TJ("{'properties': {'topicSpacesConfiguration': {'maximumSessionExpiryInHours': 12}}}");
    merged = json_merge_patch(stored, patch);
    invalid_json_at(__FILE__, __LINE__, NS, "demo", merged, stored, NULL, "InvalidProperty",
                    TSC ".maximumSessionExpiryInHours", "not 12");
    json_decref(merged);
    json_decref(patch);
    json_decref(stored);
}

/* RFC 7386 appendix A, every example; and the inputs are left untouched. */
static void test_merge_patch_rfc7386(void **state)
{
    (void)state;
    static const char *const cases[][3] = {
        {"{'a':'b'}", "{'a':'c'}", "{'a':'c'}"},
        {"{'a':'b'}", "{'b':'c'}", "{'a':'b','b':'c'}"},
        {"{'a':'b'}", "{'a':null}", "{}"},
        {"{'a':'b','b':'c'}", "{'a':null}", "{'b':'c'}"},
        {"{'a':['b']}", "{'a':'c'}", "{'a':'c'}"},
        {"{'a':'c'}", "{'a':['b']}", "{'a':['b']}"},
        {"{'a':{'b':'c'}}", "{'a':{'b':'d','c':null}}", "{'a':{'b':'d'}}"},
        {"{'a':[{'b':'c'}]}", "{'a':[1]}", "{'a':[1]}"},
        {"['a','b']", "['c','d']", "['c','d']"},
        {"{'a':'b'}", "['c']", "['c']"},
        {"{'a':'foo'}", "null", "null"},
        {"{'a':'foo'}", "'bar'", "'bar'"},
        {"{'e':null}", "{'a':1}", "{'e':null,'a':1}"},
        {"[1,2]", "{'a':'b','c':null}", "{'a':'b'}"},
        {"{}", "{'a':{'bb':{'ccc':null}}}", "{'a':{'bb':{}}}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *target = TJ(cases[i][0]), *patch = TJ(cases[i][1]);
        json_t *target_copy = json_deep_copy(target), *patch_copy = json_deep_copy(patch);
        json_t *out = json_merge_patch(target, patch);
        assert_non_null(out);
        EXPECT_JSON(out, cases[i][2]);
        assert_true(json_equal(target, target_copy));
        assert_true(json_equal(patch, patch_copy));
        json_decref(target);
        json_decref(patch);
        json_decref(target_copy);
        json_decref(patch_copy);
    }
    /* A NULL target is "not an object"; a NULL patch leaves the target. */
    json_t *patch = TJ("{'a':{'b':null,'c':1}}");
    EXPECT_JSON(json_merge_patch(NULL, patch), "{'a':{'c':1}}");
    EXPECT_JSON(json_merge_patch(patch, NULL), "{'a':{'b':null,'c':1}}");
    assert_null(json_merge_patch(NULL, NULL));
    json_decref(patch);
    /* The result shares nothing with the inputs. */
    json_t *target = TJ("{'x':{'y':[1]}}");
    patch = TJ("{'z':{'w':2}}");
    json_t *out = json_merge_patch(target, patch);
    json_object_set_new(json_object_get(out, "x"), "new", json_true());
    json_object_set_new(json_object_get(out, "z"), "new", json_true());
    EXPECT_JSON(target, "{'x':{'y':[1]}}");
    EXPECT_JSON(patch, "{'z':{'w':2}}");
    json_decref(out);
}

/* Messages quote user text; cut at the buffer's end they must still be UTF-8,
 * wherever the cut falls inside a multi-byte character. */
static void test_long_multibyte_key_error_is_utf8(void **state)
{
    (void)state;
    enum { CHARS = 300 };
    for (size_t shift = 0; shift < 3; shift++) {
        char key[3 * CHARS + 4];
        memset(key, 'x', shift);
        for (size_t i = 0; i < CHARS; i++)
            memcpy(key + shift + 3 * i, "\xe2\x82\xac", 3); /* U+20AC */
        key[shift + 3 * CHARS] = '\0';
        json_t *body = json_pack("{s:{s:i}}", "properties", key, 1);
        assert_non_null(body);
        api_error err = {0};
        assert_null(resource_validate(NS, "demo", body, NULL, NULL, &err));
        check_error_utf8(__FILE__, __LINE__, &err);
        assert_string_equal(err.code, "UnknownField");
        assert_int_equal(strncmp(err.target, "properties.x", 11), 0);
        assert_true(strlen(err.target) > 100);
        assert_true(strlen(err.message) > 300);
        json_decref(body);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_table),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_body_must_be_object),
        cmocka_unit_test(test_top_level),
        cmocka_unit_test(test_namespace_defaults_and_values),
        cmocka_unit_test(test_namespace_invalid),
        cmocka_unit_test(test_namespace_sku_location_tags),
        cmocka_unit_test(test_patch_flow),
        cmocka_unit_test(test_merge_patch_rfc7386),
        cmocka_unit_test(test_long_multibyte_key_error_is_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
