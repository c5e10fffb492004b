/* egctl: the command-line tool. It is issue 7; until it
 * lands this binary only reports that, so that `make` and `make run` are honest. */
#include <stdio.h>
#include <string.h>

#include "log.h"

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: egctl [global flags] RESOURCE VERB [args]\n");
            return 0;
        }
    }
    log_msg(LOG_ERROR, "egctl", "not built yet: the CLI is a later issue");
    return 1;
}
