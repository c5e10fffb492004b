/* Client-group queries: a recursive-descent parser into a flat node array,
 * and an allocation-free evaluator.
 *
 * Grammar (keywords case-insensitive, precedence NOT > AND > OR):
 *   query      := or EOF
 *   or         := and (OR and)*
 *   and        := not (AND not)*
 *   not        := NOT not | '(' or ')' | comparison
 *   comparison := operand ('=' | '<>' | '!=' | '<' | '>' | '<=' | '>=') value
 *               | operand [NOT] IN '[' value (',' value)* ']'
 *   operand    := attributes.KEY | authenticationName      KEY := [A-Za-z0-9_]+
 *   value      := 'string' | "string" | -?[0-9]+
 *
 * The compiled query lives in three arrays sized from the text length (every
 * node, literal and pooled byte consumes at least one byte of text), so the
 * parser never grows anything and only the initial allocation can fail.
 * Nodes refer to each other by index: AND/OR keep their operands as a
 * sibling list, which keeps long flat chains ("a OR b OR c ...") shallow. */
#include "policy/client_query.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NO_NODE UINT32_MAX

typedef enum node_kind { NODE_OR, NODE_AND, NODE_NOT, NODE_CMP } node_kind;

/* '<>', '!=' and NOT IN are stored as EQ and IN with `negate` set: on an
 * array attribute they mean "no element", the negation of "some element". */
typedef enum cmp_op { CMP_EQ, CMP_IN, CMP_LT, CMP_GT, CMP_LE, CMP_GE } cmp_op;

typedef struct literal {
    uint32_t str_off, str_len; /* in the pool, when is_str */
    bool is_str;
    bool has_int; /* an integer literal, or a string in canonical decimal form */
    long long num;
} literal;

typedef struct node {
    node_kind kind;
    cmp_op op;
    bool negate;
    bool is_auth_name;         /* NODE_CMP: authenticationName, else attributes.KEY */
    uint32_t key_off, key_len; /* NODE_CMP: KEY in the pool */
    uint32_t first;            /* AND/OR/NOT: first operand; NODE_CMP: first literal */
    uint32_t n_lits;           /* NODE_CMP: 1, or the IN list's length */
    uint32_t next;             /* the next operand of the parent AND/OR, or NO_NODE */
} node;

struct client_query {
    node *nodes;
    literal *lits;
    char *pool;
    uint32_t root;
};

/* ---- values shared by parsing and evaluation */

/* The canonical decimal form of a 64-bit integer: "0", or an optional '-'
 * and digits without a leading zero ("-0" and "007" are not canonical), so
 * each integer has exactly one string that equals it. */
static bool canonical_int(const char *s, size_t len, long long *out)
{
    bool neg = len > 0 && s[0] == '-';
    size_t i = neg ? 1 : 0;
    if (i == len || len - i > 19 || (s[i] == '0' && (len - i > 1 || neg)))
        return false;
    unsigned long long mag = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        mag = mag * 10 + (unsigned long long)(s[i] - '0'); /* at most 19 digits: no wrap */
    }
    if (mag > (unsigned long long)LLONG_MAX + (neg ? 1u : 0u))
        return false;
    /* -(LLONG_MAX + 1) is computed in unsigned arithmetic, then converted. */
    *out = neg ? (long long)(0 - mag) : (long long)mag;
    return true;
}

/* ---- parser */

typedef struct parser {
    const char *text;
    size_t len, pos;
    unsigned depth;
    client_query *q;
    uint32_t n_nodes, n_lits, pool_len, cap;
    policy_error *err;
    bool failed;
} parser;

/* Records the first error only: once one is set, callers unwind with NO_NODE
 * and later, less precise complaints must not overwrite it. */
#define FAIL(p, offset, ...)                                                                                 \
    do {                                                                                                     \
        if (!(p)->failed)                                                                                    \
            policy_error_set((p)->err, (offset), __VA_ARGS__);                                               \
        (p)->failed = true;                                                                                  \
    } while (0)

/* Keywords and operand names are words of key characters, so "ANDx" is
 * not AND. */
static bool is_word_char(char c)
{
    return policy_key_char(c);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* ASCII-only case folding: strncasecmp follows the locale, in which 'I'
 * need not fold to 'i'. */
static bool equal_ignoring_case(const char *a, const char *lower, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = a[i] >= 'A' && a[i] <= 'Z' ? (char)(a[i] - 'A' + 'a') : a[i];
        if (c != lower[i])
            return false;
    }
    return true;
}

