/* resource_validate for clients: authenticationName, certificate
 * authentication and thumbprints, state, attributes, description. */
#include "validate_test_util.h"

#define CL KIND_CLIENT
#define CCA "properties.clientCertificateAuthentication"
#define TP CCA ".allowedThumbprints"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX64_UPPER "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
#define HEX64_B "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"

static void test_defaults(void **state)
{
    (void)state;
    static const char *const expected =
        "{'properties': {'authenticationName': 'device-1', 'state': 'Enabled', 'attributes': {},"
        " 'clientCertificateAuthentication': {'validationScheme': 'SubjectMatchesAuthenticationName'}}}";
    EXPECT_JSON(VALID(CL, "device-1", "{}", NULL), expected);
    EXPECT_JSON(VALID(CL, "device-1", "{'properties': {}}", NULL), expected);
    EXPECT_JSON(
        VALID(CL, "device-1",
              "{'properties': {'authenticationName': null, 'state': null, 'attributes': null,"
              " 'clientCertificateAuthentication': null, 'description': null, 'provisioningState': 'x'}}",
              NULL),
        expected);
    EXPECT_JSON(VALID(CL, "device-1", "{'properties': {'clientCertificateAuthentication': {}}}", NULL),
                expected);
}

static void test_full_client(void **state)
{
    (void)state;
    EXPECT_JSON(
        VALID(CL, "d1",
              "{'name': 'd1', 'properties': {'authenticationName': 'd1.example.com', 'state': 'Disabled',"
              " 'description': 'the first one', 'clientCertificateAuthentication': {'validationScheme':"
              " 'ThumbprintMatch', 'allowedThumbprints': ['" HEX64 "', '" HEX64_B "']},"
              " 'attributes': {'type': 'sensor', 'floor': 3, 'rooms': ['a', 'b'], 'none': [], 'neg': -7}}}",
              NULL),
        "{'properties': {'authenticationName': 'd1.example.com', 'state': 'Disabled',"
        " 'description': 'the first one', 'clientCertificateAuthentication': {'validationScheme':"
        " 'ThumbprintMatch', 'allowedThumbprints': ['" HEX64_UPPER "', '" HEX64_B "']},"
        " 'attributes': {'type': 'sensor', 'floor': 3, 'rooms': ['a', 'b'], 'none': [], 'neg': -7}}}");
    static const char *const schemes[] = {"SubjectMatchesAuthenticationName", "DnsMatchesAuthenticationName",
                                          "UriMatchesAuthenticationName", "IpMatchesAuthenticationName",
                                          "EmailMatchesAuthenticationName"};
    for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++) {
        char body[200];
        snprintf(body, sizeof body,
                 "{'properties': {'clientCertificateAuthentication': {'validationScheme': '%s'}}}",
                 schemes[i]);
        json_t *out = VALID(CL, "d1", body, NULL);
        json_t *cca = json_object_get(json_object_get(out, "properties"), "clientCertificateAuthentication");
        assert_string_equal(json_string_value(json_object_get(cca, "validationScheme")), schemes[i]);
        assert_null(json_object_get(cca, "allowedThumbprints"));
        json_decref(out);
    }
}

