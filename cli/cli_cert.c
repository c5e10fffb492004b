/* egctl cert: create-ca, issue and thumbprint with the OpenSSL library. */
#include "cli_cert.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cert_util.h"
#include "cli_config.h"
#include "cli_json.h"
#include "cli_output.h"

/* "egctl: WHAT: the OpenSSL reason"; returns CLI_ERROR. */
static int ssl_error(const char *what)
{
    unsigned long e = ERR_get_error();
    char reason[256] = "unknown error";
    if (e)
        ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    return cli_error("%s: %s", what, reason);
}

/* path opened for reading; NULL after printing why. */
static FILE *open_input(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        cli_error("cannot read %s: %s", path, strerror(errno));
    return f;
}

/* The first certificate of a PEM (or DER) file; NULL after printing why. */
static X509 *read_cert(const char *path)
{
    FILE *f = open_input(path);
    if (!f)
        return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    if (!x) {
        rewind(f);
        ERR_clear_error();
        x = d2i_X509_fp(f, NULL);
    }
    fclose(f);
    if (!x)
        ssl_error(path);
    return x;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1; /* encrypted keys are refused rather than prompted for */
}

static EVP_PKEY *read_key(const char *path)
{
    FILE *f = open_input(path);
    if (!f)
        return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
    fclose(f);
    if (!k)
        ssl_error(path);
    return k;
}

/* Opens path for writing with mode; O_EXCL unless force. */
static FILE *create_file(const char *path, mode_t mode, bool force)
{
    int fd = open(path, O_WRONLY | O_CREAT | (force ? O_TRUNC : O_EXCL), mode);
    if (fd < 0) {
        if (errno == EEXIST)
            cli_error("%s exists (--force overwrites it)", path);
        else
            cli_error("cannot write %s: %s", path, strerror(errno));
        return NULL;
    }
    if (force)
        fchmod(fd, mode);
    FILE *f = fdopen(fd, "w");
    if (!f)
        close(fd);
    return f;
}

/* Writes the certificate and its key. */
static int write_pair(const char *cert_path, const char *key_path, X509 *x, EVP_PKEY *key, bool force)
{
    if (!force && (access(key_path, F_OK) == 0 || access(cert_path, F_OK) == 0))
        return cli_error("%s exists (--force overwrites it)",
                         access(key_path, F_OK) == 0 ? key_path : cert_path);
    FILE *kf = create_file(key_path, 0600, force);
    if (!kf)
        return CLI_ERROR;
    int ok = PEM_write_PrivateKey(kf, key, NULL, NULL, 0, NULL, NULL);
    if (fclose(kf) != 0 || !ok)
        return cli_error("cannot write %s", key_path);
    FILE *cf = create_file(cert_path, 0644, force);
    if (!cf)
        return CLI_ERROR;
    ok = PEM_write_X509(cf, x);
    if (fclose(cf) != 0 || !ok)
        return cli_error("cannot write %s", cert_path);
    return CLI_OK;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    int ok = ext && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* A certificate for `key` with subject CN=cn, a random positive serial, valid from 5
 * minutes ago (clock skew) for `days` days; not yet signed nor extended. */
static X509 *new_cert(EVP_PKEY *key, const char *cn, long days)
{
    X509 *x = X509_new();
    unsigned char serial[20];
    BIGNUM *bn = NULL;
    X509_NAME *name = X509_NAME_new();
    bool ok = x && name && RAND_bytes(serial, sizeof serial) == 1;
    if (ok) {
        serial[0] &= 0x7f; /* positive, at most 20 octets */
        serial[0] |= 0x01; /* and never zero */
        ok = (bn = BN_bin2bn(serial, sizeof serial, NULL)) &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) && X509_set_version(x, 2) &&
             X509_gmtime_adj(X509_getm_notBefore(x), -300) &&
             X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) &&
             X509_set_subject_name(x, name) && X509_set_pubkey(x, key);
    }
    BN_free(bn);
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* ---- the sub-commands */