static void skip_ws(parser *p)
{
    for (; p->pos < p->len; p->pos++) {
        char c = p->text[p->pos];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            return;
    }
}

static size_t word_len_at(const parser *p, size_t pos)
{
    size_t n = 0;
    while (pos + n < p->len && is_word_char(p->text[pos + n]))
        n++;
    return n;
}

/* Is the whole word at the current position `kw` (lower case), ignoring
 * case? Keywords and the operand names are case-insensitive. */
static bool keyword_at(const parser *p, const char *kw)
{
    size_t n = word_len_at(p, p->pos);
    return n == strlen(kw) && equal_ignoring_case(p->text + p->pos, kw, n);
}

static uint32_t new_node(parser *p, node_kind kind, size_t offset)
{
    if (p->n_nodes >= p->cap) {
        /* Unreachable: every node consumes at least one byte of text. */
        FAIL(p, offset, "query too complex");
        return NO_NODE;
    }
    uint32_t i = p->n_nodes++;
    p->q->nodes[i] = (node){.kind = kind, .first = NO_NODE, .next = NO_NODE};
    return i;
}

static bool enter_nesting(parser *p, size_t offset)
{
    if (++p->depth > CLIENT_QUERY_MAX_DEPTH) {
        FAIL(p, offset, "nesting deeper than %d levels of '(' and NOT", CLIENT_QUERY_MAX_DEPTH);
        return false;
    }
    return true;
}

/* A quoted string at the current position, unescaped into the pool. */
static bool parse_string(parser *p, literal *lit)
{
    size_t start = p->pos;
    char quote = p->text[p->pos++];
    lit->is_str = true;
    lit->str_off = p->pool_len;
    for (;;) {
        if (p->pos >= p->len) {
            FAIL(p, start, "unterminated string");
            return false;
        }
        char c = p->text[p->pos++];
        if (c == quote) {
            if (p->pos >= p->len || p->text[p->pos] != quote)
                break;
            p->pos++; /* a doubled quote stands for one */
        }
        p->q->pool[p->pool_len++] = c;
    }
    lit->str_len = p->pool_len - lit->str_off;
    lit->has_int = canonical_int(p->q->pool + lit->str_off, lit->str_len, &lit->num);
    return true;
}

static bool parse_integer(parser *p, literal *lit)
{
    size_t start = p->pos;
    bool neg = p->text[p->pos] == '-';
    if (neg)
        p->pos++;
    size_t digits = p->pos;
    unsigned long long mag = 0, limit = (unsigned long long)LLONG_MAX + (neg ? 1u : 0u);
    while (p->pos < p->len && is_digit(p->text[p->pos])) {
        unsigned d = (unsigned)(p->text[p->pos] - '0');
        if (mag > (limit - d) / 10) {
            FAIL(p, start, "integer out of the 64-bit range");
            return false;
        }
        mag = mag * 10 + d;
        p->pos++;
    }
    if (p->pos == digits) {
        FAIL(p, start, "expected digits after '-'");
        return false;
    }
    if (p->pos < p->len && (is_word_char(p->text[p->pos]) || p->text[p->pos] == '.')) {
        FAIL(p, start, "invalid integer (only whole numbers in decimal are supported)");
        return false;
    }
    *lit = (literal){.has_int = true, .num = neg ? (long long)(0 - mag) : (long long)mag};
    return true;
}

typedef enum value_result { VALUE_OK, VALUE_ABSENT, VALUE_ERROR } value_result;

/* A literal at the current position, appended to the literal array.
 * VALUE_ABSENT (no error recorded) when the text there is not a value, so
 * that the caller can say what it expected. */
static value_result parse_value(parser *p)
{
    skip_ws(p);
    if (p->pos >= p->len)
        return VALUE_ABSENT;
    char c = p->text[p->pos];
    bool is_string = c == '\'' || c == '"', is_int = c == '-' || is_digit(c);
    if (!is_string && !is_int)
        return VALUE_ABSENT;
    if (p->n_lits >= p->cap) {
        FAIL(p, p->pos, "query too complex"); /* unreachable, as in new_node */
        return VALUE_ERROR;
    }
    literal *lit = &p->q->lits[p->n_lits];
    if (!(is_string ? parse_string(p, lit) : parse_integer(p, lit)))
        return VALUE_ERROR;
    p->n_lits++;
    return VALUE_OK;
}

