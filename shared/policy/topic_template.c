/* Topic templates: parsing into literal and variable segments, validation
 * against the MQTT filter rules, and allocation-free expansion.
 *
 * Validation builds the "placeholder" form of the template (each variable
 * replaced by one ordinary character) and holds it to the MQTT filter rules.
 * Before that authoritative check, the common mistakes are diagnosed on the
 * template itself so that the error names the offending byte. */
#include "policy/topic_template.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt_codec.h"
#include "mqtt_topic.h"

/* A UTF-8 Encoded String carries a two-byte length (MQTT section 1.5.4). */
#define MQTT_FILTER_MAX_LEN 65535u

static const char VAR_AUTH_NAME[] = "client.authenticationName";
static const char VAR_ATTR_PREFIX[] = "client.attributes.";
#define VAR_ATTR_PREFIX_LEN (sizeof VAR_ATTR_PREFIX - 1)
/* The shortest variable, "${client.attributes.k}", bounds how many segments
 * a template can have: a literal around each variable, and one at the end. */
#define MIN_VAR_LEN (2 + VAR_ATTR_PREFIX_LEN + 1 + 1)
#define MAX_SEGMENTS (2 * (TOPIC_TEMPLATE_MAX_LEN / MIN_VAR_LEN) + 1)

typedef enum seg_kind { SEG_LITERAL, SEG_AUTH_NAME, SEG_ATTR } seg_kind;

/* LITERAL: a run of the template text; ATTR: the KEY inside the text. */
typedef struct segment {
    seg_kind kind;
    uint32_t off, len;
} segment;

/* One allocation: the header, the segments, then the text with its NUL. */
struct topic_template {
    const char *text;
    bool has_vars;
    size_t n_segs;
    segment segs[];
};

/* ---- parsing */

typedef struct template_parse {
    const char *text;
    size_t len;
    segment segs[MAX_SEGMENTS];
    size_t n_segs;
    char placeholder[TOPIC_TEMPLATE_MAX_LEN + 1];
    size_t placeholder_len;
} template_parse;

/* Writes `len` bytes of s into out (size cap) for a message: quoted bytes
 * that are not printable ASCII become '?', a long excerpt ends with "...". */
