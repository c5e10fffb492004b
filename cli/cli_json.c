/* egctl JSON path and file helpers. */
#include "cli_json.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_args.h"
#include "file_util.h"

json_t *cli_json_get_path(const json_t *root, const char *path)
{
    const json_t *cur = root;
    char key[256];
    while (cur && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        cur = json_object_get(cur, key);
        path += n;
        if (*path == '.')
            path++;
    }
    return (json_t *)cur;
}

int cli_json_set_path(json_t *root, const char *path, json_t *value)
{
    json_t *cur = root;
    char key[256];
    for (;;) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof key || !json_is_object(cur)) {
            json_decref(value);
            return -1;
        }
        memcpy(key, path, n);
        key[n] = '\0';
        if (path[n] == '\0')
            return json_object_set_new(cur, key, value);
        json_t *next = json_object_get(cur, key);
        if (!next) {
            next = json_object();
            json_object_set_new(cur, key, next);
        }
        cur = next;
        path += n + 1;
    }
}

void cli_json_del_path(json_t *root, const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot) {
        json_object_del(root, path);
        return;
    }
    char parent[256];
    size_t n = (size_t)(dot - path);
    if (n >= sizeof parent)
        return;
    memcpy(parent, path, n);
    parent[n] = '\0';
    json_t *obj = cli_json_get_path(root, parent);
    if (json_is_object(obj))
        json_object_del(obj, dot + 1);
}

char *cli_read_file(const char *path, size_t *len)
{
    char *data = strcmp(path, "-") == 0 ? file_read_stream(stdin, len) : file_read_all(path, len);
    if (!data)
        cli_error("cannot read %s: %s", path, strerror(errno));
    return data;
}

json_t *cli_json_load_object(const char *path)
{
    size_t len;
    char *text = cli_read_file(path, &len);
    if (!text)
        return NULL;
    json_error_t e;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
    free(text);
    const char *shown = strcmp(path, "-") == 0 ? "standard input" : path;
    if (!j) {
        cli_error("%s:%d:%d: not JSON: %s", shown, e.line, e.column, e.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        cli_error("%s: expected a JSON object", shown);
        return NULL;
    }
    return j;
}

int cli_json_write_file(const char *path, const json_t *value)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        cli_error("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = json_dumpf(value, f, JSON_INDENT(2)) == 0 && fputc('\n', f) != EOF ? 0 : -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc < 0)
        cli_error("cannot write %s: %s", path, strerror(errno));
    return rc;
}

int cli_mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}
