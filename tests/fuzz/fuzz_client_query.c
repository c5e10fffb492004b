/* Fuzz target for shared/policy/client_query.c. The input, up to its first
 * NUL byte, is a query. Besides memory safety it checks that a refusal
 * names an offset inside the text, and that a query that parses can be
 * evaluated against a few fixed clients and negated: "NOT (q)" parses unless
 * that breaks the length or nesting limit, and gives the opposite answer. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_require.h"
#include "policy/client_query.h"

static const char *const items[] = {"x", "42", "", "sensor"};
static const client_attr attrs[] = {
    {.key = "a", .type = CLIENT_ATTR_STRING, .str = "x"},
    {.key = "b", .type = CLIENT_ATTR_INT, .num = 3},
    {.key = "c", .type = CLIENT_ATTR_STRING_ARRAY, .items = items, .n_items = 4},
    {.key = "n", .type = CLIENT_ATTR_STRING, .str = "-12"},
    {.key = "type", .type = CLIENT_ATTR_STRING, .str = "sensor"},
    {.key = "floor", .type = CLIENT_ATTR_INT, .num = -9223372036854775807LL - 1},
    {.key = "e", .type = CLIENT_ATTR_STRING_ARRAY, .items = NULL, .n_items = 0},
};
static const client_view views[] = {
    {"client1", attrs, sizeof attrs / sizeof attrs[0]},
    {"x", attrs + 3, 2},
    {"", NULL, 0},
    {NULL, NULL, 0},
};
#define N_VIEWS (sizeof views / sizeof views[0])

static void check_refusal(const policy_error *err, size_t len)
{
    FUZZ_REQUIRE(memchr(err->message, '\0', sizeof err->message) != NULL, "the message is a string");
    FUZZ_REQUIRE(strstr(err->message, " at offset ") != NULL, "the message names the offset");
    FUZZ_REQUIRE(err->offset <= len || err->offset == CLIENT_QUERY_MAX_LEN, "the offset is inside the text");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2 * CLIENT_QUERY_MAX_LEN)
        return 0; /* past the limit only the length check runs */
    char *text = malloc(size + 1);
    FUZZ_REQUIRE(text, "out of memory");
    memcpy(text, data, size);
    text[size] = '\0';
    size_t len = strlen(text);

    policy_error err;
    memset(&err, 0x55, sizeof err);
    client_query *q = client_query_parse(text, &err);
    if (!q) {
        check_refusal(&err, len);
        free(text);
        return 0;
    }
    FUZZ_REQUIRE(len <= CLIENT_QUERY_MAX_LEN, "an accepted query is within the length limit");
    bool results[N_VIEWS];
    for (size_t i = 0; i < N_VIEWS; i++)
        results[i] = client_query_matches(q, &views[i]);

    size_t wrapped_size = len + sizeof "NOT ()";
    char *wrapped = malloc(wrapped_size);
    FUZZ_REQUIRE(wrapped, "out of memory");
    snprintf(wrapped, wrapped_size, "NOT (%s)", text);
    client_query *negated = client_query_parse(wrapped, &err);
    if (negated) {
        for (size_t i = 0; i < N_VIEWS; i++)
            FUZZ_REQUIRE(client_query_matches(negated, &views[i]) == !results[i], "NOT (q) negates q");
    } else {
        check_refusal(&err, strlen(wrapped));
        FUZZ_REQUIRE(strstr(err.message, "nesting deeper") || strstr(err.message, "longer than"),
                     "wrapping a valid query in NOT (...) only breaks a limit");
    }
    client_query_free(negated);
    free(wrapped);
    client_query_free(q);
    free(text);
    return 0;
}
