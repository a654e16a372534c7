/*
 * acmekit-cli: gets a certificate from an ACME CA through the C interface
 * of acmekit, the way device firmware would.
 *
 *   acmekit-cli issue --directory URL [--ca-file PEM] --email ADDR
 *                     --domain NAME [--domain NAME...] [--agree-tos]
 *                     [--http-address ADDR] [--http-port PORT] --out DIR
 *
 * DIR is the library's storage: the account under DIR/accounts (reused
 * when present), each certificate's generations under DIR/certificates.
 * DIR/certificate.key and DIR/fullchain.pem are links through DIR/current
 * to the generation in use, so a web server reads fixed paths and the key
 * and chain switch together. Keys are mode 0600, every file is replaced
 * atomically, and an interrupted run leaves the previous files whole.
 */
#define _POSIX_C_SOURCE 200809L

#include <acmekit.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_DOMAINS 100
#define MAX_KEY_FILE (64 * 1024)

enum command {
    COMMAND_ISSUE,
    COMMAND_RENEW,
    COMMAND_STATUS,
    COMMAND_ACCOUNT,
    COMMAND_REVOKE
};

struct cli_options {
    enum command command;
    const char* action; /* account register|show|update|rollover|deactivate */
    const char* eab_kid;
    const char* eab_hmac_file;
    const char* cert_file;     /* revoke: default DIR/fullchain.pem */
    int reason;                /* revoke: ACME_REVOKE_NO_REASON unless given */
    int with_cert_key;         /* revoke: sign with certificate.key */
    const char* cert_key_file; /* issue: certify this key */
    const char* csr_file;      /* issue: send this CSR */
    const char* chain_out;     /* issue --csr: where the chain goes */
    int force;                 /* renew even when not due */
    const char* profile;
    int profile_required;
    const char* preferred_chain;
    const char* webroot; /* HTTP-01 through an existing web server */
    int keep_challenge_files;
    const char* proxy;           /* --proxy URL */
    const char* proxy_auth_file; /* one line: user:password */
    acme_key_type key_type;
    acme_key_type account_key_type;
    const char* directory;
    const char* ca_file;
    const char* email;
    const char* domains[MAX_DOMAINS];
    size_t domain_count;
    const char* http_address;
    int http_port;
    const char* out_dir;
    int agree_tos;
    int verbose;
    /* DNS-01 */
    int dns01;
    const char* dns_hook;   /* --dns hook:PATH */
    const char* dns_server; /* --dns rfc2136:SERVER */
    int dns_manual;         /* --dns manual */
    const char* dns_zone;
    const char* tsig_key;
    const char* tsig_algorithm;
    const char* tsig_secret_file;
    const char* resolvers[8];
    size_t resolver_count;
    int no_propagation_check;
    unsigned dns_timeout_ms;
};

static struct timespec started;

static double elapsed(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - started.tv_sec) +
           (double)(now.tv_nsec - started.tv_nsec) / 1e9;
}

/*
 * Text that came from the server, made safe for a terminal: anything but
 * printable ASCII is shown as \xNN, so no escape sequence gets through.
 */
static const char* safe(const char* text, char* buf, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t used = 0;

    for (; text && *text && used + 5 < size; ++text) {
        unsigned char c = (unsigned char)*text;
        if (c >= 0x20 && c < 0x7f) {
            buf[used++] = (char)c;
        } else {
            buf[used++] = '\\';
            buf[used++] = 'x';
            buf[used++] = hex[c >> 4];
            buf[used++] = hex[c & 15];
        }
    }
    buf[used] = '\0';
    return buf;
}

static void step(const char* name, const char* text)
{
    char buf[1024];
    printf("[%8.3fs] %-10s %s\n", elapsed(), name, safe(text, buf, sizeof buf));
    fflush(stdout);
}

static void fail(const char* format, ...)
{
    va_list args;
    fputs("acmekit-cli: error: ", stderr);
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fputc('\n', stderr);
}

/* One line for the failure, then one per subproblem the server sent. */
static void fail_client(acme_client* client, acme_status status)
{
    const char* message = acme_client_last_error(client);
    const acme_problem* problem = acme_client_last_problem(client);
    size_t i;

    char id[256], detail[512], type[256];

    fail("%s", safe(message[0] != '\0' ? message : acme_strerror(status),
                    detail, sizeof detail));
    for (i = 0; problem && i < acme_problem_subproblem_count(problem); ++i)
        fprintf(
            stderr, "acmekit-cli:   %s: %s (%s)\n",
            safe(acme_problem_subproblem_identifier(problem, i), id, sizeof id),
            safe(acme_problem_subproblem_detail(problem, i), detail,
                 sizeof detail),
            safe(acme_problem_subproblem_type(problem, i), type, sizeof type));
}

static int progress(void* user, acme_step which, const char* text)
{
    (void)user;
    step(acme_step_name(which), text);
    return 0;
}

/* --verbose: the library's own diagnostics, which never hold secrets. */
static void log_line(void* user, acme_log_level level, const char* category,
                     const char* message)
{
    static const char* const names[] = {"error", "warning", "info", "debug"};
    (void)user;
    fprintf(stderr, "acmekit-cli: %s: %s: %s\n",
            (unsigned)level < 4 ? names[level] : "log", category, message);
}

