/* egctl tables and value formatting. */
#include "cli_output.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct cli_table {
    size_t n_cols, n_rows;
    char **cells; /* (n_rows + 1) * n_cols, row 0 the headers */
};

cli_table *cli_table_new(size_t n_cols, const char *const *headers)
{
    cli_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->n_cols = n_cols;
    cli_table_add(t, headers);
    t->n_rows = 0;
    return t;
}

void cli_table_add(cli_table *t, const char *const *cells)
{
    if (!t)
        return;
    size_t row = t->cells ? t->n_rows + 1 : 0;
    char **c = realloc(t->cells, (row + 1) * t->n_cols * sizeof *c);
    if (!c)
        return;
    t->cells = c;
    for (size_t i = 0; i < t->n_cols; i++)
        c[row * t->n_cols + i] = strdup(cells[i] ? cells[i] : "");
    if (row > 0)
        t->n_rows++;
}

void cli_table_print(const cli_table *t, FILE *f)
{
    if (!t || !t->cells)
        return;
    size_t *w = calloc(t->n_cols, sizeof *w);
    if (!w)
        return;
    for (size_t r = 0; r <= t->n_rows; r++)
        for (size_t i = 0; i < t->n_cols; i++) {
            size_t n = strlen(t->cells[r * t->n_cols + i]);
            if (n > w[i])
                w[i] = n;
        }
    for (size_t r = 0; r <= t->n_rows; r++) {
        char *const *row = t->cells + r * t->n_cols;
        size_t last = t->n_cols; /* no padding after the last non-empty cell */
        while (last > 1 && !row[last - 1][0])
            last--;
        for (size_t i = 0; i < last; i++) {
            if (i + 1 < last)
                fprintf(f, "%-*s   ", (int)w[i], row[i]);
            else
                fputs(row[i], f);
        }
        fputc('\n', f);
    }
    free(w);
}

void cli_table_free(cli_table *t)
{
    if (!t)
        return;
    if (t->cells)
        for (size_t i = 0; i < (t->n_rows + 1) * t->n_cols; i++)
            free(t->cells[i]);
    free(t->cells);
    free(t);
}

void cli_print_json(FILE *f, const json_t *value)
{
    json_dumpf(value, f, JSON_INDENT(2) | JSON_ENCODE_ANY);
    fputc('\n', f);
}

/* A growing string. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = realloc(b->s, cap);
        if (!p)
            return;
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

static void format_into(sbuf *b, const json_t *v, int depth)
{
    if (!v || json_is_null(v))
        return;
    if (json_is_string(v)) {
        sb_add(b, json_string_value(v));
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        if (depth > 0)
            sb_add(b, "[");
        json_array_foreach(v, i, e)
        {
            if (i)
                sb_add(b, ",");
            format_into(b, e, depth + 1);
        }
        if (depth > 0)
            sb_add(b, "]");
    } else if (json_is_object(v)) {
        const char *k;
        json_t *e;
        bool first = true;
        json_object_foreach((json_t *)v, k, e)
        {
            if (!first)
                sb_add(b, ",");
            first = false;
            sb_add(b, k);
            sb_add(b, "=");
            format_into(b, e, depth + 1);
        }
    } else {
        char *t = json_dumps(v, JSON_ENCODE_ANY);
        if (t)
            sb_add(b, t);
        free(t);
    }
}

char *cli_format_value(const json_t *value)
{
    sbuf b = {NULL, 0, 0};
    sb_add(&b, "");
    format_into(&b, value, 0);
    return b.s;
}

/* One scalar or array-of-scalars value on a line: arrays as [a, b]. */
static char *inline_value(const json_t *v)
{
    if (!json_is_array(v))
        return cli_format_value(v);
    sbuf b = {NULL, 0, 0};
    sb_add(&b, "[");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (i)
            sb_add(&b, ", ");
        format_into(&b, e, 1);
    }
    sb_add(&b, "]");
    return b.s;
}

static bool is_nested(const json_t *v)
{
    if (json_is_object(v))
        return json_object_size(v) > 0;
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) if (json_is_object(e) || json_is_array(e)) return true;
    }
    return false;
}

static void print_tree(FILE *f, const json_t *v, int indent);

static void print_entry(FILE *f, const char *key, const json_t *v, int indent)
{
    if (is_nested(v)) {
        fprintf(f, "%*s%s:\n", indent, "", key);
        print_tree(f, v, indent + 2);
        return;
    }
    char *text = json_is_object(v) ? strdup("{}") : inline_value(v);
    if (text && strchr(text, '\n')) {
        fprintf(f, "%*s%s:\n", indent, "", key);
        for (const char *line = text; *line;) {
            size_t n = strcspn(line, "\n");
            if (n)
                fprintf(f, "%*s%.*s\n", indent + 4, "", (int)n, line);
            line += n + (line[n] == '\n');
        }
    } else {
        fprintf(f, "%*s%s: %s\n", indent, "", key, text ? text : "");
    }
    free(text);
}

static void print_tree(FILE *f, const json_t *v, int indent)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e) print_entry(f, k, e, indent);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            char key[32];
            snprintf(key, sizeof key, "[%zu]", i);
            print_entry(f, key, e, indent);
        }
    }
}

void cli_print_fields(FILE *f, const json_t *obj)
{
    print_tree(f, obj, 0);
}