/* '[' value (',' value)* ']' with the current position on the '['. */
static bool parse_list(parser *p, node *n)
{
    p->pos++;
    for (;;) {
        size_t at = (skip_ws(p), p->pos);
        value_result r = parse_value(p);
        if (r == VALUE_ABSENT)
            FAIL(p, at, "expected a value in the list");
        if (r != VALUE_OK)
            return false;
        if (++n->n_lits > CLIENT_QUERY_MAX_LIST) {
            FAIL(p, at, "a list holds at most %d values", CLIENT_QUERY_MAX_LIST);
            return false;
        }
        skip_ws(p);
        if (p->pos < p->len && p->text[p->pos] == ',') {
            p->pos++;
        } else if (p->pos < p->len && p->text[p->pos] == ']') {
            p->pos++;
            return true;
        } else {
            FAIL(p, p->pos, "expected ',' or ']' in the list");
            return false;
        }
    }
}

static const struct {
    const char *text;
    cmp_op op;
    bool negate;
} OPERATORS[] = {
    /* Two-character operators first, so that "<=" is not read as "<". */
    {"<>", CMP_EQ, true}, {"!=", CMP_EQ, true}, {"<=", CMP_LE, false}, {">=", CMP_GE, false},
    {"=", CMP_EQ, false}, {"<", CMP_LT, false}, {">", CMP_GT, false},
};

/* The operator and its operand(s) after the left-hand side of a comparison. */
static bool parse_operation(parser *p, node *n)
{
    skip_ws(p);
    size_t at = p->pos;
    bool not_in = keyword_at(p, "not");
    if (not_in) {
        p->pos += 3;
        skip_ws(p);
        if (!keyword_at(p, "in")) {
            FAIL(p, p->pos, "expected IN after NOT");
            return false;
        }
    }
    if (keyword_at(p, "in")) {
        p->pos += 2;
        n->op = CMP_IN;
        n->negate = not_in;
        skip_ws(p);
        if (p->pos >= p->len || p->text[p->pos] != '[') {
            FAIL(p, p->pos, "expected '[' after %s", not_in ? "NOT IN" : "IN");
            return false;
        }
        return parse_list(p, n);
    }
    for (size_t i = 0; i < sizeof OPERATORS / sizeof OPERATORS[0]; i++) {
        size_t oplen = strlen(OPERATORS[i].text);
        if (p->len - p->pos < oplen || memcmp(p->text + p->pos, OPERATORS[i].text, oplen) != 0)
            continue;
        p->pos += oplen;
        n->op = OPERATORS[i].op;
        n->negate = OPERATORS[i].negate;
        size_t value_at = (skip_ws(p), p->pos);
        value_result r = parse_value(p);
        if (r == VALUE_ABSENT)
            FAIL(p, value_at, "expected a value after '%s'", OPERATORS[i].text);
        if (r != VALUE_OK)
            return false;
        n->n_lits = 1;
        if (n->op != CMP_EQ && p->q->lits[n->first].is_str) {
            FAIL(p, value_at, "expected an integer after '%s' (it compares integers only)",
                 OPERATORS[i].text);
            return false;
        }
        return true;
    }
    FAIL(p, at, "expected an operator (=, <>, !=, <, >, <=, >=, IN or NOT IN)");
    return false;
}

static uint32_t parse_comparison(parser *p)
{
    skip_ws(p);
    size_t start = p->pos, wlen = word_len_at(p, start);
    uint32_t i = new_node(p, NODE_CMP, start);
    if (i == NO_NODE)
        return NO_NODE;
    node *n = &p->q->nodes[i];
    if (keyword_at(p, "authenticationname")) {
        n->is_auth_name = true;
        p->pos += wlen;
    } else if (keyword_at(p, "attributes")) {
        p->pos += wlen;
        if (p->pos >= p->len || p->text[p->pos] != '.') {
            FAIL(p, p->pos, "expected '.' and an attribute key after 'attributes'");
            return NO_NODE;
        }
        size_t key_at = ++p->pos, key_len = word_len_at(p, key_at);
        if (key_len == 0) {
            FAIL(p, key_at, "expected an attribute key (letters, digits, '_') after 'attributes.'");
            return NO_NODE;
        }
        n->key_off = p->pool_len;
        n->key_len = (uint32_t)key_len;
        memcpy(p->q->pool + p->pool_len, p->text + key_at, key_len);
        p->pool_len += (uint32_t)key_len;
        p->pos += key_len;
    } else {
        FAIL(p, start, "expected attributes.KEY, authenticationName, NOT or '('");
        return NO_NODE;
    }
    n->first = p->n_lits;
    return parse_operation(p, n) ? i : NO_NODE;
}

