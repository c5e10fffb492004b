/* Small address helpers shared by the broker and the control plane. */
#ifndef EG_NET_ADDR_H
#define EG_NET_ADDR_H

#include <stdbool.h>

/* True for 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach. */
bool net_addr_is_loopback(const char *addr);

#endif
