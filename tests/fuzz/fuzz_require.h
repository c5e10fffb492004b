/* Oracle checks for the fuzz targets. A failed check names the broken rule
 * on stderr before aborting, so that both libFuzzer's crash log and a replay
 * say which invariant failed, not only where. */
#ifndef EG_FUZZ_REQUIRE_H
#define EG_FUZZ_REQUIRE_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_REQUIRE(cond, why)                                                                              \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "%s:%d: invariant broken: %s (%s)\n", __FILE__, __LINE__, (why), #cond);         \
            abort();                                                                                         \
        }                                                                                                    \
    } while (0)

#endif