enum { C_OUT, C_SUBJECT, C_DAYS, C_FORCE, C_CA, C_CA_KEY, C_DNS, C_IP, C_URI, C_EMAIL, C_SERVER, C_NAME };
static const cli_opt create_ca_opts[] = {
    {"out", 0, "DIR", false, "directory for ca.pem and ca.key (created if needed)"},
    {"subject", 0, "CN", false, "the CA's common name (default \"egctl CA\")"},
    {"days", 0, "N", false, "validity in days (default 3650)"},
    {"force", 0, NULL, false, "overwrite existing files"},
};
static const cli_opt issue_opts[] = {
    {"out", 0, "DIR", false, "directory for NAME.pem and NAME.key (created if needed)"},
    {"subject", 0, "CN", false, "the certificate's common name, e.g. the client's authentication name"},
    {"days", 0, "N", false, "validity in days (default 825)"},
    {"force", 0, NULL, false, "overwrite existing files"},
    {"ca", 0, "CA.pem", false, "the issuing CA's certificate"},
    {"ca-key", 0, "CA.key", false, "the issuing CA's private key"},
    {"dns", 0, "NAME", true, "DNS subject alternative name"},
    {"ip", 0, "ADDR", true, "IP address subject alternative name (IPv4 or IPv6)"},
    {"uri", 0, "URI", true, "URI subject alternative name"},
    {"email", 0, "ADDR", true, "email subject alternative name"},
    {"server", 0, NULL, false, "a server (broker) certificate: extendedKeyUsage serverAuth, not clientAuth"},
    {"name", 0, "BASE", false, "file name base (default: the subject)"},
};
static const cli_opt no_opts[1];

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define CREATE_CA_USAGE "cert create-ca --out DIR [--subject CN] [--days N] [--force]"
#define ISSUE_USAGE                                                                                          \
    "cert issue --ca CA.pem --ca-key CA.key --subject CN [--dns NAME]... [--ip ADDR]... [--uri URI]... "     \
    "[--email ADDR]... [--server] [--name BASE] [--days N] --out DIR"
#define THUMBPRINT_USAGE "cert thumbprint FILE.pem"
#define CERT_USAGE "cert create-ca|issue|thumbprint [flags]  (egctl cert --help)"

static int get_days(const cli_args *a, long dflt, const char *usage, const cli_opt *opts, size_t n,
                    long *days)
{
    const char *v = cli_args_get(a, C_DAYS);
    long long d = dflt;
    if (v && (!cli_parse_int(v, &d) || d < 1 || d > 36500))
        return cli_usage_error(usage, opts, n, "--days needs a number of days from 1 to 36500, not '%s'", v);
    *days = (long)d;
    return CLI_OK;
}

static void print_result(const cli_ctx *ctx, const char *cert_path, const char *key_path, X509 *x)
{
    char tp[CERT_THUMBPRINT_LEN + 1];
    cert_thumbprint(x, tp);
    if (ctx->output == CLI_OUT_JSON) {
        json_t *j = json_pack("{s:s, s:s, s:s}", "certificate", cert_path, "key", key_path, "thumbprint", tp);
        cli_print_json(stdout, j);
        json_decref(j);
    } else {
        printf("certificate %s\nkey         %s\nthumbprint  %s\n", cert_path, key_path, tp);
    }
}

