/* Memory of a process, from /proc/PID/status, to report the broker's cost
 * per connection. */
#ifndef LG_MEM_H
#define LG_MEM_H

#include <sys/types.h>

/* Kilobytes, as the kernel counts them: rss = anon + file + shmem. */
typedef struct lg_mem {
    long rss_kb;  /* VmRSS: resident */
    long anon_kb; /* RssAnon: resident private anonymous memory (heap, stacks, anonymous mmaps) */
    long hwm_kb;  /* VmHWM: the peak of VmRSS */
} lg_mem;

/* 0, or -1 (fields -1) if the process is gone or the file cannot be read. */
int lg_mem_read(pid_t pid, lg_mem *out);

#endif