static void usage(FILE* to)
{
    fputs("usage: acmekit-cli issue|renew [--force] --directory URL "
          "[--ca-file PEM]\n"
          "       acmekit-cli status --out DIR [--directory URL "
          "[--ca-file PEM]]\n"
          "       acmekit-cli account register|show|update|rollover|"
          "deactivate ...\n"
          "       acmekit-cli revoke --directory URL --out DIR [--cert PEM] "
          "[--reason N]\n"
          "\n"
          "issue and renew take: --domain NAME [--domain NAME...] --out DIR\n"
          "  [--email ADDR] [--agree-tos] [--http-address ADDR] "
          "[--http-port PORT]\n"
          "  [--challenge dns-01 --dns ...] [--verbose]\n"
          "\n"
          "  --directory URL      the CA's ACME directory (https://)\n"
          "  --ca-file PEM        CAs trusted for the CA's own TLS "
          "certificate\n"
          "  --email ADDR         contact address for the account\n"
          "  --domain NAME        a name for the certificate; repeatable\n"
          "  --agree-tos          agree to the CA's terms of service\n"
          "  --http-bind ADDR     where to answer HTTP-01 (default: every "
          "IPv6 and IPv4\n"
          "                       address; also --http-address)\n"
          "  --webroot DIR        HTTP-01 through the web server serving "
          "DIR instead\n"
          "  --keep-challenge-files  leave the token files in DIR\n"
          "  --http-port PORT     port the CA validates on (default 80)\n"
          "  --out DIR            where the account and certificates are "
          "kept\n"
          "  --key-type TYPE      certificate key: ec-p256 (default), "
          "ec-p384, rsa-2048,\n"
          "                       rsa-3072 or rsa-4096\n"
          "  --account-key-type TYPE  the same for a new account key\n"
          "  --cert-key FILE      certify this key (PEM) instead of a new "
          "one\n"
          "  --csr FILE           send this CSR (PEM or DER); the chain goes "
          "to\n"
          "  --chain-out FILE     this file, and no key is stored\n"
          "  --profile NAME       ask for this certificate profile\n"
          "  --profile-required   fail when the CA lacks it\n"
          "  --preferred-chain CN prefer the chain whose top issuer is CN\n"
          "  --proxy URL          reach the CA through this HTTP proxy "
          "(http://host:port)\n"
          "  --proxy-auth-file F  its credentials, one line user:password\n"
          "  --verbose            print the library's diagnostics\n"
          "\n"
          "  --eab-kid KID        external account binding key id (with "
          "--eab-hmac-file F)\n"
          "  --force              renew: renew even when not due\n"
          "  --with-certificate-key  revoke: sign with the certificate's "
          "key (DIR's own,\n"
          "                       or --cert-key FILE)\n"
          "\n"
          "  --challenge TYPE     http-01 (default) or dns-01\n"
          "  --dns hook:PATH      DNS-01 records by running PATH "
          "add|remove NAME VALUE\n"
          "  --dns rfc2136:SERVER DNS-01 records by dynamic update to "
          "SERVER[:PORT]\n"
          "  --dns manual         print each record and wait for Enter\n"
          "  --tsig-key NAME      TSIG key for rfc2136 (with "
          "--tsig-secret-file F)\n"
          "  --tsig-algorithm A   hmac-sha256 (default), hmac-sha384, "
          "hmac-sha512\n"
          "  --dns-zone ZONE      the zone to update (default: from the "
          "SOA)\n"
          "  --dns-resolver ADDR  where to check that records are visible; "
          "repeatable\n"
          "  --no-propagation-check  tell the CA without checking\n"
          "  --dns-timeout SECS   how long records may take to appear "
          "(120)\n",
          to);
}

static int parse_port(const char* text, int* port)
{
    char* end = NULL;
    long value;

    errno = 0;
    value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 1 || value > 65535)
        return -1;
    *port = (int)value;
    return 0;
}

/* issue | account ACTION | revoke; leaves optind at the first option. */
static int parse_command(int argc, char** argv, struct cli_options* opts)
{
    static const char* const actions[] = {"register", "show", "update",
                                          "rollover", "deactivate"};
    size_t i;

    if (argc < 2)
        return -1;
    optind = 2;
    if (strcmp(argv[1], "issue") == 0) {
        opts->command = COMMAND_ISSUE;
        return 0;
    }
    if (strcmp(argv[1], "revoke") == 0) {
        opts->command = COMMAND_REVOKE;
        return 0;
    }
    if (strcmp(argv[1], "renew") == 0) {
        opts->command = COMMAND_RENEW;
        return 0;
    }
    if (strcmp(argv[1], "status") == 0) {
        opts->command = COMMAND_STATUS;
        return 0;
    }
    if (strcmp(argv[1], "account") != 0 || argc < 3)
        return -1;
    for (i = 0; i < sizeof actions / sizeof actions[0]; ++i)
        if (strcmp(argv[2], actions[i]) == 0) {
            opts->command = COMMAND_ACCOUNT;
            opts->action = actions[i];
            optind = 3;
            return 0;
        }
    return -1;
}

static int parse_key_type(const char* text, acme_key_type* type)
{
    static const struct {
        const char* name;
        acme_key_type type;
    } types[] = {
        {"ec-p256", ACME_KEY_EC_P256},   {"ec-p384", ACME_KEY_EC_P384},
        {"rsa-2048", ACME_KEY_RSA_2048}, {"rsa-3072", ACME_KEY_RSA_3072},
        {"rsa-4096", ACME_KEY_RSA_4096},
    };
    size_t i;
    for (i = 0; i < sizeof types / sizeof types[0]; ++i)
        if (strcmp(text, types[i].name) == 0) {
            *type = types[i].type;
            return 0;
        }
    fail("key type: ec-p256, ec-p384, rsa-2048, rsa-3072 or rsa-4096, not "
         "%s",
         text);
    return -1;
}

static int parse_reason(const char* text, int* reason)
{
    char* end = NULL;
    long value = strtol(text, &end, 10);
    if (end == text || *end != '\0' ||
        !(value == 0 || value == 1 || (value >= 3 && value <= 5))) {
        fail("--reason: 0, 1, 3, 4 or 5 (RFC 5280), not %s", text);
        return -1;
    }
    *reason = (int)value;
    return 0;
}

/* --dns hook:PATH | rfc2136:SERVER | manual */
static int parse_dns(const char* text, struct cli_options* opts)
{
    if (strncmp(text, "hook:", 5) == 0 && text[5] != '\0')
        opts->dns_hook = text + 5;
    else if (strncmp(text, "rfc2136:", 8) == 0 && text[8] != '\0')
        opts->dns_server = text + 8;
    else if (strcmp(text, "manual") == 0)
        opts->dns_manual = 1;
    else {
        fail("--dns: hook:PATH, rfc2136:SERVER or manual, not %s", text);
        return -1;
    }
    return 0;
}