static uint32_t parse_or(parser *p);

static uint32_t parse_not(parser *p)
{
    skip_ws(p);
    size_t start = p->pos;
    if (keyword_at(p, "not")) {
        p->pos += 3;
        if (!enter_nesting(p, start))
            return NO_NODE;
        uint32_t child = parse_not(p);
        p->depth--;
        uint32_t i = child == NO_NODE ? NO_NODE : new_node(p, NODE_NOT, start);
        if (i != NO_NODE)
            p->q->nodes[i].first = child;
        return i;
    }
    if (p->pos < p->len && p->text[p->pos] == '(') {
        p->pos++;
        if (!enter_nesting(p, start))
            return NO_NODE;
        uint32_t inner = parse_or(p);
        p->depth--;
        if (inner == NO_NODE)
            return NO_NODE;
        skip_ws(p);
        if (p->pos >= p->len || p->text[p->pos] != ')') {
            FAIL(p, p->pos, "expected AND, OR or ')'");
            return NO_NODE;
        }
        p->pos++;
        return inner;
    }
    return parse_comparison(p);
}

/* One level of "operand (KEYWORD operand)*": OR over ANDs, AND over NOTs.
 * A single operand is returned as is, without a one-child node. */
static uint32_t parse_chain(parser *p, node_kind kind, const char *keyword, uint32_t (*operand)(parser *))
{
    uint32_t first = operand(p);
    if (first == NO_NODE)
        return NO_NODE;
    skip_ws(p);
    if (!keyword_at(p, keyword))
        return first;
    uint32_t chain = new_node(p, kind, p->pos);
    if (chain == NO_NODE)
        return NO_NODE;
    p->q->nodes[chain].first = first;
    uint32_t last = first;
    while (keyword_at(p, keyword)) {
        p->pos += strlen(keyword);
        uint32_t next = operand(p);
        if (next == NO_NODE)
            return NO_NODE;
        p->q->nodes[last].next = next;
        last = next;
        skip_ws(p);
    }
    return chain;
}

static uint32_t parse_and(parser *p)
{
    return parse_chain(p, NODE_AND, "and", parse_not);
}

static uint32_t parse_or(parser *p)
{
    return parse_chain(p, NODE_OR, "or", parse_and);
}

void client_query_free(client_query *q)
{
    if (!q)
        return;
    free(q->nodes);
    free(q->lits);
    free(q->pool);
    free(q);
}

/* Gives back the unused tail of a parse-sized array; keeping the larger
 * block when the allocator declines is harmless. */
static void *shrink(void *block, size_t size)
{
    void *smaller = realloc(block, size ? size : 1);
    return smaller ? smaller : block;
}

client_query *client_query_parse(const char *text, policy_error *err)
{
    if (!text) {
        policy_error_set(err, 0, "no query");
        return NULL;
    }
    size_t len = strnlen(text, CLIENT_QUERY_MAX_LEN + 1);
    if (len > CLIENT_QUERY_MAX_LEN) {
        policy_error_set(err, CLIENT_QUERY_MAX_LEN, "query longer than %d bytes", CLIENT_QUERY_MAX_LEN);
        return NULL;
    }
    parser p = {.text = text, .len = len, .err = err, .cap = (uint32_t)len};
    skip_ws(&p);
    if (p.pos == len) {
        policy_error_set(err, 0, "empty query");
        return NULL;
    }
    client_query *q = calloc(1, sizeof *q);
    if (q) {
        q->nodes = malloc(len * sizeof *q->nodes);
        q->lits = malloc(len * sizeof *q->lits);
        q->pool = malloc(len);
    }
    if (!q || !q->nodes || !q->lits || !q->pool) {
        client_query_free(q);
        policy_error_set(err, 0, "out of memory compiling the query");
        return NULL;
    }
    p.q = q;
    q->root = parse_or(&p);
    if (q->root != NO_NODE && (skip_ws(&p), p.pos < len))
        FAIL(&p, p.pos, "expected AND, OR or the end of the query");
    if (p.failed) {
        client_query_free(q);
        return NULL;
    }
    q->nodes = shrink(q->nodes, p.n_nodes * sizeof *q->nodes);
    q->lits = shrink(q->lits, p.n_lits * sizeof *q->lits);
    q->pool = shrink(q->pool, p.pool_len);
    return q;
}

