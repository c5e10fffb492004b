/* Client-certificate helpers: thumbprint, subject CN, subject alternative
 * names, and chain verification against a CA set. Certificates are made here
 * with OpenSSL (no files). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "tls.h"

static EVP_PKEY *new_key(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    assert_non_null(key);
    return key;
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

/* A certificate for `cn` signed by issuer/issuer_key (self-signed when NULL). */
static X509 *new_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, bool ca,
                      const char *san)
{
    static long serial = 1;
    X509 *cert = X509_new();
    assert_non_null(cert);
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
    add_ext(cert, issuer ? issuer : cert, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (ca)
        add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    if (san)
        add_ext(cert, issuer ? issuer : cert, NID_subject_alt_name, san);
    assert_true(X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    return cert;
}

typedef struct names {
    char list[512];
} names;

static void collect(void *ctx, const char *value)
{
    names *n = ctx;
    strncat(n->list, value, sizeof n->list - strlen(n->list) - 2);
    strcat(n->list, ";");
}

static void test_identity_fields(void **state)
{
    (void)state;
    EVP_PKEY *key = new_key();
    X509 *cert = new_cert("device1", key, NULL, NULL, false,
                          "DNS:device1.example,DNS:alt.example,URI:spiffe://ns/device1,IP:10.0.0.7,"
                          "IP:::1,email:device1@example.com");
    char thumbprint[CERT_THUMBPRINT_LEN + 1];
    cert_thumbprint(cert, thumbprint);
    unsigned char md[32];
    unsigned int n;
    assert_int_equal(X509_digest(cert, EVP_sha256(), md, &n), 1);
    char want[65];
    for (int i = 0; i < 32; i++)
        snprintf(want + 2 * i, 3, "%02X", md[i]);
    assert_string_equal(thumbprint, want); /* upper-case hex, no separators */

    char cn[64];
    assert_true(tls_cert_subject_cn(cert, cn, sizeof cn));
    assert_string_equal(cn, "device1");
    assert_false(tls_cert_subject_cn(cert, cn, 4)); /* does not fit: refused, not truncated */
    assert_string_equal(cn, "");

    names dns = {""}, uri = {""}, ip = {""}, email = {""};
    tls_cert_foreach_san(cert, TLS_SAN_DNS, collect, &dns);
    tls_cert_foreach_san(cert, TLS_SAN_URI, collect, &uri);
    tls_cert_foreach_san(cert, TLS_SAN_IP, collect, &ip);
    tls_cert_foreach_san(cert, TLS_SAN_EMAIL, collect, &email);
    assert_string_equal(dns.list, "device1.example;alt.example;");
    assert_string_equal(uri.list, "spiffe://ns/device1;");
    assert_string_equal(ip.list, "10.0.0.7;::1;");
    assert_string_equal(email.list, "device1@example.com;");
    X509_free(cert);
    EVP_PKEY_free(key);
}

static void test_chain_verification(void **state)
{
    (void)state;
    EVP_PKEY *ca_key = new_key(), *other_key = new_key(), *inter_key = new_key(), *leaf_key = new_key();
    X509 *ca = new_cert("test CA", ca_key, NULL, NULL, true, NULL);
    X509 *other_ca = new_cert("other CA", other_key, NULL, NULL, true, NULL);
    X509 *inter = new_cert("intermediate", inter_key, ca, ca_key, true, NULL);
    X509 *leaf = new_cert("device1", leaf_key, inter, inter_key, false, NULL);
    X509 *direct = new_cert("device2", leaf_key, ca, ca_key, false, NULL);
    X509 *self = new_cert("device3", leaf_key, NULL, NULL, false, NULL);

    X509_STORE *ours = X509_STORE_new(), *theirs = X509_STORE_new();
    X509_STORE_add_cert(ours, ca);
    X509_STORE_add_cert(theirs, other_ca);
    STACK_OF(X509) *sent = sk_X509_new_null();
    sk_X509_push(sent, inter);

    assert_true(tls_cert_chains_to(direct, NULL, ours));
    assert_true(tls_cert_chains_to(leaf, sent, ours));  /* through the intermediate the client sent */
    assert_false(tls_cert_chains_to(leaf, NULL, ours)); /* the intermediate is missing */
    assert_false(tls_cert_chains_to(direct, NULL, theirs));
    assert_false(tls_cert_chains_to(self, NULL, ours));

    sk_X509_free(sent);
    X509_STORE_free(ours);
    X509_STORE_free(theirs);
    X509 *all[] = {ca, other_ca, inter, leaf, direct, self};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        X509_free(all[i]);
    EVP_PKEY *keys[] = {ca_key, other_key, inter_key, leaf_key};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        EVP_PKEY_free(keys[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_fields),
        cmocka_unit_test(test_chain_verification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
