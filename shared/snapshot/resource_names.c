/* Resource enumerations and name rules: see resource_names.h. */
#include "snapshot/resource_names.h"

const char *const ns_state_names[] = {"Enabled", "Disabled", NULL};

const char *const ns_validation_scheme_names[] = {"SubjectMatchesAuthenticationName",
                                                  "DnsMatchesAuthenticationName",
                                                  "UriMatchesAuthenticationName",
                                                  "IpMatchesAuthenticationName",
                                                  "EmailMatchesAuthenticationName",
                                                  "ThumbprintMatch",
                                                  NULL};

const char *const ns_name_source_names[] = {"ClientCertificateSubject", "ClientCertificateDns",
                                            "ClientCertificateUri",     "ClientCertificateIp",
                                            "ClientCertificateEmail",   NULL};

size_t ns_hex_upper(const char *s, size_t len, char *out)
{
    size_t i;
    for (i = 0; i < len; i++) {
        char ch = s[i];
        if (ch >= 'a' && ch <= 'f')
            ch = (char)(ch - 'a' + 'A');
        else if (!((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F')))
            break;
        out[i] = ch;
    }
    out[i] = '\0';
    return i;
}

bool ns_attribute_key_valid(const char *key, size_t len)
{
    if (len < 1 || len > NS_ATTRIBUTE_KEY_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = key[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return false;
    }
    return true;
}