/* ---- evaluation */

/* One value of the client's: a string (which may also read as an integer)
 * or an integer. */
typedef struct scalar {
    const char *str;
    size_t len;
    bool is_str;
    bool has_int;
    long long num;
} scalar;

static scalar scalar_str(const char *s)
{
    scalar v = {.str = s, .len = strlen(s), .is_str = true};
    v.has_int = canonical_int(s, v.len, &v.num);
    return v;
}

static bool scalar_equals(const client_query *q, const scalar *v, const literal *lit)
{
    if (v->is_str && lit->is_str)
        return v->len == lit->str_len && memcmp(v->str, q->pool + lit->str_off, v->len) == 0;
    /* At least one side is an integer: the other must read as the same one. */
    return v->has_int && lit->has_int && v->num == lit->num;
}

/* The comparison without its negation, for one value. */
static bool compare(const client_query *q, const node *n, const scalar *v)
{
    const literal *lit = &q->lits[n->first];
    switch (n->op) {
    case CMP_EQ: return scalar_equals(q, v, lit);
    case CMP_IN:
        for (uint32_t i = 0; i < n->n_lits; i++) {
            if (scalar_equals(q, v, &lit[i]))
                return true;
        }
        return false;
    default: break;
    }
    if (!v->has_int)
        return false; /* the parser only lets integer literals reach here */
    switch (n->op) {
    case CMP_LT: return v->num < lit->num;
    case CMP_GT: return v->num > lit->num;
    case CMP_LE: return v->num <= lit->num;
    case CMP_GE: return v->num >= lit->num;
    default: return false;
    }
}

static bool eval_comparison(const client_query *q, const node *n, const client_view *c)
{
    bool found;
    if (n->is_auth_name) {
        if (!c->authentication_name)
            return false;
        scalar v = scalar_str(c->authentication_name);
        found = compare(q, n, &v);
    } else {
        const client_attr *a = client_view_find_attr(c, q->pool + n->key_off, n->key_len);
        if (!a || (a->type == CLIENT_ATTR_STRING && !a->str))
            return false; /* missing: every comparison is false, negated ones too */
        if (a->type == CLIENT_ATTR_INT) {
            scalar v = {.has_int = true, .num = a->num};
            found = compare(q, n, &v);
        } else if (a->type == CLIENT_ATTR_STRING) {
            scalar v = scalar_str(a->str);
            found = compare(q, n, &v);
        } else if (a->type == CLIENT_ATTR_STRING_ARRAY) {
            /* Does some element satisfy it? Negated operators then mean
             * that none does. */
            found = false;
            for (size_t i = 0; a->items && i < a->n_items && !found; i++) {
                if (!a->items[i])
                    continue;
                scalar v = scalar_str(a->items[i]);
                found = compare(q, n, &v);
            }
        } else {
            return false;
        }
    }
    return n->negate ? !found : found;
}

/* Recursion depth is bounded by the parser's nesting limit: each '(' or NOT
 * adds at most three levels (OR, AND, NOT). */
static bool eval(const client_query *q, uint32_t i, const client_view *c)
{
    const node *n = &q->nodes[i];
    switch (n->kind) {
    case NODE_NOT: return !eval(q, n->first, c);
    case NODE_CMP: return eval_comparison(q, n, c);
    case NODE_AND:
    case NODE_OR:
        /* AND stops at the first false operand, OR at the first true one. */
        for (uint32_t k = n->first; k != NO_NODE; k = q->nodes[k].next) {
            if (eval(q, k, c) != (n->kind == NODE_AND))
                return n->kind != NODE_AND;
        }
        return n->kind == NODE_AND;
    }
    return false;
}

bool client_query_matches(const client_query *q, const client_view *c)
{
    if (!q || !c)
        return false;
    return eval(q, q->root, c);
}
