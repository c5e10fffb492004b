/* CA certificates: encodedCertificate must be exactly one PEM X.509 certificate
 * (whitespace around it allowed, nothing else); its validity period is
 * returned as issueTimeInUtc and expiryTimeInUtc. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "json_check.h"

#define CERT "properties.encodedCertificate"
#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"

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

/* "YYYY-MM-DDTHH:MM:SSZ" */
static bool utc_string(const ASN1_TIME *t, char out[32])
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return false;
    return strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0;
}

/* Decodes the DER of the one PEM block that must make up the text. */
static X509 *read_certificate(const char *pem, size_t len, api_error *err)
{
    size_t lead = 0;
    while (lead < len && space(pem[lead]))
        lead++;
    if (len - lead < strlen(PEM_BEGIN) || memcmp(pem + lead, PEM_BEGIN, strlen(PEM_BEGIN)) != 0) {
        jc_fail(err, "InvalidCertificate", CERT, "%s must be a PEM certificate beginning with %s", CERT,
                PEM_BEGIN);
        return NULL;
    }
    if (len > INT_MAX) {
        jc_fail(err, "InvalidCertificate", CERT, "%s is too long", CERT);
        return NULL;
    }
    BIO *bio = BIO_new_mem_buf(pem + lead, (int)(len - lead)); /* PEM wants BEGIN at a line start */
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long der_len = 0;
    X509 *cert = NULL;
    if (!bio) {
        jc_oom(err);
        goto out;
    }
    if (!PEM_read_bio(bio, &name, &header, &der, &der_len)) {
        jc_fail(err, "InvalidCertificate", CERT,
                "%s is not valid PEM: the base64 text or the END line is broken", CERT);
        goto out;
    }
    if (strcmp(name, "CERTIFICATE") != 0 || (header && *header)) {
        jc_fail(err, "InvalidCertificate", CERT, "%s must be a plain PEM CERTIFICATE block, without headers",
                CERT);
        goto out;
    }
    const unsigned char *p = der;
    cert = d2i_X509(NULL, &p, der_len);
    if (!cert || p != der + der_len) {
        jc_fail(err, "InvalidCertificate", CERT,
                "%s does not hold a valid X.509 certificate (DER decoding failed)", CERT);
        X509_free(cert);
        cert = NULL;
        goto out;
    }
    char *rest;
    long rest_len = BIO_get_mem_data(bio, &rest);
    if (rest_len > 0 && !only_space(rest, (size_t)rest_len)) {
        if (memmem(rest, (size_t)rest_len, "-----BEGIN", 10))
            jc_fail(err, "InvalidCertificate", CERT,
                    "%s holds more than one PEM block; give exactly one certificate", CERT);
        else
            jc_fail(err, "InvalidCertificate", CERT, "%s has text after the END CERTIFICATE line", CERT);
        X509_free(cert);
        cert = NULL;
    }
out:
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(bio);
    ERR_clear_error(); /* leave no failure behind for the next OpenSSL user of this thread */
    return cert;
}

json_t *validate_ca_certificate_props(const json_t *props, const vctx *ctx)
{
    static const char *const known[] = {"encodedCertificate", "description", NULL};
    static const char *const readonly[] = {"provisioningState", "issueTimeInUtc", "expiryTimeInUtc", NULL};
    api_error *err = ctx->err;
    const char *pem;
    size_t len;
    if (!jc_known_fields(props, "properties", known, readonly, err) ||
        !jc_string(props, "properties", "encodedCertificate", true, &pem, &len, err))
        return NULL;
    X509 *cert = read_certificate(pem, len, err);
    if (!cert)
        return NULL;
    char issued[32], expires[32];
    bool times =
        utc_string(X509_get0_notBefore(cert), issued) && utc_string(X509_get0_notAfter(cert), expires);
    X509_free(cert);
    ERR_clear_error();
    if (!times) {
        jc_fail(err, "InvalidCertificate", CERT, "%s has a validity period that cannot be read", CERT);
        return NULL;
    }
    json_t *out = json_object();
    if (!jc_set(out, "encodedCertificate", json_stringn(pem, len), err) ||
        !jc_set(out, "issueTimeInUtc", json_string(issued), err) ||
        !jc_set(out, "expiryTimeInUtc", json_string(expires), err) ||
        !jc_description(props, "properties", out, err)) {
        json_decref(out);
        return NULL;
    }
    return out;
}
