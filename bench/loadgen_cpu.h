/* CPU time, to tell who was busy during a measurement: the generator, the
 * broker, or something else on the machine. All in seconds of CPU. */
#ifndef LG_CPU_H
#define LG_CPU_H

#include <sys/types.h>

/* This process, all threads. */
double lg_cpu_self(void);
/* Another process (user + system), from /proc; -1 if it cannot be read. */
double lg_cpu_process(pid_t pid);
/* All CPUs of the machine, from /proc/stat: time spent running something
 * (user, system, interrupts), and time the hypervisor gave to others (steal). */
typedef struct lg_cpu_machine {
    double busy, steal;
} lg_cpu_machine;

/* -1 if /proc/stat cannot be read. */
int lg_cpu_machine_read(lg_cpu_machine *out);

#endif
