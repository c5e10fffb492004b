/* CA certificates: encodedCertificate must be exactly one PEM X.509 certificate
 * (whitespace around it allowed, nothing else); its validity period is
 * returned as issueTimeInUtc and expiryTimeInUtc. */
#include <stdio.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "cert_util.h"
#include "json_check.h"

#define CERT "properties.encodedCertificate"

/* "YYYY-MM-DDTHH:MM:SSZ" */
static bool utc_string(const ASN1_TIME *t, char out[32])
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return false;
    return strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0;
}

/* The one PEM certificate the text must be. */
static X509 *read_certificate(const char *pem, size_t len, api_error *err)
{
    const char *why;
    X509 *cert = pem_read_one_certificate(pem, len, &why);
    if (!cert && why)
        jc_fail(err, "InvalidCertificate", CERT, "%s %s", CERT, why);
    else if (!cert)
        jc_oom(err);
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
