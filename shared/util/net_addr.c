#include "net_addr.h"

#include <arpa/inet.h>
#include <string.h>

bool net_addr_is_loopback(const char *addr)
{
    struct in_addr a4;
    if (inet_pton(AF_INET, addr, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return strcmp(addr, "::1") == 0 || strcmp(addr, "localhost") == 0;
}