static int parse_args(int argc, char** argv, struct cli_options* opts)
{
    static const struct option long_options[] = {
        {"directory", required_argument, NULL, 'd'},
        {"ca-file", required_argument, NULL, 'c'},
        {"email", required_argument, NULL, 'e'},
        {"domain", required_argument, NULL, 'n'},
        {"http-address", required_argument, NULL, 'a'},
        {"http-port", required_argument, NULL, 'p'},
        {"out", required_argument, NULL, 'o'},
        {"agree-tos", no_argument, NULL, 't'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"challenge", required_argument, NULL, 'C'},
        {"dns", required_argument, NULL, 'D'},
        {"dns-zone", required_argument, NULL, 'Z'},
        {"tsig-key", required_argument, NULL, 'K'},
        {"tsig-algorithm", required_argument, NULL, 'A'},
        {"tsig-secret-file", required_argument, NULL, 'S'},
        {"dns-resolver", required_argument, NULL, 'R'},
        {"no-propagation-check", no_argument, NULL, 'N'},
        {"dns-timeout", required_argument, NULL, 'T'},
        {"eab-kid", required_argument, NULL, 'k'},
        {"eab-hmac-file", required_argument, NULL, 'H'},
        {"cert", required_argument, NULL, 'f'},
        {"reason", required_argument, NULL, 'r'},
        {"with-certificate-key", no_argument, NULL, 'w'},
        {"key-type", required_argument, NULL, 'y'},
        {"account-key-type", required_argument, NULL, 'Y'},
        {"cert-key", required_argument, NULL, 'P'},
        {"csr", required_argument, NULL, 'Q'},
        {"chain-out", required_argument, NULL, 'O'},
        {"force", no_argument, NULL, 'F'},
        {"profile", required_argument, NULL, 'L'},
        {"profile-required", no_argument, NULL, 'M'},
        {"preferred-chain", required_argument, NULL, 'G'},
        {"webroot", required_argument, NULL, 'W'},
        {"keep-challenge-files", no_argument, NULL, 'X'},
        {"http-bind", required_argument, NULL, 'a'},
        {"proxy", required_argument, NULL, 'x'},
        {"proxy-auth-file", required_argument, NULL, 'U'},
        {NULL, 0, NULL, 0},
    };
    int c, seconds;

    if (argc >= 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
        usage(stdout);
        return 1;
    }
    if (parse_command(argc, argv, opts) != 0) {
        usage(stderr);
        return -1;
    }
    while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (c) {
        case 'd': opts->directory = optarg; break;
        case 'c': opts->ca_file = optarg; break;
        case 'e': opts->email = optarg; break;
        case 'a': opts->http_address = optarg; break;
        case 'o': opts->out_dir = optarg; break;
        case 't': opts->agree_tos = 1; break;
        case 'v': opts->verbose = 1; break;
        case 'h': usage(stdout); return 1;
        case 'k': opts->eab_kid = optarg; break;
        case 'H': opts->eab_hmac_file = optarg; break;
        case 'f': opts->cert_file = optarg; break;
        case 'w': opts->with_cert_key = 1; break;
        case 'P': opts->cert_key_file = optarg; break;
        case 'Q': opts->csr_file = optarg; break;
        case 'O': opts->chain_out = optarg; break;
        case 'F': opts->force = 1; break;
        case 'L': opts->profile = optarg; break;
        case 'M': opts->profile_required = 1; break;
        case 'G': opts->preferred_chain = optarg; break;
        case 'W': opts->webroot = optarg; break;
        case 'X': opts->keep_challenge_files = 1; break;
        case 'x': opts->proxy = optarg; break;
        case 'U': opts->proxy_auth_file = optarg; break;
        case 'r':
            if (parse_reason(optarg, &opts->reason) != 0)
                return -1;
            break;
        case 'y':
        case 'Y':
            if (parse_key_type(optarg, c == 'y' ? &opts->key_type
                                                : &opts->account_key_type) != 0)
                return -1;
            break;
        case 'C':
            if (strcmp(optarg, "dns-01") != 0 &&
                strcmp(optarg, "http-01") != 0) {
                fail("--challenge: http-01 or dns-01, not %s", optarg);
                return -1;
            }
            opts->dns01 = strcmp(optarg, "dns-01") == 0;
            break;
        case 'D':
            if (parse_dns(optarg, opts) != 0)
                return -1;
            break;
        case 'Z': opts->dns_zone = optarg; break;
        case 'K': opts->tsig_key = optarg; break;
        case 'A': opts->tsig_algorithm = optarg; break;
        case 'S': opts->tsig_secret_file = optarg; break;
        case 'N': opts->no_propagation_check = 1; break;
        case 'R':
            if (opts->resolver_count == 8) {
                fail("at most 8 --dns-resolver options");
                return -1;
            }
            opts->resolvers[opts->resolver_count++] = optarg;
            break;
        case 'T':
            if (parse_port(optarg, &seconds) != 0) {
                fail("--dns-timeout: seconds from 1 to 65535, not %s", optarg);
                return -1;
            }
            opts->dns_timeout_ms = (unsigned)seconds * 1000u;
            break;
        case 'n':
            if (opts->domain_count == MAX_DOMAINS) {
                fail("at most %d --domain options", MAX_DOMAINS);
                return -1;
            }
            opts->domains[opts->domain_count++] = optarg;
            break;
        case 'p':
            if (parse_port(optarg, &opts->http_port) != 0) {
                fail("--http-port: not a port number: %s", optarg);
                return -1;
            }
            break;
        default: usage(stderr); return -1;
        }
    }
    if (optind != argc) {
        fail("unexpected argument: %s", argv[optind]);
        return -1;
    }
    if (opts->dns01 &&
        (!!opts->dns_hook + !!opts->dns_server + opts->dns_manual) != 1) {
        fail("--challenge dns-01 needs one --dns hook:PATH, rfc2136:SERVER "
             "or manual");
        return -1;
    }
    if (opts->dns_server && (!opts->tsig_key || !opts->tsig_secret_file)) {
        fail("--dns rfc2136: needs --tsig-key and --tsig-secret-file");
        return -1;
    }
    if (opts->tsig_algorithm && strcmp(opts->tsig_algorithm, "hmac-sha256") &&
        strcmp(opts->tsig_algorithm, "hmac-sha384") &&
        strcmp(opts->tsig_algorithm, "hmac-sha512")) {
        fail("--tsig-algorithm: hmac-sha256, hmac-sha384 or hmac-sha512, "
             "not %s",
             opts->tsig_algorithm);
        return -1;
    }
    if ((!opts->directory && opts->command != COMMAND_STATUS) ||
        !opts->out_dir ||
        ((opts->command == COMMAND_ISSUE || opts->command == COMMAND_RENEW) &&
         opts->domain_count == 0)) {
        fail("missing %s (see --help)", !opts->directory ? "--directory"
                                        : !opts->out_dir ? "--out"
                                                         : "--domain");
        return -1;
    }
    if (!opts->eab_kid != !opts->eab_hmac_file) {
        fail("--eab-kid and --eab-hmac-file go together");
        return -1;
    }
    if (!opts->csr_file != !opts->chain_out) {
        fail("--csr and --chain-out go together");
        return -1;
    }
    if (opts->csr_file && opts->cert_key_file) {
        fail("--csr and --cert-key exclude each other");
        return -1;
    }
    if (opts->csr_file && opts->command != COMMAND_ISSUE) {
        fail("--csr works with issue only");
        return -1;
    }
    return 0;
}