static void excerpt(char *out, size_t cap, const char *s, size_t len)
{
    size_t max = cap - 4, n = len < max ? len : max;
    for (size_t i = 0; i < n; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    strcpy(out + n, len > max ? "..." : "");
}

static bool add_segment(template_parse *tp, seg_kind kind, size_t off, size_t len, policy_error *err)
{
    if (tp->n_segs == MAX_SEGMENTS) {
        policy_error_set(err, off, "too many variables"); /* unreachable: see MAX_SEGMENTS */
        return false;
    }
    tp->segs[tp->n_segs++] = (segment){.kind = kind, .off = (uint32_t)off, .len = (uint32_t)len};
    if (kind == SEG_LITERAL) {
        memcpy(tp->placeholder + tp->placeholder_len, tp->text + off, len);
        tp->placeholder_len += len;
    } else {
        tp->placeholder[tp->placeholder_len++] = 'v';
    }
    return true;
}

/* The variable whose "${" is at `at`; sets *end past its '}'. */
static bool parse_variable(template_parse *tp, size_t at, size_t *end, policy_error *err)
{
    const char *body = tp->text + at + 2;
    const char *close = memchr(body, '}', tp->len - at - 2);
    if (!close) {
        policy_error_set(err, at, "unterminated variable: '${' without '}'");
        return false;
    }
    size_t body_len = (size_t)(close - body);
    *end = at + 2 + body_len + 1;
    if (body_len == sizeof VAR_AUTH_NAME - 1 && memcmp(body, VAR_AUTH_NAME, body_len) == 0)
        return add_segment(tp, SEG_AUTH_NAME, at, 0, err);
    size_t key_len = body_len > VAR_ATTR_PREFIX_LEN ? body_len - VAR_ATTR_PREFIX_LEN : 0;
    bool attr = key_len > 0 && memcmp(body, VAR_ATTR_PREFIX, VAR_ATTR_PREFIX_LEN) == 0;
    for (size_t i = 0; attr && i < key_len; i++)
        attr = policy_key_char(body[VAR_ATTR_PREFIX_LEN + i]);
    if (attr)
        return add_segment(tp, SEG_ATTR, at + 2 + VAR_ATTR_PREFIX_LEN, key_len, err);
    char shown[64];
    excerpt(shown, sizeof shown, body, body_len);
    policy_error_set(err, at,
                     "unknown variable '${%s}' (use ${client.authenticationName} or "
                     "${client.attributes.KEY}, KEY of letters, digits and '_')",
                     shown);
    return false;
}

/* Splits the text into segments and fills the placeholder form. */
static bool split_segments(template_parse *tp, policy_error *err)
{
    size_t lit_start = 0, i = 0;
    while (i < tp->len) {
        if (tp->text[i] != '$' || i + 1 == tp->len || tp->text[i + 1] != '{') {
            i++;
            continue;
        }
        if (i > lit_start && !add_segment(tp, SEG_LITERAL, lit_start, i - lit_start, err))
            return false;
        if (!parse_variable(tp, i, &i, err))
            return false;
        lit_start = i;
    }
    return i == lit_start || add_segment(tp, SEG_LITERAL, lit_start, i - lit_start, err);
}

/* '+' and '#' placement, level by level, on the template text: a wildcard
 * fills its level, '#' is the last level, and no level mixes a wildcard
 * with a variable. Variables contain neither '/' nor wildcards. */
static bool check_levels(const template_parse *tp, policy_error *err)
{
    size_t level_start = 0;
    for (size_t i = 0; i <= tp->len; i++) {
        if (i < tp->len && tp->text[i] != '/')
            continue;
        const char *level = tp->text + level_start;
        size_t level_len = i - level_start;
        const char *wild = memchr(level, '+', level_len);
        const char *hash = memchr(level, '#', level_len);
        if (!wild || (hash && hash < wild))
            wild = hash;
        if (wild) {
            size_t at = (size_t)(wild - tp->text);
            if (level_len > 1 && memmem(level, level_len, "${", 2)) {
                policy_error_set(err, at, "'%c' cannot share a level with a variable", *wild);
                return false;
            }
            if (level_len > 1) {
                policy_error_set(err, at, "'%c' must be a whole level", *wild);
                return false;
            }
            if (*wild == '#' && i != tp->len) {
                policy_error_set(err, at, "'#' must be the last level");
                return false;
            }
        }
        level_start = i + 1;
    }
    return true;
}

/* The offset of the first byte that does not start a valid UTF-8 character
 * (or U+0000), or len. */
static size_t utf8_error_offset(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        if (n > len - i || !mqtt_utf8_valid((const uint8_t *)s + i, n))
            return i;
        i += n;
    }
    return len;
}

topic_template *topic_template_parse(const char *text, policy_error *err)
{
    if (!text) {
        policy_error_set(err, 0, "no template");
        return NULL;
    }
    size_t len = strnlen(text, TOPIC_TEMPLATE_MAX_LEN + 1);
    if (len == 0) {
        policy_error_set(err, 0, "empty template");
        return NULL;
    }
    if (len > TOPIC_TEMPLATE_MAX_LEN) {
        policy_error_set(err, TOPIC_TEMPLATE_MAX_LEN, "template longer than %d bytes",
                         TOPIC_TEMPLATE_MAX_LEN);
        return NULL;
    }
    size_t bad = utf8_error_offset(text, len);
    if (bad < len) {
        policy_error_set(err, bad, "invalid UTF-8");
        return NULL;
    }
    template_parse tp = {.text = text, .len = len};
    if (!split_segments(&tp, err) || !check_levels(&tp, err))
        return NULL;
    mqtt_bytes placeholder = {.data = (const uint8_t *)tp.placeholder, .len = (uint32_t)tp.placeholder_len};
    if (mqtt_topic_shared_split(placeholder, NULL, NULL) != 0) {
        policy_error_set(err, 0, "a topic template cannot be a shared subscription ('$share/...')");
        return NULL;
    }
    if (mqtt_topic_filter_check(placeholder) != 0) {
        policy_error_set(err, 0, "not a valid MQTT topic filter"); /* the checks above should have said why */
        return NULL;
    }

    size_t segs_size = tp.n_segs * sizeof(segment);
    topic_template *t = malloc(sizeof *t + segs_size + len + 1);
    if (!t) {
        policy_error_set(err, 0, "out of memory parsing the template");
        return NULL;
    }
    char *copy = (char *)t->segs + segs_size;
    memcpy(copy, text, len + 1);
    t->text = copy;
    t->n_segs = tp.n_segs;
    memcpy(t->segs, tp.segs, segs_size);
    t->has_vars = false;
    for (size_t i = 0; i < t->n_segs; i++)
        t->has_vars |= t->segs[i].kind != SEG_LITERAL;
    return t;
}