static int create_ca(const cli_ctx *ctx, const cli_args *a)
{
    long days;
    int rc = get_days(a, 3650, CREATE_CA_USAGE, create_ca_opts, N(create_ca_opts), &days);
    if (rc != CLI_OK)
        return rc;
    const char *out = cli_args_get(a, C_OUT), *cn = cli_args_get(a, C_SUBJECT);
    if (!cn)
        cn = "egctl CA";
    if (cli_mkdir_p(out) < 0)
        return cli_error("cannot create %s: %s", out, strerror(errno));
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = key ? new_cert(key, cn, days) : NULL;
    if (!x || !X509_set_issuer_name(x, X509_get_subject_name(x)) ||
        add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
        add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature") < 0 ||
        add_ext(x, x, NID_subject_key_identifier, "hash") < 0 ||
        add_ext(x, x, NID_authority_key_identifier, "keyid:always") < 0 || !X509_sign(x, key, EVP_sha256())) {
        rc = ssl_error("cannot create the CA certificate");
    } else {
        char cert_path[PATH_MAX], key_path[PATH_MAX];
        snprintf(cert_path, sizeof cert_path, "%s/ca.pem", out);
        snprintf(key_path, sizeof key_path, "%s/ca.key", out);
        rc = write_pair(cert_path, key_path, x, key, cli_args_get(a, C_FORCE) != NULL);
        if (rc == CLI_OK)
            print_result(ctx, cert_path, key_path, x);
    }
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

/* Adds the subject alternative names of --dns, --ip, --uri and --email. */
static int add_sans(X509 *x, const cli_args *a)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    int rc = CLI_OK;
    for (size_t i = 0; i < a->n_vals && rc == CLI_OK; i++) {
        size_t opt = a->vals[i].opt;
        const char *v = a->vals[i].value;
        if (opt != C_DNS && opt != C_IP && opt != C_URI && opt != C_EMAIL)
            continue;
        GENERAL_NAME *gen = GENERAL_NAME_new();
        if (opt == C_IP) {
            ASN1_OCTET_STRING *ip = a2i_IPADDRESS(v);
            if (!ip) {
                GENERAL_NAME_free(gen);
                ERR_clear_error();
                rc = cli_usage_error(ISSUE_USAGE, issue_opts, N(issue_opts),
                                     "--ip: '%s' is not an IP address", v);
                break;
            }
            GENERAL_NAME_set0_value(gen, GEN_IPADD, ip);
        } else {
            ASN1_IA5STRING *s = ASN1_IA5STRING_new();
            ASN1_STRING_set(s, v, -1);
            GENERAL_NAME_set0_value(gen, opt == C_DNS ? GEN_DNS : opt == C_URI ? GEN_URI : GEN_EMAIL, s);
        }
        sk_GENERAL_NAME_push(gens, gen);
    }
    if (rc == CLI_OK && sk_GENERAL_NAME_num(gens) > 0 &&
        !X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT))
        rc = ssl_error("cannot add the subject alternative names");
    GENERAL_NAMES_free(gens);
    return rc;
}