static void test_authentication_name(void **state)
{
    (void)state;
    char *a128 = repeat('a', 128), *a129 = repeat('a', 129);
    char body[400];
    snprintf(body, sizeof body, "{'properties': {'authenticationName': '%s'}}", a128);
    json_decref(VALID(CL, "d1", body, NULL));
    snprintf(body, sizeof body, "{'properties': {'authenticationName': '%s'}}", a129);
    INVALID(CL, "d1", body, NULL, "InvalidProperty", "properties.authenticationName",
            "properties.authenticationName must be 1-128 bytes long, not 129");
    INVALID(CL, "d1", "{'properties': {'authenticationName': ''}}", NULL, "InvalidProperty",
            "properties.authenticationName", "not 0");
    INVALID(CL, "d1", "{'properties': {'authenticationName': 5}}", NULL, "InvalidProperty",
            "properties.authenticationName",
            "properties.authenticationName must be a string, not an integer");
    /* Any UTF-8 is fine, counted in bytes: 43 x U+20AC is 129 bytes. */
    json_decref(
        VALID(CL, "d1", "{'properties': {'authenticationName': 'caf\\u00e9 / \\ud83d\\ude00 + #'}}", NULL));
    json_t *body_json = json_object();
    json_t *props = json_object();
    json_object_set_new(body_json, "properties", props);
    char euros[3 * 43 + 1];
    for (int i = 0; i < 43; i++)
        memcpy(euros + 3 * i, "\xe2\x82\xac", 3);
    euros[3 * 43] = '\0';
    json_object_set_new(props, "authenticationName", json_string(euros));
    invalid_json_at(__FILE__, __LINE__, CL, "d1", body_json, NULL, NULL, "InvalidProperty",
                    "properties.authenticationName", "not 129");
    /* An embedded NUL (a body parsed with JSON_ALLOW_NUL) is refused. */
    json_object_set_new(props, "authenticationName", json_stringn("a\0b", 3));
    invalid_json_at(__FILE__, __LINE__, CL, "d1", body_json, NULL, NULL, "InvalidProperty",
                    "properties.authenticationName", "must not contain NUL characters");
    json_decref(body_json);
    free(a128);
    free(a129);
}

static void test_authentication_name_cannot_change(void **state)
{
    (void)state;
    json_t *old = VALID(CL, "d1", "{'properties': {'authenticationName': 'Dev-One'}}", NULL);
    /* same name, or none (the stored one is kept), is fine */
    json_t *out =
        VALID(CL, "d1", "{'properties': {'authenticationName': 'Dev-One', 'state': 'Disabled'}}", old);
    json_decref(out);
    out = VALID(CL, "d1", "{'properties': {'state': 'Disabled'}}", old);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(out, "properties"), "authenticationName")),
        "Dev-One");
    json_decref(out);
    out = VALID(CL, "d1", "{}", old);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(out, "properties"), "authenticationName")),
        "Dev-One");
    json_decref(out);
    INVALID(CL, "d1", "{'properties': {'authenticationName': 'dev-one'}}", old, "InvalidProperty",
            "properties.authenticationName", "authenticationName cannot be changed");
    INVALID(CL, "d1", "{'properties': {'authenticationName': 'd1'}}", old, "InvalidProperty",
            "properties.authenticationName", "authenticationName cannot be changed");
    /* A PATCH that sets it to null keeps it. */
    json_t *patch = TJ("{'properties': {'authenticationName': null, 'description': 'x'}}");
    json_t *merged = json_merge_patch(old, patch);
    out = valid_json_at(__FILE__, __LINE__, CL, "d1", merged, old, NULL);
    EXPECT_JSON(out, "{'properties': {'authenticationName': 'Dev-One', 'state': 'Enabled', 'attributes': {},"
                     " 'description': 'x', 'clientCertificateAuthentication':"
                     " {'validationScheme': 'SubjectMatchesAuthenticationName'}}}");
    json_decref(merged);
    json_decref(patch);
    json_decref(old);
}