void topic_template_free(topic_template *t)
{
    free(t);
}

bool topic_template_has_variables(const topic_template *t)
{
    return t && t->has_vars;
}

const char *topic_template_text(const topic_template *t)
{
    return t ? t->text : NULL;
}

/* ---- expansion */

/* A value may stand in for a variable if it keeps the level structure and
 * the filter valid: non-empty, no '/', '+' or '#', valid UTF-8. */
static bool value_ok(const char *v, size_t len)
{
    return len > 0 && !memchr(v, '/', len) && !memchr(v, '+', len) && !memchr(v, '#', len) &&
           mqtt_utf8_valid((const uint8_t *)v, len);
}

/* The output being built: bytes past out_size are counted, not written, so
 * that TOO_LONG can report the length needed. The first bytes are also kept
 * aside to recognise "$share/" even when they do not fit. */
typedef struct expansion {
    char *out;
    size_t size, len;
    char head[8];
} expansion;

static void emit(expansion *x, const char *s, size_t n)
{
    for (size_t i = 0; i < n && x->len + i < sizeof x->head - 1; i++)
        x->head[x->len + i] = s[i];
    if (x->len < x->size && n < x->size - x->len)
        memcpy(x->out + x->len, s, n);
    x->len += n;
}

/* The value of a variable segment, or false when the client has none usable. */
static bool segment_value(const topic_template *t, const segment *s, const client_view *c, const char **v,
                          size_t *len, char *num, size_t num_size)
{
    if (s->kind == SEG_AUTH_NAME) {
        *v = c->authentication_name;
    } else {
        const client_attr *a = client_view_find_attr(c, t->text + s->off, s->len);
        if (!a || a->type == CLIENT_ATTR_STRING_ARRAY)
            return false;
        if (a->type == CLIENT_ATTR_INT) {
            snprintf(num, num_size, "%lld", a->num);
            *v = num;
        } else {
            *v = a->type == CLIENT_ATTR_STRING ? a->str : NULL;
        }
    }
    if (!*v)
        return false;
    *len = strlen(*v);
    return value_ok(*v, *len);
}

/* A failed expansion leaves out holding the empty string, not a fragment. */
static template_expand_result refuse(expansion *x, template_expand_result r)
{
    if (x->size > 0)
        x->out[0] = '\0';
    return r;
}

template_expand_result topic_template_expand(const topic_template *t, const client_view *c, char *out,
                                             size_t out_size, size_t *out_len)
{
    expansion x = {.out = out, .size = out ? out_size : 0};
    if (!t || !c)
        return refuse(&x, TEMPLATE_NOT_APPLICABLE);
    for (size_t i = 0; i < t->n_segs; i++) {
        const segment *s = &t->segs[i];
        if (s->kind == SEG_LITERAL) {
            emit(&x, t->text + s->off, s->len);
            continue;
        }
        char num[24]; /* "-9223372036854775808" */
        const char *v;
        size_t len;
        if (!segment_value(t, s, c, &v, &len, num, sizeof num))
            return refuse(&x, TEMPLATE_NOT_APPLICABLE);
        emit(&x, v, len);
    }
    /* A value can complete "$share/" at the start ("${client.attributes.x}/g/t"
     * with x = "$share"); the result would not be a plain filter. */
    if (x.len >= 7 && memcmp(x.head, "$share/", 7) == 0)
        return refuse(&x, TEMPLATE_NOT_APPLICABLE);
    if (out_len)
        *out_len = x.len;
    if (x.len >= x.size || x.len > MQTT_FILTER_MAX_LEN)
        return refuse(&x, TEMPLATE_TOO_LONG);
    out[x.len] = '\0';
    return TEMPLATE_EXPANDED;
}
