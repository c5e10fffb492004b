/* Helpers shared by the resource validation suites (test_resource_validate.c,
 * test_validate_*.c). Header-only and static inline, like codec_test_util.h.
 *
 * Bodies are written as C strings in which single quotes stand for double
 * quotes ("{'properties': {}}"), unless the text holds a double quote itself,
 * in which case it is taken as is (for bodies whose strings need a single quote).
 *
 * VALID() validates, fails the test with the error if the body is refused,
 * and checks that the result is a fixed point: validating it again as a PUT
 * body (with the same `old`) gives the same document. INVALID() checks the
 * error's status 400, code, target and a substring of the message. */
#ifndef EG_TEST_VALIDATE_UTIL_H
#define EG_TEST_VALIDATE_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mqtt_codec.h"
#include "resource_validate.h"

/* cmocka's _fail, which does not return (it is not declared so). */
static inline void fail_at(const char *file, int line) __attribute__((noreturn));
static inline void fail_at(const char *file, int line)
{
    _fail(file, line);
    abort();
}

/* Parses a body in the single-quote convention; fails the test if it is not JSON. */
static inline json_t *tj_at(const char *file, int line, const char *text)
{
    char *copy = strdup(text);
    assert_non_null(copy);
    if (!strchr(text, '"'))
        for (char *p = copy; *p; p++)
            if (*p == '\'')
                *p = '"';
    json_error_t jerr;
    json_t *v = json_loads(copy, JSON_DECODE_ANY, &jerr);
    if (!v) {
        print_error("test body is not JSON (%s): %s\n", jerr.text, copy);
        free(copy);
        fail_at(file, line);
    }
    free(copy);
    return v;
}
#define TJ(text) tj_at(__FILE__, __LINE__, (text))

/* The error must be renderable: valid UTF-8 everywhere. */
static inline void check_error_utf8(const char *file, int line, const api_error *err)
{
    if (!mqtt_utf8_valid((const uint8_t *)err->message, strlen(err->message)) ||
        !mqtt_utf8_valid((const uint8_t *)err->target, strlen(err->target)) ||
        !mqtt_utf8_valid((const uint8_t *)err->code, strlen(err->code))) {
        print_error("error is not valid UTF-8\n");
        fail_at(file, line);
    }
}

static inline json_t *valid_json_at(const char *file, int line, resource_kind kind, const char *name,
                                    const json_t *body, const json_t *old, const cp_quotas *quotas)
{
    api_error err = {0};
    json_t *out = resource_validate(kind, name, body, old, quotas, &err);
    if (!out) {
        char *dump = json_dumps(body, JSON_COMPACT);
        print_error("refused: %d %s [%s] %s\nbody: %s\n", err.status, err.code, err.target, err.message,
                    dump);
        free(dump);
        fail_at(file, line);
    }
    api_error err2 = {0};
    json_t *again = resource_validate(kind, name, out, old, quotas, &err2);
    if (!again || !json_equal(again, out)) {
        char *a = json_dumps(out, JSON_COMPACT), *b = again ? json_dumps(again, JSON_COMPACT) : NULL;
        print_error("not a fixed point:\n first: %s\n again: %s (%s %s)\n", a, b ? b : "(refused)", err2.code,
                    err2.message);
        free(a);
        free(b);
        fail_at(file, line);
    }
    json_decref(again);
    return out;
}

static inline json_t *valid_at(const char *file, int line, resource_kind kind, const char *name,
                               const char *body, const json_t *old)
{
    json_t *b = tj_at(file, line, body);
    json_t *out = valid_json_at(file, line, kind, name, b, old, NULL);
    json_decref(b);
    return out;
}
#define VALID(kind, name, body, old) valid_at(__FILE__, __LINE__, (kind), (name), (body), (old))

static inline void check_error_at(const char *file, int line, const api_error *err, const char *code,
                                  const char *target, const char *substring)
{
    check_error_utf8(file, line, err);
    if (err->status != 400 || strcmp(err->code, code) != 0 || strcmp(err->target, target) != 0 ||
        !strstr(err->message, substring)) {
        print_error("expected 400 %s [%s] \"...%s...\"\n     got %d %s [%s] \"%s\"\n", code, target,
                    substring, err->status, err->code, err->target, err->message);
        fail_at(file, line);
    }
}
#define CHECK_ERROR(err, code, target, substring)                                                            \
    check_error_at(__FILE__, __LINE__, (err), (code), (target), (substring))

static inline void invalid_json_at(const char *file, int line, resource_kind kind, const char *name,
                                   const json_t *body, const json_t *old, const cp_quotas *quotas,
                                   const char *code, const char *target, const char *substring)
{
    api_error err = {0};
    json_t *out = resource_validate(kind, name, body, old, quotas, &err);
    if (out) {
        char *dump = json_dumps(out, JSON_COMPACT);
        print_error("accepted, expected %s [%s]: %s\n", code, target, dump);
        free(dump);
        json_decref(out);
        fail_at(file, line);
    }
    check_error_at(file, line, &err, code, target, substring);
}

static inline void invalid_at(const char *file, int line, resource_kind kind, const char *name,
                              const char *body, const json_t *old, const char *code, const char *target,
                              const char *substring)
{
    json_t *b = tj_at(file, line, body);
    invalid_json_at(file, line, kind, name, b, old, NULL, code, target, substring);
    json_decref(b);
}
#define INVALID(kind, name, body, old, code, target, substring)                                              \
    invalid_at(__FILE__, __LINE__, (kind), (name), (body), (old), (code), (target), (substring))

/* out must equal the expected document (single-quote convention); consumes out. */
static inline void expect_json_at(const char *file, int line, json_t *out, const char *expected)
{
    json_t *want = tj_at(file, line, expected);
    if (!json_equal(out, want)) {
        char *a = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS),
             *b = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
        print_error("documents differ:\n  got: %s\n want: %s\n", a, b);
        free(a);
        free(b);
        json_decref(want);
        json_decref(out);
        fail_at(file, line);
    }
    json_decref(want);
    json_decref(out);
}
#define EXPECT_JSON(out, expected) expect_json_at(__FILE__, __LINE__, (out), (expected))

/* A string of n copies of c (caller frees). */
static inline char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

#endif