static void test_thumbprints(void **state)
{
    (void)state;
    INVALID(CL, "d1",
            "{'properties': {'clientCertificateAuthentication': {'validationScheme': 'ThumbprintMatch'}}}",
            NULL, "InvalidProperty", TP, TP " is required with validationScheme ThumbprintMatch");
    INVALID(CL, "d1",
            "{'properties': {'clientCertificateAuthentication': {'validationScheme': 'ThumbprintMatch',"
            " 'allowedThumbprints': []}}}",
            NULL, "InvalidProperty", TP, "is required with validationScheme ThumbprintMatch");
    INVALID(CL, "d1",
            "{'properties': {'clientCertificateAuthentication': {'validationScheme': 'ThumbprintMatch',"
            " 'allowedThumbprints': ['" HEX64 "', '" HEX64_B "', '" HEX64 "']}}}",
            NULL, "InvalidProperty", TP, "may hold at most 2 thumbprints, not 3");
    INVALID(CL, "d1",
            "{'properties': {'clientCertificateAuthentication': {'validationScheme': 'ThumbprintMatch',"
            " 'allowedThumbprints': '" HEX64 "'}}}",
            NULL, "InvalidProperty", TP, "must be an array, not a string");
    INVALID(CL, "d1",
            "{'properties': {'clientCertificateAuthentication': {'validationScheme': 'ThumbprintMatch',"
            " 'allowedThumbprints': ['" HEX64 "', 'xyz']}}}",
            NULL, "InvalidThumbprint", TP "[1]",
            TP "[1] must be a SHA-256 thumbprint: exactly 64 hexadecimal digits");
    INVALID(CL, "d1",
            "{'properties': {'clientCertificateAuthentication': {'validationScheme': 'ThumbprintMatch',"
            " 'allowedThumbprints': ['" HEX64 "0']}}}",
            NULL, "InvalidThumbprint", TP "[0]", "64 hexadecimal digits");
    INVALID(CL, "d1",
            "{'properties': {'clientCertificateAuthentication': {'validationScheme': 'ThumbprintMatch',"
            " 'allowedThumbprints': ['0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg']}}}",
            NULL, "InvalidThumbprint", TP "[0]", "64 hexadecimal digits");
    INVALID(CL, "d1",
            "{'properties': {'clientCertificateAuthentication': {'validationScheme': 'ThumbprintMatch',"
            " 'allowedThumbprints': [7]}}}",
            NULL, "InvalidProperty", TP "[0]", "must be a string, not an integer");
    /* duplicates, also when they differ only in case */
    INVALID(CL, "d1",
            "{'properties': {'clientCertificateAuthentication': {'validationScheme': 'ThumbprintMatch',"
            " 'allowedThumbprints': ['" HEX64 "', '" HEX64_UPPER "']}}}",
            NULL, "InvalidProperty", TP "[1]", "repeats the thumbprint at index 0");
    /* refused with any other scheme (the default included); an empty list says nothing */
    INVALID(CL, "d1",
            "{'properties': {'clientCertificateAuthentication': {'allowedThumbprints': ['" HEX64 "']}}}",
            NULL, "InvalidProperty", TP, "only allowed with validationScheme ThumbprintMatch");
    INVALID(CL, "d1",
            "{'properties': {'clientCertificateAuthentication': {'validationScheme': "
            "'DnsMatchesAuthenticationName',"
            " 'allowedThumbprints': ['" HEX64 "']}}}",
            NULL, "InvalidProperty", TP, "only allowed with validationScheme ThumbprintMatch");
    json_t *out = VALID(
        CL, "d1", "{'properties': {'clientCertificateAuthentication': {'allowedThumbprints': []}}}", NULL);
    assert_null(json_object_get(
        json_object_get(json_object_get(out, "properties"), "clientCertificateAuthentication"),
        "allowedThumbprints"));
    json_decref(out);
    /* one thumbprint is enough */
    json_decref(
        VALID(CL, "d1",
              "{'properties': {'clientCertificateAuthentication': {'validationScheme': 'ThumbprintMatch',"
              " 'allowedThumbprints': ['" HEX64_B "']}}}",
              NULL));
}