static int issue(const cli_ctx *ctx, const cli_args *a)
{
    long days;
    int rc = get_days(a, 825, ISSUE_USAGE, issue_opts, N(issue_opts), &days);
    if (rc != CLI_OK)
        return rc;
    const char *out = cli_args_get(a, C_OUT), *cn = cli_args_get(a, C_SUBJECT);
    const char *base = cli_args_get(a, C_NAME) ? cli_args_get(a, C_NAME) : cn;
    if (!*base || strchr(base, '/') || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return cli_usage_error(ISSUE_USAGE, issue_opts, N(issue_opts),
                               "'%s' cannot be a file name: give --name BASE", base);
    X509 *ca = read_cert(cli_args_get(a, C_CA));
    EVP_PKEY *ca_key = ca ? read_key(cli_args_get(a, C_CA_KEY)) : NULL;
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    if (!ca || !ca_key) {
        rc = CLI_ERROR;
    } else if (X509_check_private_key(ca, ca_key) != 1) {
        ERR_clear_error();
        rc = cli_error("%s is not the key of %s", cli_args_get(a, C_CA_KEY), cli_args_get(a, C_CA));
    } else if (cli_mkdir_p(out) < 0) {
        rc = cli_error("cannot create %s: %s", out, strerror(errno));
    } else if (!(key = EVP_EC_gen("P-256")) || !(x = new_cert(key, cn, days))) {
        rc = ssl_error("cannot create the certificate");
    } else {
        bool server = cli_args_get(a, C_SERVER) != NULL;
        if (!X509_set_issuer_name(x, X509_get_subject_name(ca)) ||
            add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
            add_ext(x, ca, NID_key_usage, "critical,digitalSignature") < 0 ||
            add_ext(x, ca, NID_ext_key_usage, server ? "serverAuth" : "clientAuth") < 0 ||
            add_ext(x, ca, NID_subject_key_identifier, "hash") < 0 ||
            add_ext(x, ca, NID_authority_key_identifier, "keyid,issuer") < 0)
            rc = ssl_error("cannot create the certificate");
        if (rc == CLI_OK)
            rc = add_sans(x, a);
        if (rc == CLI_OK && !X509_sign(x, ca_key, EVP_sha256()))
            rc = ssl_error("cannot sign the certificate");
        if (rc == CLI_OK) {
            char cert_path[PATH_MAX], key_path[PATH_MAX];
            snprintf(cert_path, sizeof cert_path, "%s/%s.pem", out, base);
            snprintf(key_path, sizeof key_path, "%s/%s.key", out, base);
            rc = write_pair(cert_path, key_path, x, key, cli_args_get(a, C_FORCE) != NULL);
            if (rc == CLI_OK)
                print_result(ctx, cert_path, key_path, x);
        }
    }
    X509_free(x);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    X509_free(ca);
    return rc;
}

static int print_thumbprint(const cli_ctx *ctx, const char *path)
{
    X509 *x = read_cert(path);
    if (!x)
        return CLI_ERROR;
    char tp[CERT_THUMBPRINT_LEN + 1];
    cert_thumbprint(x, tp);
    X509_free(x);
    if (ctx->output == CLI_OUT_JSON) {
        json_t *j = json_pack("{s:s, s:s}", "file", path, "thumbprint", tp);
        cli_print_json(stdout, j);
        json_decref(j);
    } else {
        printf("%s\n", tp);
    }
    return CLI_OK;
}

static void print_cert_help(FILE *f)
{
    fprintf(f,
            "usage: egctl %s\n\nCertificates for devices and brokers without openssl's flags: EC P-256 keys "
            "(written 0600),\nrandom serials, SHA-256 signatures.\n\n",
            CERT_USAGE);
    fprintf(f, "  egctl %s\n      A self-signed CA: DIR/ca.pem and DIR/ca.key.\n", CREATE_CA_USAGE);
    cli_opts_print(f, create_ca_opts, N(create_ca_opts));
    fprintf(
        f,
        "\n  egctl %s\n      A certificate signed by the CA (extendedKeyUsage clientAuth, or serverAuth with "
        "--server):\n      DIR/BASE.pem and DIR/BASE.key.\n",
        ISSUE_USAGE);
    cli_opts_print(f, issue_opts, N(issue_opts));
    fprintf(f,
            "\n  egctl %s\n      The certificate's SHA-256 thumbprint as Event Grid shows it (upper-case hex "
            "of the DER),\n      for `egctl client create --thumbprint`.\n",
            THUMBPRINT_USAGE);
}

int cli_cert_main(int argc, char **argv, cli_globals *g)
{
    const char *sub = argc > 0 && argv[0][0] != '-' ? argv[0] : NULL;
    const cli_opt *opts = no_opts;
    size_t n = 0;
    const char *usage = CERT_USAGE;
    if (sub && strcmp(sub, "create-ca") == 0)
        opts = create_ca_opts, n = N(create_ca_opts), usage = CREATE_CA_USAGE;
    else if (sub && strcmp(sub, "issue") == 0)
        opts = issue_opts, n = N(issue_opts), usage = ISSUE_USAGE;
    else if (sub && strcmp(sub, "thumbprint") == 0)
        usage = THUMBPRINT_USAGE;
    else if (sub)
        return cli_usage_error(CERT_USAGE, NULL, 0,
                               "cert: unknown sub-command '%s' (create-ca, issue, thumbprint)", sub);
    cli_args a;
    char err[256];
    if (cli_args_parse(argc - (sub != NULL), argv + (sub != NULL), opts, n, &a, g, err, sizeof err) < 0)
        return cli_usage_error(usage, opts, n, "%s", err);
    cli_ctx ctx;
    int rc = cli_output_resolve(g, &ctx);
    if (rc != CLI_OK) {
        /* the message is printed */
    } else if (g->help || !sub) {
        if (g->help && !sub)
            print_cert_help(stdout);
        else if (g->help)
            cli_usage_print(stdout, usage, NULL, opts, n);
        else
            rc = cli_usage_error(usage, NULL, 0, "cert: missing sub-command (create-ca, issue, thumbprint)");
    } else if (opts == no_opts) {
        rc = a.n_pos == 1
                 ? print_thumbprint(&ctx, a.pos[0])
                 : cli_usage_error(usage, NULL, 0, a.n_pos ? "unexpected argument" : "missing FILE.pem");
    } else if (a.n_pos) {
        rc = cli_usage_error(usage, opts, n, "unexpected argument '%s'", a.pos[0]);
    } else if (!cli_args_get(&a, C_OUT)) {
        rc = cli_usage_error(usage, opts, n, "missing --out DIR");
    } else if (opts == issue_opts && !cli_args_get(&a, C_SUBJECT)) {
        rc = cli_usage_error(usage, opts, n, "missing --subject CN");
    } else if (opts == issue_opts && (!cli_args_get(&a, C_CA) || !cli_args_get(&a, C_CA_KEY))) {
        rc = cli_usage_error(usage, opts, n, "missing --ca CA.pem or --ca-key CA.key");
    } else {
        rc = opts == issue_opts ? issue(&ctx, &a) : create_ca(&ctx, &a);
    }
    cli_args_free(&a);
    return rc;
}
