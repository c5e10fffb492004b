/* X.509 certificate helpers shared by the broker, the control plane and egctl. */
#ifndef EG_CERT_UTIL_H
#define EG_CERT_UTIL_H

#include <stddef.h>

#include <openssl/x509.h>

#define CERT_THUMBPRINT_LEN 64 /* hex digits of a SHA-256 digest */

/* SHA-256 of the DER certificate in upper-case hex, as Event Grid shows it;
 * "" if it cannot be computed. */
void cert_thumbprint(X509 *cert, char out[CERT_THUMBPRINT_LEN + 1]);

/* Reading a certificate given as PEM text (a CA certificate resource's
 * encodedCertificate), by the one rule that egcontrol validates with and the
 * broker re-checks snapshots with, so that what the first accepts the second
 * loads. The text must be exactly one PEM CERTIFICATE block without headers, whose
 * DER is one whole X.509 certificate; white space around the block is allowed,
 * nothing else. Returns the certificate (the caller frees it with X509_free),
 * or NULL with *why set to the reason, a static string to follow the name of
 * the item ("is not valid PEM: ..."), or to NULL when memory ran out. Leaves
 * no OpenSSL error behind. */
X509 *pem_read_one_certificate(const char *text, size_t len, const char **why);

/* The reasons for a whole certificate followed by another PEM block, or by
 * other text: *why is one of these two then, for callers that word it their own way. */
extern const char pem_cert_extra_block[];
extern const char pem_cert_extra_text[];

#endif