static void test_scheme_and_state(void **state)
{
    (void)state;
    INVALID(
        CL, "d1", "{'properties': {'clientCertificateAuthentication': {'validationScheme': 'Thumbprint'}}}",
        NULL, "InvalidProperty", CCA ".validationScheme",
        CCA
        ".validationScheme must be one of SubjectMatchesAuthenticationName, DnsMatchesAuthenticationName, "
        "UriMatchesAuthenticationName, IpMatchesAuthenticationName, EmailMatchesAuthenticationName, "
        "ThumbprintMatch");
    INVALID(CL, "d1", "{'properties': {'clientCertificateAuthentication': {'validationScheme': 1}}}", NULL,
            "InvalidProperty", CCA ".validationScheme", "must be a string");
    INVALID(CL, "d1", "{'properties': {'clientCertificateAuthentication': 'ThumbprintMatch'}}", NULL,
            "InvalidProperty", CCA, CCA " must be an object, not a string");
    INVALID(CL, "d1", "{'properties': {'clientCertificateAuthentication': {'bar': 1}}}", NULL, "UnknownField",
            CCA ".bar", CCA ".bar is not a known field");
    INVALID(CL, "d1", "{'properties': {'state': 'On'}}", NULL, "InvalidProperty", "properties.state",
            "properties.state must be one of Enabled, Disabled");
    INVALID(CL, "d1", "{'properties': {'state': false}}", NULL, "InvalidProperty", "properties.state",
            "properties.state must be a string");
    INVALID(CL, "d1", "{'properties': {'State': 'Enabled'}}", NULL, "UnknownField", "properties.State",
            "not a known field");
    INVALID(CL, "d1", "{'properties': {'topicSpacesConfiguration': {}}}", NULL, "UnknownField",
            "properties.topicSpacesConfiguration", "not a known field");
}

static void test_attributes(void **state)
{
    (void)state;
    json_decref(VALID(CL, "d1", "{'properties': {'attributes': {}}}", NULL));
    json_decref(VALID(
        CL, "d1", "{'properties': {'attributes': {'A_1': '', 'b': 0, 'C': [''], 'x9': 9007199254740993}}}",
        NULL));
    INVALID(CL, "d1", "{'properties': {'attributes': []}}", NULL, "InvalidProperty", "properties.attributes",
            "properties.attributes must be an object, not an array");
    INVALID(CL, "d1", "{'properties': {'attributes': {'floor': 3.5}}}", NULL, "InvalidProperty",
            "properties.attributes.floor", "must be a string, an integer or an array of strings");
    INVALID(CL, "d1", "{'properties': {'attributes': {'floor': 3.0}}}", NULL, "InvalidProperty",
            "properties.attributes.floor", "an integer");
    INVALID(CL, "d1", "{'properties': {'attributes': {'on': true}}}", NULL, "InvalidProperty",
            "properties.attributes.on", "must be a string, an integer or an array of strings");
    INVALID(CL, "d1", "{'properties': {'attributes': {'o': null}}}", NULL, "InvalidProperty",
            "properties.attributes.o", "must be a string, an integer or an array of strings");
    INVALID(CL, "d1", "{'properties': {'attributes': {'o': {'p': 1}}}}", NULL, "InvalidProperty",
            "properties.attributes.o", "array of strings");
    INVALID(CL, "d1", "{'properties': {'attributes': {'list': ['a', 1]}}}", NULL, "InvalidProperty",
            "properties.attributes.list[1]",
            "properties.attributes.list[1] must be a string, not an integer");
    INVALID(CL, "d1", "{'properties': {'attributes': {'list': [['a']]}}}", NULL, "InvalidProperty",
            "properties.attributes.list[0]", "must be a string, not an array");
    INVALID(CL, "d1", "{'properties': {'attributes': {'a-b': 1}}}", NULL, "InvalidProperty",
            "properties.attributes.a-b", "attribute names must be 1-64 letters, digits or '_'");
    INVALID(CL, "d1", "{'properties': {'attributes': {'': 1}}}", NULL, "InvalidProperty",
            "properties.attributes.", "attribute names must be 1-64");
    INVALID(CL, "d1", "{'properties': {'attributes': {'a.b': 1}}}", NULL, "InvalidProperty",
            "properties.attributes.a.b", "properties.attributes.a.b is not a valid attribute name");
    INVALID(CL, "d1", "{'properties': {'attributes': {'caf\\u00e9': 1}}}", NULL, "InvalidProperty",
            "properties.attributes.caf\xc3\xa9", "not a valid attribute name");
    char *k64 = repeat('k', 64), *k65 = repeat('k', 65);
    char body[300];
    snprintf(body, sizeof body, "{'properties': {'attributes': {'%s': 1}}}", k64);
    json_decref(VALID(CL, "d1", body, NULL));
    snprintf(body, sizeof body, "{'properties': {'attributes': {'%s': 1}}}", k65);
    char target[120];
    snprintf(target, sizeof target, "properties.attributes.%s", k65);
    INVALID(CL, "d1", body, NULL, "InvalidProperty", target, "1-64");
    free(k64);
    free(k65);
}

