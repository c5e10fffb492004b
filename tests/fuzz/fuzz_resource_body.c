/* Fuzz target for controlplane/resource_validate.c and json_merge_patch.
 *
 * Input: the first byte selects the resource kind (low 7 bits, modulo
 * KIND_COUNT) and whether a stored resource is given as `old` (high bit);
 * the rest is the request body, parsed with json_loadb.
 *
 * Oracles:
 *  - a refusal is a 400 with a code, a message, and message and target that
 *    are valid UTF-8 (they are rendered as JSON);
 *  - an accepted body gives {"properties": {...}} that serializes, and that
 *    validates again, as a PUT body, to the same document (idempotence);
 *  - json_merge_patch leaves its inputs untouched, is idempotent (applying
 *    the patch twice is applying it once) and returns a non-object patch as
 *    is; the merged document (a PATCH) obeys the same validation oracles;
 *  - a body that is a string is also tried as a resource name. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_require.h"
#include "mqtt_codec.h"
#include "resource_validate.h"

static const char *const names[KIND_COUNT] = {"demo", "device-1", "sensors", "telemetry", "bind-1", "dev-ca"};

/* Stored documents, as resource_validate returns them. */
static const char *const stored_text[KIND_COUNT] = {
    "{\"properties\": {\"topicSpacesConfiguration\": {\"state\": \"Enabled\", "
    "\"maximumSessionExpiryInHours\": 2,"
    " \"maximumClientSessionsPerAuthenticationName\": 1,"
    " \"clientAuthentication\": {\"alternativeAuthenticationNameSources\": [\"ClientCertificateDns\"]}}},"
    " \"sku\": {\"name\": \"Standard\", \"capacity\": 2}, \"tags\": {\"env\": \"dev\"}}",
    "{\"properties\": {\"authenticationName\": \"auth-1\", \"state\": \"Enabled\","
    " \"clientCertificateAuthentication\": {\"validationScheme\": \"ThumbprintMatch\", "
    "\"allowedThumbprints\":"
    " [\"0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF\"]},"
    " \"attributes\": {\"type\": \"sensor\", \"floor\": 3, \"rooms\": [\"a\"]}, \"description\": \"d\"}}",
    "{\"properties\": {\"query\": \"attributes.type IN ['sensor', 'gateway'] AND attributes.floor <= 3\"}}",
    "{\"properties\": {\"topicTemplates\": [\"devices/${client.authenticationName}/#\", \"alerts/+\"]}}",
    "{\"properties\": {\"clientGroupName\": \"$all\", \"topicSpaceName\": \"telemetry\", \"permission\": "
    "\"Publisher\"}}",
    NULL, /* built from ca_pem */
};

static const char ca_pem[] = "-----BEGIN CERTIFICATE-----\n"
                             "MIIBejCCAR+gAwIBAgIUXvl+EcxPatDo4dVGFkCYBMWeITIwCgYIKoZIzj0EAwIw\n"
                             "EjEQMA4GA1UEAwwHZnV6ei1jYTAeFw0yNjExMjUxNDE0MDdaFw0zNjExMjIxNDE0\n"
                             "MDdaMBIxEDAOBgNVBAMMB2Z1enotY2EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC\n"
                             "AASrpBfyJqZmaMaPZPPiOHTmlMsb0z6G5hJyOnnkAkmtlQxY2ZX+2DMPtMcNuSJ4\n"
                             "6zlT7iPCUKJxZRjt6mvuXL8Co1MwUTAdBgNVHQ4EFgQUfGdAh+kGm9WkrfYL4Mau\n"
                             "tXHo89AwHwYDVR0jBBgwFoAUfGdAh+kGm9WkrfYL4MautXHo89AwDwYDVR0TAQH/\n"
                             "BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEA9BJnjv9ks/CGWVdf2Lh4Eize/y8O\n"
                             "PND0v1G5LalCe3MCIQCxk8sk3yc0k5bcSm++FScjMYcQRst2XsnIRZRBM4bSCQ==\n"
                             "-----END CERTIFICATE-----\n";

