/* Fuzz target for shared/policy/topic_template.c (and, on its output,
 * filter_cover.c). The input, up to its first NUL byte, is a template.
 * Besides memory safety it checks that a refusal names an offset inside the
 * text, and that every expansion of an accepted template for a few fixed
 * clients is a valid, non-shared MQTT filter that reports its length
 * consistently, refuses a buffer one byte short, and covers itself. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_require.h"
#include "mqtt_topic.h"
#include "policy/filter_cover.h"
#include "policy/topic_template.h"

static const char *const items[] = {"x"};
static const client_attr attrs[] = {
    {.key = "a", .type = CLIENT_ATTR_STRING, .str = "x"},
    {.key = "b", .type = CLIENT_ATTR_INT, .num = -42},
    {.key = "c", .type = CLIENT_ATTR_STRING_ARRAY, .items = items, .n_items = 1},
    {.key = "d", .type = CLIENT_ATTR_STRING, .str = "$share"},
    {.key = "e", .type = CLIENT_ATTR_STRING, .str = "a/b"},
    {.key = "f", .type = CLIENT_ATTR_STRING, .str = "+"},
    {.key = "g", .type = CLIENT_ATTR_STRING, .str = ""},
    {.key = "h", .type = CLIENT_ATTR_STRING, .str = "e"},
    {.key = "i", .type = CLIENT_ATTR_STRING, .str = "\xc3\xbc$"},
    {.key = "j", .type = CLIENT_ATTR_STRING, .str = "\xc3"},
    {.key = "site", .type = CLIENT_ATTR_STRING, .str = "berlin"},
};
static const client_view views[] = {
    {"device1", attrs, sizeof attrs / sizeof attrs[0]},
    {"$", attrs + 3, 4},
    {NULL, NULL, 0},
};

static void check_expansion(const topic_template *t, const client_view *c)
{
    char out[4 * TOPIC_TEMPLATE_MAX_LEN];
    size_t len = 0;
    template_expand_result r = topic_template_expand(t, c, out, sizeof out, &len);
    if (!topic_template_has_variables(t))
        FUZZ_REQUIRE(r == TEMPLATE_EXPANDED && strcmp(out, topic_template_text(t)) == 0,
                     "a template without variables expands to itself");
    if (r != TEMPLATE_EXPANDED) {
        FUZZ_REQUIRE(r == TEMPLATE_NOT_APPLICABLE, "the fixed values always fit");
        FUZZ_REQUIRE(out[0] == '\0', "a failed expansion leaves an empty string");
        return;
    }
    mqtt_bytes filter = mqtt_bytes_from_cstr(out);
    FUZZ_REQUIRE(len == filter.len, "the reported length is the string's");
    FUZZ_REQUIRE(mqtt_topic_filter_check(filter) == 0, "an expansion is a valid filter");
    FUZZ_REQUIRE(mqtt_topic_shared_split(filter, NULL, NULL) == 0,
                 "an expansion is not a shared subscription");
    FUZZ_REQUIRE(mqtt_filter_covers(out, len, out, len), "a filter covers itself");

    char *exact = malloc(len + 1);
    FUZZ_REQUIRE(exact, "out of memory");
    size_t len2 = 0;
    FUZZ_REQUIRE(topic_template_expand(t, c, exact, len, &len2) == TEMPLATE_TOO_LONG && len2 == len,
                 "a buffer one byte short is refused with the length needed");
    FUZZ_REQUIRE(topic_template_expand(t, c, exact, len + 1, &len2) == TEMPLATE_EXPANDED && len2 == len &&
                     memcmp(exact, out, len + 1) == 0,
                 "an exact buffer gets the same filter");
    free(exact);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2 * TOPIC_TEMPLATE_MAX_LEN)
        return 0; /* past the limit only the length check runs */
    char *text = malloc(size + 1);
    FUZZ_REQUIRE(text, "out of memory");
    memcpy(text, data, size);
    text[size] = '\0';
    size_t len = strlen(text);

    policy_error err;
    memset(&err, 0x55, sizeof err);
    topic_template *t = topic_template_parse(text, &err);
    if (!t) {
        FUZZ_REQUIRE(memchr(err.message, '\0', sizeof err.message) != NULL, "the message is a string");
        FUZZ_REQUIRE(strstr(err.message, " at offset ") != NULL, "the message names the offset");
        FUZZ_REQUIRE(err.offset < len || (len == 0 && err.offset == 0), "the offset is inside the text");
        free(text);
        return 0;
    }
    FUZZ_REQUIRE(len <= TOPIC_TEMPLATE_MAX_LEN, "an accepted template is within the length limit");
    FUZZ_REQUIRE(strcmp(topic_template_text(t), text) == 0, "the text is kept as written");
    FUZZ_REQUIRE(topic_template_has_variables(t) == (strstr(text, "${") != NULL),
                 "every '${' starts a variable");
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++)
        check_expansion(t, &views[i]);
    topic_template_free(t);
    free(text);
    return 0;
}