static char* join_path(const char* dir, const char* name)
{
    size_t length = strlen(dir) + strlen(name) + 2;
    char* path = malloc(length);
    if (path)
        snprintf(path, length, "%s/%s", dir, name);
    return path;
}

static int write_all(int fd, const char* data, size_t length)
{
    while (length > 0) {
        ssize_t written = write(fd, data, length);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return -1;
        data += written;
        length -= (size_t)written;
    }
    return 0;
}

/* A file written and synced under a temporary name, not yet in place. */
struct staged_file {
    char* temp_path;
    char* final_path;
};

static void discard(struct staged_file* staged)
{
    if (staged->temp_path)
        unlink(staged->temp_path);
    free(staged->temp_path);
    free(staged->final_path);
    staged->temp_path = staged->final_path = NULL;
}

/*
 * Writes data to a temporary file next to dir/name and syncs it. Nothing
 * visible changes until commit(): a full disk or a crash here leaves the
 * old files as they were.
 */
static int stage(struct staged_file* staged, const char* dir, const char* name,
                 const char* data, size_t length, mode_t mode)
{
    int fd, saved;

    staged->final_path = join_path(dir, name);
    staged->temp_path = join_path(dir, ".acmekit-XXXXXX");
    if (!staged->final_path || !staged->temp_path) {
        discard(staged);
        fail("out of memory");
        return -1;
    }
    fd = mkstemp(staged->temp_path);
    if (fd < 0) {
        saved = errno;
        free(staged->temp_path);
        staged->temp_path = NULL;
        discard(staged);
        fail("cannot write %s/%s: %s", dir, name, strerror(saved));
        return -1;
    }
    if (fchmod(fd, mode) != 0 || write_all(fd, data, length) != 0 ||
        fsync(fd) != 0 || close(fd) != 0) {
        saved = errno;
        close(fd);
        discard(staged);
        fail("cannot write %s/%s: %s", dir, name, strerror(saved));
        return -1;
    }
    return 0;
}

/*
 * Renames every staged file into place, then syncs the folder so that the
 * renames survive a power cut. Each rename is atomic: a reader sees the
 * old file or the new one, never a torn mix.
 */
static int commit(struct staged_file* files, size_t count, const char* dir)
{
    int dir_fd, result = 0;
    size_t i;

    for (i = 0; i < count && result == 0; ++i) {
        if (rename(files[i].temp_path, files[i].final_path) != 0) {
            fail("cannot replace %s: %s", files[i].final_path, strerror(errno));
            result = -1;
            break;
        }
        free(files[i].temp_path);
        files[i].temp_path = NULL;
    }
    for (i = 0; i < count; ++i)
        discard(&files[i]);
    if (result != 0)
        return result;

    dir_fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dir_fd < 0 || fsync(dir_fd) != 0) {
        fail("cannot sync %s: %s", dir, strerror(errno));
        result = -1;
    }
    if (dir_fd >= 0)
        close(dir_fd);
    return result;
}

/*
 * Reads a key or secret file into a NUL-terminated buffer. NULL with
 * *failed == 0 when the file does not exist.
 */
static char* read_small_file(const char* path, size_t* length, int* failed)
{
    char* data = NULL;
    struct stat info;
    int fd;

    *failed = 1;
    /* O_NONBLOCK: a FIFO must not hang the open; regular files ignore it. */
    fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            *failed = 0;
        else
            fail("cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        fail("%s is not a regular file", path);
    } else if (info.st_size > MAX_KEY_FILE) {
        fail("%s is larger than %d bytes: not a key", path, MAX_KEY_FILE);
    } else if ((data = calloc(1, (size_t)info.st_size + 1)) == NULL) {
        fail("out of memory");
    } else if (read(fd, data, (size_t)info.st_size) != info.st_size) {
        fail("cannot read %s: %s", path, strerror(errno));
        free(data);
        data = NULL;
    } else {
        *length = (size_t)info.st_size;
        *failed = 0;
    }
    close(fd);
    return data;
}

static void wipe_free(char* data, size_t length)
{
    volatile char* p = data;
    size_t i;
    if (!data)
        return;
    for (i = 0; i < length; ++i)
        p[i] = 0;
    free(data);
}

