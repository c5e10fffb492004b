/* egctl cert: a CA and device certificates without openssl's flags (OpenSSL library).
 *   create-ca --out DIR [--subject CN] [--days N]          DIR/ca.pem, DIR/ca.key
 *   issue --ca CA.pem --ca-key CA.key --subject CN [--dns NAME]... [--ip ADDR]...
 *         [--uri URI]... [--email ADDR]... [--server] [--name BASE] [--days N] --out DIR
 *                                                         DIR/BASE.pem, DIR/BASE.key
 *   thumbprint FILE.pem                                   SHA-256 of the DER, upper-case hex
 * Keys are EC P-256 (PKCS#8 PEM, mode 0600); serials are random. */
#ifndef EG_CLI_CERT_H
#define EG_CLI_CERT_H

#include "cli_args.h"

/* Runs `egctl cert ARGS...` (args start at the sub-command). Returns the exit code. */
int cli_cert_main(int argc, char **argv, cli_globals *g);

#endif
