/* resource_validate for CA certificates: exactly one PEM X.509 certificate,
 * validity period returned as issueTimeInUtc / expiryTimeInUtc. The
 * certificates are made here with fixed validity periods. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "validate_test_util.h"

#define CA KIND_CA_CERTIFICATE
#define EC "properties.encodedCertificate"

static EVP_PKEY *key;
static char *cert_pem;  /* 2025-01-02T03:04:05Z .. 2035-01-02T03:04:05Z (UTCTime) */
static char *cert2_pem; /* 2049-12-31T23:59:59Z .. 2051-06-30T12:00:00Z (UTCTime, then GeneralizedTime) */
static char *key_pem;

static char *bio_string(BIO *bio)
{
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    char *s = malloc((size_t)len + 1);
    memcpy(s, data, (size_t)len);
    s[len] = '\0';
    return s;
}

static char *make_cert(const char *cn, const char *not_before, const char *not_after)
{
    X509 *cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(cert, name);
    assert_int_equal(ASN1_TIME_set_string_X509(X509_getm_notBefore(cert), not_before), 1);
    assert_int_equal(ASN1_TIME_set_string_X509(X509_getm_notAfter(cert), not_after), 1);
    X509_set_pubkey(cert, key);
    assert_true(X509_sign(cert, key, EVP_sha256()) > 0);
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char *pem = bio_string(bio);
    BIO_free(bio);
    X509_free(cert);
    return pem;
}

static int setup(void **state)
{
    (void)state;
    key = EVP_EC_gen("P-256");
    if (!key)
        return -1;
    cert_pem = make_cert("dev-ca", "20250102030405Z", "20350102030405Z");
    cert2_pem = make_cert("other-ca", "20491231235959Z", "20510630120000Z");
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
    key_pem = bio_string(bio);
    BIO_free(bio);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(cert_pem);
    free(cert2_pem);
    free(key_pem);
    EVP_PKEY_free(key);
    return 0;
}

static json_t *body_with(const char *pem)
{
    return json_pack("{s:{s:s}}", "properties", "encodedCertificate", pem);
}

static json_t *valid_pem(const char *file, int line, const char *pem)
{
    json_t *body = body_with(pem);
    json_t *out = valid_json_at(file, line, CA, "dev-ca", body, NULL, NULL);
    json_decref(body);
    return out;
}
#define VALID_PEM(pem) valid_pem(__FILE__, __LINE__, (pem))

static void invalid_pem(const char *file, int line, const char *pem, const char *substring)
{
    json_t *body = body_with(pem);
    invalid_json_at(file, line, CA, "dev-ca", body, NULL, NULL, "InvalidCertificate", EC, substring);
    json_decref(body);
}
#define INVALID_PEM(pem, substring) invalid_pem(__FILE__, __LINE__, (pem), (substring))

/* Two strings joined (caller frees). */
static char *cat(const char *a, const char *b)
{
    char *s = malloc(strlen(a) + strlen(b) + 1);
    strcpy(s, a);
    strcat(s, b);
    return s;
}

static const char *prop(const json_t *out, const char *key)
{
    return json_string_value(json_object_get(json_object_get(out, "properties"), key));
}

static void test_valid_certificate(void **state)
{
    (void)state;
    json_t *out = VALID_PEM(cert_pem);
    assert_string_equal(prop(out, "encodedCertificate"), cert_pem);
    assert_string_equal(prop(out, "issueTimeInUtc"), "2025-01-02T03:04:05Z");
    assert_string_equal(prop(out, "expiryTimeInUtc"), "2035-01-02T03:04:05Z");
    assert_int_equal(json_object_size(json_object_get(out, "properties")), 3);
    json_decref(out);
    out = VALID_PEM(cert2_pem);
    assert_string_equal(prop(out, "issueTimeInUtc"), "2049-12-31T23:59:59Z");
    assert_string_equal(prop(out, "expiryTimeInUtc"), "2051-06-30T12:00:00Z");
    json_decref(out);
}

