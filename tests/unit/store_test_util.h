/* A broker over a temporary data directory, shared by the session store
 * suites (test_session_store_sqlite.c, test_enforcer_restore.c). Include
 * after cmocka.h. */
#ifndef EG_STORE_TEST_UTIL_H
#define EG_STORE_TEST_UTIL_H

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

typedef struct fixture {
    char dir[64];
    struct event_base *base;
    broker *broker;
} fixture;

/* Frees the broker (which closes the store: everything pending is committed). */
static void stop(fixture *f)
{
    broker_free(f->broker);
    event_base_free(f->base);
    f->broker = NULL;
}

/* A fresh directory per test; `pattern` ends in XXXXXX (mkdtemp). */
static int store_fixture_setup(void **state, const char *pattern)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    snprintf(f.dir, sizeof f.dir, "%s", pattern);
    assert_non_null(mkdtemp(f.dir));
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->broker)
        stop(f);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