static json_t *stored[KIND_COUNT];
static cp_quotas quotas;

static void init(void)
{
    if (stored[0])
        return;
    cp_quotas_default(&quotas);
    quotas.templates_per_space = 4; /* reachable by small inputs */
    for (int k = 0; k < KIND_COUNT; k++) {
        json_t *body;
        if (stored_text[k])
            body = json_loads(stored_text[k], 0, NULL);
        else
            body = json_pack("{s:{s:s}}", "properties", "encodedCertificate", ca_pem);
        FUZZ_REQUIRE(body, "stored document parses");
        api_error err = {0};
        stored[k] = resource_validate((resource_kind)k, names[k], body, NULL, &quotas, &err);
        if (!stored[k])
            fprintf(stderr, "stored %d: %s %s %s\n", k, err.code, err.target, err.message);
        FUZZ_REQUIRE(stored[k], "stored document validates");
        json_decref(body);
    }
}

static bool utf8(const char *s)
{
    return mqtt_utf8_valid((const uint8_t *)s, strlen(s));
}

static void check_refusal(const api_error *err)
{
    FUZZ_REQUIRE(err->status == 400, "a refusal is a 400");
    FUZZ_REQUIRE(err->code[0] != '\0' && err->message[0] != '\0', "a refusal has a code and a message");
    FUZZ_REQUIRE(utf8(err->message) && utf8(err->target) && utf8(err->code), "error texts are valid UTF-8");
}

/* Validates body; on success checks the output and its idempotence. */
static void validate(resource_kind kind, const json_t *body, const json_t *old)
{
    api_error err = {0};
    json_t *out = resource_validate(kind, names[kind], body, old, &quotas, &err);
    if (!out) {
        check_refusal(&err);
        return;
    }
    FUZZ_REQUIRE(err.status == 0, "success leaves no error");
    FUZZ_REQUIRE(json_is_object(json_object_get(out, "properties")), "output has properties");
    char *text = json_dumps(out, JSON_COMPACT);
    FUZZ_REQUIRE(text, "output serializes");
    json_t *reread = json_loads(text, 0, NULL);
    FUZZ_REQUIRE(reread && json_equal(reread, out), "output survives a round trip through text");
    json_decref(reread);
    free(text);
    api_error err2 = {0};
    json_t *again = resource_validate(kind, names[kind], out, old, &quotas, &err2);
    if (!again)
        fprintf(stderr, "revalidation: %s [%s] %s\n", err2.code, err2.target, err2.message);
    FUZZ_REQUIRE(again, "normalized output validates again");
    FUZZ_REQUIRE(json_equal(again, out), "validation is idempotent");
    json_decref(again);
    json_decref(out);
}

static void merge(resource_kind kind, const json_t *body, const json_t *old)
{
    const json_t *target = old ? old : stored[kind];
    json_t *target_copy = json_deep_copy(target), *body_copy = json_deep_copy(body);
    json_t *merged = json_merge_patch(target, body);
    FUZZ_REQUIRE(merged, "merge patch succeeds");
    FUZZ_REQUIRE(json_equal(target, target_copy) && json_equal(body, body_copy),
                 "merge patch leaves its inputs");
    if (!json_is_object(body))
        FUZZ_REQUIRE(json_equal(merged, body), "a non-object patch replaces the target");
    json_t *twice = json_merge_patch(merged, body);
    FUZZ_REQUIRE(twice && json_equal(twice, merged), "merge patch is idempotent");
    json_decref(twice);
    validate(kind, merged, target);
    json_decref(merged);
    json_decref(target_copy);
    json_decref(body_copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    init();
    resource_kind kind = (resource_kind)((data[0] & 0x7F) % KIND_COUNT);
    const json_t *old = (data[0] & 0x80) ? stored[kind] : NULL;
    json_t *body = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!body)
        return 0;
    validate(kind, body, old);
    merge(kind, body, old);
    if (json_is_string(body)) {
        api_error err = {0};
        if (!resource_name_valid(kind, json_string_value(body), &err))
            check_refusal(&err);
    }
    json_decref(body);
    return 0;
}