static int prepare_out_dir(const char* dir)
{
    struct stat info;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fail("cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    if (stat(dir, &info) != 0 || !S_ISDIR(info.st_mode)) {
        fail("%s is not a directory", dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        fail("cannot write to %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * Reads a secret file (TSIG or EAB: base64 on its first line) into
 * *secret; *length is the whole buffer, for wiping. NULL on failure.
 */
static char* read_secret(const char* path, size_t* length)
{
    int failed = 0;
    char* data = read_small_file(path, length, &failed);
    if (!data) {
        if (!failed)
            fail("cannot read %s: %s", path, strerror(ENOENT));
        return NULL;
    }
    data[strcspn(data, "\r\n")] = '\0';
    if (data[0] == '\0') {
        fail("%s: the first line should hold a base64 secret", path);
        wipe_free(data, *length);
        return NULL;
    }
    return data;
}

/*
 * The account for this CA from the storage in DIR; registered (and then
 * stored) only when may_create is set and none is stored yet.
 */
static int open_account(acme_client* client, acme_storage* storage,
                        const struct cli_options* opts, int may_create)
{
    acme_account_options account = ACME_ACCOUNT_OPTIONS_INIT;
    char contact[512];
    const char* contacts[1];
    acme_status status;
    char buf[1024];
    char* eab_key = NULL;
    size_t eab_length = 0;

    if (opts->email) {
        snprintf(contact, sizeof contact, "mailto:%s", opts->email);
        contacts[0] = contact;
        account.contacts = contacts;
        account.contact_count = 1;
    }
    account.terms_of_service_agreed = opts->agree_tos;
    account.only_return_existing = !may_create;
    if (opts->eab_hmac_file && may_create) {
        eab_key = read_secret(opts->eab_hmac_file, &eab_length);
        if (!eab_key)
            return -1;
        account.eab_key_id = opts->eab_kid;
        account.eab_hmac_key = eab_key;
    }

    status =
        acme_account_open(client, storage, opts->account_key_type, &account);
    if (eab_key)
        wipe_free(eab_key, eab_length);
    if (status == ACME_E_TERMS_NOT_AGREED) {
        fail("%s: read them, then pass --agree-tos",
             safe(acme_client_last_error(client), buf, sizeof buf));
        return -1;
    }
    if (status != ACME_OK) {
        fail_client(client, status);
        return -1;
    }
    step(acme_client_account_created(client) ? "registered" : "account",
         acme_client_account_url(client));
    return 0;
}

/* Refuses bad or repeated names before anything reaches the CA. */
static int check_names(acme_client* client, const struct cli_options* opts)
{
    size_t i, j;
    acme_status status;

    for (i = 0; i < opts->domain_count; ++i) {
        status = acme_check_domain_name(client, opts->domains[i]);
        if (status != ACME_OK) {
            fail_client(client, status);
            return -1;
        }
        for (j = 0; j < i; ++j)
            if (strcasecmp(opts->domains[i], opts->domains[j]) == 0) {
                fail("--domain %s is given twice", opts->domains[i]);
                return -1;
            }
    }
    return 0;
}

static int sync_dir(const char* dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    int result = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
    if (result != 0)
        fail("cannot sync %s: %s", dir, strerror(errno));
    if (fd >= 0)
        close(fd);
    return result;
}

/* Makes dir/name a symlink to target by renaming a new link over it. */
static int replace_link(const char* dir, const char* name, const char* target)
{
    char* final_path = join_path(dir, name);
    char* temp_path = join_path(dir, ".acmekit-link-XXXXXX");
    int fd, result = -1;

    if (final_path && temp_path && (fd = mkstemp(temp_path)) >= 0) {
        /* mkstemp only reserves a unique name for the link. */
        close(fd);
        unlink(temp_path);
        if (symlink(target, temp_path) == 0 &&
            rename(temp_path, final_path) == 0)
            result = 0;
        else
            unlink(temp_path);
    }
    if (result != 0)
        fail("cannot link %s/%s: %s", dir, name, strerror(errno));
    free(final_path);
    free(temp_path);
    return result;
}

/* dir/name points at target already, or is made to. */
static int ensure_link(const char* dir, const char* name, const char* target)
{
    char* path = join_path(dir, name);
    char now[256];
    ssize_t length = path ? readlink(path, now, sizeof now - 1) : -1;
    free(path);
    if (length >= 0) {
        now[length] = '\0';
        if (strcmp(now, target) == 0)
            return 0;
    }
    return replace_link(dir, name, target);
}

/*
 * Each certificate has fixed paths for a web server:
 * DIR/live/<name>/fullchain.pem and certificate.key, where live/<name> is
 * a link to the storage's generation folder, so one atomic rename
 * switches key and chain together. DIR/certificate.key and
 * DIR/fullchain.pem are the same through DIR/current, for the
 * certificate issued last: the common case of one certificate per
 * device.
 */
static int link_live(const char* dir, const char* folder)
{
    const char* name = folder + strlen("certificates/");
    const char* slash = strchr(name, '/');
    char segment[300], target[600];
    char* live = join_path(dir, "live");
    int result = -1;

    if (strncmp(folder, "certificates/", 13) != 0 || !slash ||
        (size_t)(slash - name) >= sizeof segment || !live) {
        fail("unexpected storage folder %s", folder);
        free(live);
        return -1;
    }
    snprintf(segment, sizeof segment, "%.*s", (int)(slash - name), name);
    snprintf(target, sizeof target, "../%s", folder);
    if (mkdir(live, 0700) != 0 && errno != EEXIST)
        fail("cannot create %s: %s", live, strerror(errno));
    else if (replace_link(live, segment, target) == 0 && sync_dir(live) == 0)
        result = 0;
    free(live);
    return result;
}

static int link_certificate(const char* dir, const char* folder)
{
    if (link_live(dir, folder) != 0 ||
        replace_link(dir, "current", folder) != 0 ||
        ensure_link(dir, "certificate.key", "current/certificate.key") != 0 ||
        ensure_link(dir, "fullchain.pem", "current/fullchain.pem") != 0)
        return -1;
    return sync_dir(dir);
}

/* Whether DIR/current points into the same certificate's folder as
   folder ("certificates/<name>/gN"). */
static int current_is_same_certificate(const char* dir, const char* folder)
{
    char* path = join_path(dir, "current");
    char target[600];
    ssize_t length = path ? readlink(path, target, sizeof target - 1) : -1;
    const char* last = strrchr(folder, '/');
    free(path);
    if (length < 0 || !last)
        return 0;
    target[length] = '\0';
    return strncmp(target, folder, (size_t)(last - folder) + 1) == 0;
}

/*
 * A run cut short between storing and linking leaves the links one
 * generation behind: they are brought up to date for this certificate
 * only, so that renewing several certificates in one DIR never moves
 * DIR/current from one to another.
 */
static int relink_stored(acme_client* client, acme_storage* storage,
                         const struct cli_options* opts)
{
    acme_certificate* stored = NULL;
    acme_status status =
        acme_certificate_load(&stored, client, storage, opts->domains[0]);
    const char* folder;
    int result = 0;

    if (status != ACME_OK) {
        fail_client(client, status);
        return -1;
    }
    if (!stored)
        return 0;
    folder = acme_certificate_folder(stored);
    result = link_live(opts->out_dir, folder);
    if (result == 0 && current_is_same_certificate(opts->out_dir, folder))
        result = link_certificate(opts->out_dir, folder);
    acme_certificate_free(stored);
    return result;
}

/* Writes data to path atomically: a temporary file, synced, renamed. */
static int write_file(const char* path, const char* data, size_t length,
                      mode_t mode)
{
    struct staged_file staged = {NULL, NULL};
    char* copy = strdup(path);
    const char* slash = copy ? strrchr(copy, '/') : NULL;
    const char* dir = ".";
    const char* name = path;
    int result = -1;

    if (!copy) {
        fail("out of memory");
        return -1;
    }
    if (slash) {
        copy[slash - copy] = '\0';
        dir = copy[0] ? copy : "/";
        name = slash + 1;
    }
    if (stage(&staged, dir, name, data, length, mode) == 0)
        result = commit(&staged, 1, dir);
    free(copy);
    return result;
}

/* The manual flow: the operator adds the record and confirms. */
static int manual_publish(void* user, const char* fqdn, const char* value)
{
    char name[512], text[256], line[64];
    (void)user;
    printf("\nAdd this TXT record, then press Enter:\n  %s. 60 IN TXT "
           "\"%s\"\n",
           safe(fqdn, name, sizeof name), safe(value, text, sizeof text));
    fflush(stdout);
    /* One Enter per record: the rest of a long line is read and dropped,
       so that it cannot confirm the next record too. */
    do {
        if (!fgets(line, sizeof line, stdin)) {
            fail("no confirmation for the TXT record at %s", name);
            return -1;
        }
    } while (!strchr(line, '\n'));
    return 0;
}

static void manual_withdraw(void* user, const char* fqdn, const char* value)
{
    char name[512], text[256];
    (void)user;
    printf("The TXT record %s \"%s\" may now be removed.\n",
           safe(fqdn, name, sizeof name), safe(value, text, sizeof text));
    fflush(stdout);
}

static void set_dns_options(acme_issue_options* issue,
                            const struct cli_options* opts,
                            const char* tsig_secret)
{
    issue->challenge = ACME_CHALLENGE_DNS_01;
    issue->dns_hook = opts->dns_hook;
    issue->dns_update_server = opts->dns_server;
    issue->dns_update_zone = opts->dns_zone;
    issue->tsig_key_name = opts->tsig_key;
    issue->tsig_algorithm = opts->tsig_algorithm;
    issue->tsig_secret_base64 = tsig_secret;
    if (opts->dns_manual) {
        issue->dns_publish = manual_publish;
        issue->dns_withdraw = manual_withdraw;
    }
    issue->dns_resolvers = opts->resolvers;
    issue->dns_resolver_count = opts->resolver_count;
    issue->dns_skip_propagation_check = opts->no_propagation_check;
    issue->dns_propagation_timeout_ms = opts->dns_timeout_ms;
}

/* "2026-12-04T02:30:00Z" */
static const char* utc_time(int64_t seconds, char* buf, size_t size)
{
    time_t t = (time_t)seconds;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, size, "%lld", (long long)seconds);
    return buf;
}

/* renew found nothing due: say when it will look again, and why. */
static int report_not_due(acme_client* client, acme_storage* storage,
                          const char* name)
{
    acme_renewal* renewal = NULL;
    acme_status status = acme_renewal_check(&renewal, client, storage, name);
    char when[32], renew_at[32], reason[512];

    if (status != ACME_OK) {
        fail_client(client, status);
        return -1;
    }
    step("renew", "not due");
    printf("not due: renew at %s, next check at %s (%s)\n",
           utc_time(acme_renewal_time(renewal), renew_at, sizeof renew_at),
           utc_time(acme_renewal_next_check(renewal), when, sizeof when),
           safe(acme_renewal_reason(renewal), reason, sizeof reason));
    acme_renewal_free(renewal);
    return 0;
}

/* One block per stored certificate: names, expiry, renewal and why. */
static int run_status(acme_client* client, acme_storage* storage)
{
    size_t count = 0, i, n;
    acme_status status = acme_storage_list_certificates(storage, &count);
    char a[32], b[32], text[512];
    int result = 0;

    if (status != ACME_OK) {
        fail("cannot list the stored certificates: %s", acme_strerror(status));
        return -1;
    }
    if (count == 0)
        printf("no certificate stored\n");
    /* One certificate that cannot be read is reported and the others are
       still listed. */
    for (i = 0; i < count; ++i) {
        const char* name = acme_storage_certificate_name(storage, i);
        acme_renewal* renewal = NULL;
        status = acme_renewal_check(&renewal, client, storage, name);
        if (status != ACME_OK) {
            fail("%s: %s", safe(name, text, sizeof text),
                 client ? acme_client_last_error(client)
                        : acme_strerror(status));
            result = -1;
            continue;
        }
        printf("certificate %s\n", safe(name, text, sizeof text));
        printf("names      ");
        for (n = 0; n < acme_renewal_name_count(renewal); ++n)
            printf("%s%s", n ? ", " : "",
                   safe(acme_renewal_name(renewal, n), text, sizeof text));
        printf("\nexpires    %s\n",
               utc_time(acme_renewal_not_after(renewal), a, sizeof a));
        printf("renew at   %s (%s)\n",
               utc_time(acme_renewal_time(renewal), a, sizeof a),
               safe(acme_renewal_reason(renewal), text, sizeof text));
        printf("next check %s%s\n",
               utc_time(acme_renewal_next_check(renewal), b, sizeof b),
               acme_renewal_due(renewal) ? " (due now)" : "");
        if (acme_renewal_explanation_url(renewal))
            printf(
                "why        %s\n",
                safe(acme_renewal_explanation_url(renewal), text, sizeof text));
        if (acme_renewal_failures(renewal) > 0)
            printf("failures   %d\n", acme_renewal_failures(renewal));
        acme_renewal_free(renewal);
    }
    return result;
}

/* --cert-key FILE: the key to certify, read from PEM. NULL on failure. */
static acme_key* load_key_file(acme_client* client, const char* path)
{
    size_t length = 0;
    int failed = 0;
    char* pem = read_small_file(path, &length, &failed);
    acme_key* key = NULL;
    acme_status status;

    if (!pem) {
        if (!failed)
            fail("cannot read %s: %s", path, strerror(ENOENT));
        return NULL;
    }
    status = acme_key_load_pem(&key, client, pem, length);
    wipe_free(pem, length);
    if (status != ACME_OK)
        fail("%s: %s", path, acme_client_last_error(client));
    return key;
}

static int issue(acme_client* client, acme_storage* storage,
                 const struct cli_options* opts)
{
    acme_issue_options issue = ACME_ISSUE_OPTIONS_INIT;
    acme_certificate* cert = NULL;
    acme_key* cert_key = NULL;
    acme_status status;
    int failed = 0, result = -1;
    char *tsig_secret = NULL, *csr = NULL;
    size_t tsig_length = 0, csr_length = 0;

    if (check_names(client, opts) != 0)
        return -1;
    if (opts->tsig_secret_file &&
        (tsig_secret = read_secret(opts->tsig_secret_file, &tsig_length)) ==
            NULL)
        return -1;
    if (opts->cert_key_file &&
        (cert_key = load_key_file(client, opts->cert_key_file)) == NULL)
        goto out;
    if (opts->csr_file &&
        (csr = read_small_file(opts->csr_file, &csr_length, &failed)) == NULL) {
        if (!failed)
            fail("cannot read %s: %s", opts->csr_file, strerror(ENOENT));
        goto out;
    }
    if (!opts->csr_file && relink_stored(client, storage, opts) != 0)
        goto out;

    /* renew asks the CA nothing it does not need: with the account
       stored and nothing due, a CA that is down costs no error. */
    if (opts->command == COMMAND_ISSUE || opts->force) {
        step("directory", opts->directory);
        status = acme_client_fetch_directory(client);
        if (status != ACME_OK) {
            fail_client(client, status);
            goto out;
        }
    }
    if (open_account(client, storage, opts, 1) != 0)
        goto out;

    issue.names = opts->domains;
    issue.name_count = opts->domain_count;
    issue.http01_address = opts->http_address;
    issue.http01_port = opts->http_port;
    issue.certificate_key_type = opts->key_type;
    issue.certificate_key = cert_key;
    issue.csr = csr;
    issue.csr_length = csr_length;
    issue.progress = progress;
    issue.profile = opts->profile;
    issue.profile_required = opts->profile_required;
    issue.preferred_chain = opts->preferred_chain;
    issue.http01_webroot = opts->webroot;
    issue.http01_keep_files = opts->keep_challenge_files;
    if (opts->dns01)
        set_dns_options(&issue, opts, tsig_secret);

    /* issue always gets a new certificate; renew only when one is due.
       Both continue an order a killed run left in the storage. */
    if (opts->csr_file)
        status = acme_certificate_issue(&cert, client, &issue);
    else
        status = acme_certificate_renew(
            &cert, client, storage, &issue,
            opts->command == COMMAND_ISSUE || opts->force ? ACME_RENEW_FORCE
                                                          : 0);
    if (status != ACME_OK) {
        fail_client(client, status);
        goto out;
    }
    if (!cert) {
        result = report_not_due(client, storage, opts->domains[0]);
        goto out;
    }

    /* A certificate from the caller's CSR has no key here to keep beside
       it: only its chain is written. */
    if (opts->csr_file) {
        const char* chain = acme_certificate_chain_pem(cert);
        if (write_file(opts->chain_out, chain, strlen(chain), 0644) != 0)
            goto out;
        step("saved", opts->chain_out);
        result = 0;
        goto out;
    }
    if (link_certificate(opts->out_dir, acme_certificate_folder(cert)) != 0)
        goto out;
    step("saved", opts->out_dir);
    result = 0;

out:
    if (tsig_secret)
        wipe_free(tsig_secret, tsig_length);
    free(csr);
    acme_certificate_free(cert);
    acme_key_free(cert_key);
    return result;
}

static void print_account(acme_client* client)
{
    char buf[1024];
    size_t i;
    const char* status = acme_client_account_status(client);

    printf("account    %s\n",
           safe(acme_client_account_url(client), buf, sizeof buf));
    printf("status     %s\n", safe(status ? status : "?", buf, sizeof buf));
    for (i = 0; i < acme_client_account_contact_count(client); ++i)
        printf("contact    %s\n",
               safe(acme_client_account_contact(client, i), buf, sizeof buf));
}

static int run_account(acme_client* client, acme_storage* storage,
                       const struct cli_options* opts)
{
    acme_status status = ACME_OK;
    int registering = strcmp(opts->action, "register") == 0;
    const char* contacts[1];
    char contact[512];

    status = acme_client_fetch_directory(client);
    if (status != ACME_OK) {
        fail_client(client, status);
        return -1;
    }
    if (open_account(client, storage, opts, registering) != 0)
        return -1;

    if (strcmp(opts->action, "update") == 0) {
        snprintf(contact, sizeof contact, "mailto:%s",
                 opts->email ? opts->email : "");
        contacts[0] = contact;
        status = acme_account_update(client, contacts, opts->email ? 1 : 0);
    } else if (strcmp(opts->action, "deactivate") == 0) {
        /* A deactivated account is useless: it is forgotten, so that
           the next register or issue makes a new one. */
        status = acme_account_deactivate(client);
        if (status == ACME_OK)
            status = acme_account_forget(client, storage);
    } else if (strcmp(opts->action, "rollover") == 0) {
        /* The new key is stored before the CA hears of it, and replaces
           the old one only once the CA took it. */
        status = acme_account_rollover(client, storage, opts->account_key_type);
        if (status == ACME_OK) {
            step("rollover", "account key replaced");
            return 0;
        }
    }
    if (status != ACME_OK) {
        fail_client(client, status);
        return -1;
    }

    status = acme_account_fetch(client);
    if (status == ACME_OK)
        print_account(client);
    else if (strcmp(opts->action, "deactivate") == 0)
        printf("status     deactivated\n"); /* no longer readable */
    else {
        fail_client(client, status);
        return -1;
    }
    return 0;
}

static int run_revoke(acme_client* client, acme_storage* storage,
                      const struct cli_options* opts)
{
    char* default_cert = join_path(opts->out_dir, "fullchain.pem");
    const char* path = opts->cert_file ? opts->cert_file : default_cert;
    char* pem = NULL;
    size_t pem_length = 0;
    int failed = 0, result = -1;
    acme_key* key = NULL;
    acme_status status;

    pem = path ? read_small_file(path, &pem_length, &failed) : NULL;
    if (!pem) {
        if (!failed)
            fail("cannot read %s: %s", path ? path : "?", strerror(ENOENT));
        goto out;
    }
    status = acme_client_fetch_directory(client);
    if (status != ACME_OK) {
        fail_client(client, status);
        goto out;
    }
    if (opts->with_cert_key) {
        /* The key that belongs to --cert: --cert-key, or DIR's own. */
        char* key_path = opts->cert_key_file
                             ? strdup(opts->cert_key_file)
                             : join_path(opts->out_dir, "certificate.key");
        key = key_path ? load_key_file(client, key_path) : NULL;
        free(key_path);
        if (!key)
            goto out;
    } else if (open_account(client, storage, opts, 0) != 0) {
        goto out;
    }
    status =
        acme_certificate_revoke(client, pem, pem_length, opts->reason, key);
    if (status != ACME_OK) {
        fail_client(client, status);
        goto out;
    }
    step("revoked", path);
    result = 0;

out:
    free(pem);
    free(default_cert);
    acme_key_free(key);
    return result;
}

/*
 * One run at a time per DIR: two renewals writing the same certificate
 * would interleave their generations. The lock is on the folder itself
 * (no lock file is left) and lasts until the process ends, however it
 * ends; a second run fails at once rather than waiting.
 */
static int lock_out_dir(const char* dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        fail("cannot open %s: %s", dir, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        fail("%s is in use by another acmekit-cli run", dir);
        close(fd);
        return -1;
    }
    return fd; /* kept open: closing it would release the lock */
}

/*
 * A closed stdin, stdout or stderr would be reused by the next socket the
 * library opens: a prompt would then read the CA's connection, or progress
 * lines would be written into it. /dev/null takes any free slot first.
 */
static void guard_standard_fds(void)
{
    int fd;
    while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= STDERR_FILENO)
        ;
    if (fd > STDERR_FILENO)
        close(fd);
}

int main(int argc, char** argv)
{
    struct cli_options opts;
    acme_client_options client_opts = ACME_CLIENT_OPTIONS_INIT;
    acme_client* client = NULL;
    acme_storage* storage = NULL;
    acme_status status;
    char* proxy_auth = NULL;
    size_t proxy_auth_length = 0;
    int result;

    memset(&opts, 0, sizeof opts);
    opts.reason = ACME_REVOKE_NO_REASON;
    clock_gettime(CLOCK_MONOTONIC, &started);
    guard_standard_fds();
    result = parse_args(argc, argv, &opts);
    if (result != 0)
        return result > 0 ? 0 : 2;
    /* status only reads: a folder that is not there holds nothing. */
    if (opts.command == COMMAND_STATUS && access(opts.out_dir, F_OK) != 0) {
        printf("no certificate stored\n");
        return 0;
    }
    if (prepare_out_dir(opts.out_dir) != 0)
        return 1;
    if (opts.command != COMMAND_STATUS && lock_out_dir(opts.out_dir) < 0)
        return 1;

    client_opts.directory_url = opts.directory;
    client_opts.ca_file = opts.ca_file;
    if (opts.verbose) {
        client_opts.log = log_line;
        client_opts.max_log_level = ACME_LOG_DEBUG;
    }
    client_opts.proxy_url = opts.proxy;
    if (opts.proxy_auth_file) {
        char* colon;
        proxy_auth = read_secret(opts.proxy_auth_file, &proxy_auth_length);
        if (!proxy_auth)
            return 1;
        colon = strchr(proxy_auth, ':');
        if (!colon) {
            fail("%s: the first line should be user:password",
                 opts.proxy_auth_file);
            wipe_free(proxy_auth, proxy_auth_length);
            return 1;
        }
        *colon = '\0';
        client_opts.proxy_user = proxy_auth;
        client_opts.proxy_password = colon + 1;
    }

    /* status works offline: without --directory it asks no CA. */
    if (opts.directory) {
        status = acme_client_new(&client, &client_opts);
        if (status != ACME_OK) {
            fail_client(client, status);
            result = -1;
            goto out;
        }
    }
    status = acme_file_storage_new(&storage, opts.out_dir);
    if (status != ACME_OK) {
        fail("%s: %s", opts.out_dir, acme_strerror(status));
        result = -1;
        goto out;
    }
    switch (opts.command) {
    case COMMAND_ACCOUNT: result = run_account(client, storage, &opts); break;
    case COMMAND_REVOKE: result = run_revoke(client, storage, &opts); break;
    case COMMAND_STATUS: result = run_status(client, storage); break;
    case COMMAND_RENEW:
    case COMMAND_ISSUE: result = issue(client, storage, &opts); break;
    }
out:
    acme_storage_free(storage);
    acme_client_free(client);
    if (proxy_auth)
        wipe_free(proxy_auth, proxy_auth_length);
    return result == 0 ? 0 : 1;
}
