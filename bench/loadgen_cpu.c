/* CPU time of this process, of another one, and of the whole machine. */
#include "loadgen_cpu.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static double tick_seconds(void)
{
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? 1.0 / (double)hz : 0.01;
}

double lg_cpu_self(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

double lg_cpu_process(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    /* The command name may hold spaces and parentheses: fields are counted
     * from the last ')', which ends it. utime and stime are fields 14 and 15. */
    const char *p = strrchr(line, ')');
    unsigned long long utime, stime;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) * tick_seconds();
}

int lg_cpu_machine_read(lg_cpu_machine *out)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    unsigned long long user, nice, sys, idle, iowait, irq, softirq, steal = 0;
    int got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle, &iowait,
                     &irq, &softirq, &steal);
    fclose(f);
    if (got < 7)
        return -1;
    out->busy = (double)(user + nice + sys + irq + softirq) * tick_seconds();
    out->steal = (double)steal * tick_seconds();
    return 0;
}
