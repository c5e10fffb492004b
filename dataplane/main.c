/* egbroker: the MQTT broker (data plane). The broker core is issue 3; until it
 * lands this binary only reports that, so that `make` and `make run` are honest. */
#include <stdio.h>
#include <string.h>

#include "log.h"

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: egbroker [-p PORT] [--config FILE]\n");
            return 0;
        }
    }
    log_msg(LOG_ERROR, "egbroker", "not built yet: the broker core is the next issue");
    return 1;
}
