/* Memory of a process from /proc/PID/status. */
#include "loadgen_mem.h"

#include <stdio.h>
#include <string.h>

int lg_mem_read(pid_t pid, lg_mem *out)
{
    out->rss_kb = out->anon_kb = out->hwm_kb = -1;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        long v;
        if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
            out->rss_kb = v;
        else if (sscanf(line, "RssAnon: %ld kB", &v) == 1)
            out->anon_kb = v;
        else if (sscanf(line, "VmHWM: %ld kB", &v) == 1)
            out->hwm_kb = v;
    }
    fclose(f);
    return out->rss_kb >= 0 ? 0 : -1;
}
