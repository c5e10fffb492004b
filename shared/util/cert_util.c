/* Certificate helpers: see cert_util.h. */
#include "cert_util.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"

const char pem_cert_extra_block[] = "holds more than one PEM block; give exactly one certificate";
const char pem_cert_extra_text[] = "has text after the END CERTIFICATE line";

static bool space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool only_space(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!space(s[i]))
            return false;
    return true;
}

X509 *pem_read_one_certificate(const char *text, size_t len, const char **why)
{
    size_t lead = 0;
    while (lead < len && space(text[lead]))
        lead++;
    if (len - lead < strlen(PEM_BEGIN) || memcmp(text + lead, PEM_BEGIN, strlen(PEM_BEGIN)) != 0) {
        *why = "must be a PEM certificate beginning with " PEM_BEGIN;
        return NULL;
    }
    if (len - lead > INT_MAX) {
        *why = "is too long";
        return NULL;
    }
    /* From the BEGIN line on: PEM wants it at a line start. */
    BIO *bio = BIO_new_mem_buf(text + lead, (int)(len - lead));
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long der_len = 0;
    X509 *cert = NULL;
    *why = NULL;
    if (!bio) {
        /* out of memory: *why stays NULL */
    } else if (!PEM_read_bio(bio, &name, &header, &der, &der_len)) {
        *why = "is not valid PEM: the base64 text or the END line is broken";
    } else if (strcmp(name, "CERTIFICATE") != 0 || (header && *header)) {
        *why = "must be a plain PEM CERTIFICATE block, without headers";
    } else {
        const unsigned char *p = der;
        cert = d2i_X509(NULL, &p, der_len);
        char *rest;
        long rest_len = BIO_get_mem_data(bio, &rest);
        if (!cert || p != der + der_len)
            *why = "does not hold a valid X.509 certificate (DER decoding failed)";
        else if (rest_len > 0 && !only_space(rest, (size_t)rest_len))
            *why =
                memmem(rest, (size_t)rest_len, "-----BEGIN", 10) ? pem_cert_extra_block : pem_cert_extra_text;
        if (*why) {
            X509_free(cert);
            cert = NULL;
        }
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(bio);
    ERR_clear_error(); /* leave no failure behind for the next OpenSSL user of this thread */
    return cert;
}

void cert_thumbprint(X509 *cert, char out[CERT_THUMBPRINT_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    out[0] = '\0';
    if (X509_digest(cert, EVP_sha256(), md, &n) != 1 || n * 2 != CERT_THUMBPRINT_LEN)
        return;
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02X", md[i]);
}