/* At most 4 KiB as compact JSON: {"v":"..."} is 8 bytes plus the string. */
static void test_attributes_size(void **state)
{
    (void)state;
    for (size_t len = 4086; len <= 4090; len++) {
        char *v = repeat('x', len);
        json_t *body = json_pack("{s:{s:{s:s}}}", "properties", "attributes", "v", v);
        if (len + 8 <= 4096) {
            json_decref(valid_json_at(__FILE__, __LINE__, CL, "d1", body, NULL, NULL));
        } else {
            char msg[100];
            snprintf(msg, sizeof msg,
                     "properties.attributes must be at most 4096 bytes as compact JSON, not %zu", len + 8);
            invalid_json_at(__FILE__, __LINE__, CL, "d1", body, NULL, NULL, "InvalidProperty",
                            "properties.attributes", msg);
        }
        json_decref(body);
        free(v);
    }
    /* Spread over many keys and array elements too. */
    json_t *attrs = json_object();
    char key[16];
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof key, "k%d", i);
        json_object_set_new(attrs, key, json_pack("[s]", "abc"));
    }
    json_t *body = json_pack("{s:{s:o}}", "properties", "attributes", attrs);
    invalid_json_at(__FILE__, __LINE__, CL, "d1", body, NULL, NULL, "InvalidProperty",
                    "properties.attributes", "at most 4096 bytes");
    json_decref(body);
}

static void test_description(void **state)
{
    (void)state;
    char *d256 = repeat('d', 256), *d257 = repeat('d', 257);
    json_t *body = json_pack("{s:{s:s}}", "properties", "description", d256);
    json_t *out = valid_json_at(__FILE__, __LINE__, CL, "d1", body, NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "properties"), "description")),
                        d256);
    json_decref(out);
    json_decref(body);
    body = json_pack("{s:{s:s}}", "properties", "description", d257);
    invalid_json_at(__FILE__, __LINE__, CL, "d1", body, NULL, NULL, "InvalidProperty",
                    "properties.description",
                    "properties.description must be at most 256 characters long, not 257");
    json_decref(body);
    /* characters, not bytes: 256 x U+00E9 is 512 bytes */
    char e256[2 * 256 + 1];
    for (int i = 0; i < 256; i++)
        memcpy(e256 + 2 * i, "\xc3\xa9", 2);
    e256[512] = '\0';
    body = json_pack("{s:{s:s}}", "properties", "description", e256);
    json_decref(valid_json_at(__FILE__, __LINE__, CL, "d1", body, NULL, NULL));
    json_decref(body);
    INVALID(CL, "d1", "{'properties': {'description': ['x']}}", NULL, "InvalidProperty",
            "properties.description", "properties.description must be a string, not an array");
    free(d256);
    free(d257);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full_client),
        cmocka_unit_test(test_authentication_name),
        cmocka_unit_test(test_authentication_name_cannot_change),
        cmocka_unit_test(test_thumbprints),
        cmocka_unit_test(test_scheme_and_state),
        cmocka_unit_test(test_attributes),
        cmocka_unit_test(test_attributes_size),
        cmocka_unit_test(test_description),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