/* Whitespace around the block is fine; the END line need not end the line. */
static void test_whitespace_and_readonly(void **state)
{
    (void)state;
    char *padded = cat("\n  \r\n\t", cert_pem);
    char *padded2 = cat(padded, "\n\n  \n");
    json_decref(VALID_PEM(padded2));
    char *no_newline = strdup(cert_pem);
    no_newline[strlen(no_newline) - 1] = '\0';
    json_decref(VALID_PEM(no_newline));
    free(padded);
    free(padded2);
    free(no_newline);
    /* read-only fields are recomputed, whatever was sent */
    json_t *body =
        json_pack("{s:s, s:{s:s, s:s, s:i, s:s, s:s}}", "name", "dev-ca", "properties", "encodedCertificate",
                  cert_pem, "issueTimeInUtc", "1999-01-01T00:00:00Z", "expiryTimeInUtc", 5,
                  "provisioningState", "Succeeded", "description", "the dev CA");
    json_t *out = valid_json_at(__FILE__, __LINE__, CA, "dev-ca", body, NULL, NULL);
    assert_string_equal(prop(out, "issueTimeInUtc"), "2025-01-02T03:04:05Z");
    assert_string_equal(prop(out, "expiryTimeInUtc"), "2035-01-02T03:04:05Z");
    assert_string_equal(prop(out, "description"), "the dev CA");
    json_decref(out);
    json_decref(body);
}

static void test_not_one_certificate(void **state)
{
    (void)state;
    INVALID_PEM("", "must be a PEM certificate beginning with -----BEGIN CERTIFICATE-----");
    INVALID_PEM("hello", "must be a PEM certificate beginning with -----BEGIN CERTIFICATE-----");
    INVALID_PEM(key_pem, "beginning with -----BEGIN CERTIFICATE-----");
    /* text before the block (as `openssl x509 -text` writes) */
    char *leading = cat("Certificate:\n", cert_pem);
    INVALID_PEM(leading, "beginning with -----BEGIN CERTIFICATE-----");
    free(leading);
    char *two = cat(cert_pem, cert2_pem);
    INVALID_PEM(two, "holds more than one PEM block");
    free(two);
    char *with_key = cat(cert_pem, key_pem);
    INVALID_PEM(with_key, "holds more than one PEM block");
    free(with_key);
    char *trailing = cat(cert_pem, "garbage\n");
    INVALID_PEM(trailing, "has text after the END CERTIFICATE line");
    free(trailing);
    /* A well-formed PEM block around bytes that are no certificate. */
    INVALID_PEM("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "does not hold a valid X.509");
    INVALID_PEM("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", "");
    /* Broken base64, or no END line. */
    char *broken = strdup(cert_pem);
    broken[40] = '*';
    INVALID_PEM(broken, "");
    free(broken);
    char *truncated = strdup(cert_pem);
    truncated[strlen(truncated) / 2] = '\0';
    INVALID_PEM(truncated, "is not valid PEM");
    free(truncated);
    /* A certificate with extra DER bytes after it inside the block. */
    X509 *x = NULL;
    BIO *in = BIO_new_mem_buf(cert_pem, -1);
    x = PEM_read_bio_X509(in, NULL, NULL, NULL);
    BIO_free(in);
    unsigned char *der = NULL;
    int der_len = i2d_X509(x, &der);
    unsigned char *padded = malloc((size_t)der_len + 2);
    memcpy(padded, der, (size_t)der_len);
    padded[der_len] = 0x05;
    padded[der_len + 1] = 0x00; /* an ASN.1 NULL */
    BIO *out = BIO_new(BIO_s_mem());
    PEM_write_bio(out, "CERTIFICATE", "", padded, der_len + 2);
    char *extra = bio_string(out);
    INVALID_PEM(extra, "does not hold a valid X.509 certificate");
    BIO_free(out);
    free(extra);
    free(padded);
    OPENSSL_free(der);
    X509_free(x);
    /* PEM headers (an encrypted block) are refused rather than decrypted. */
    const char *begin = "-----BEGIN CERTIFICATE-----\n";
    char *with_headers = malloc(strlen(cert_pem) + 100);
    sprintf(with_headers,
            "%sProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n%s", begin,
            cert_pem + strlen(begin));
    INVALID_PEM(with_headers, "");
    free(with_headers);
}

static void test_encoded_certificate_field(void **state)
{
    (void)state;
    INVALID(CA, "dev-ca", "{}", NULL, "InvalidProperty", EC, EC " is required");
    INVALID(CA, "dev-ca", "{'properties': {'encodedCertificate': 7}}", NULL, "InvalidProperty", EC,
            EC " must be a string, not an integer");
    INVALID(CA, "dev-ca", "{'properties': {'encodedCertificate': 'x', 'thumbprint': 'y'}}", NULL,
            "UnknownField", "properties.thumbprint", "not a known field");
    json_t *body = json_pack("{s:{s:s, s:[]}}", "properties", "encodedCertificate", cert_pem, "description");
    invalid_json_at(__FILE__, __LINE__, CA, "dev-ca", body, NULL, NULL, "InvalidProperty",
                    "properties.description", "must be a string");
    json_decref(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_certificate),
        cmocka_unit_test(test_whitespace_and_readonly),
        cmocka_unit_test(test_not_one_certificate),
        cmocka_unit_test(test_encoded_certificate_field),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
