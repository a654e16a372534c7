/*
 * acmekit: get, renew and revoke TLS certificates from an ACME (RFC 8555)
 * certificate authority. This header is the stable C interface; it compiles
 * as C99 and as C++.
 *
 * Conventions
 * - Every function that can fail returns an acme_status; ACME_OK is 0.
 * - Objects come in _new/_free pairs; every _free accepts NULL.
 * - Output parameters come first, a user pointer for callbacks last.
 * - A client and everything made from it may be used by one thread at a
 *   time. Callbacks run on the calling thread, inside the call that
 *   triggered them, except where a function says otherwise.
 * - After a failure, acme_client_last_error() gives a one-line message and
 *   acme_client_last_problem() the server's problem document, if any. Both
 *   stay valid until the next call on the same client that returns an
 *   acme_status; the getters that return strings do not change them.
 * - A function that returns an object through *out sets *out to NULL when
 *   it fails (acme_client_new() is the one exception, see there).
 * - Option structs begin with their size: initialise them with the _INIT
 *   macro so that a newer library can tell which fields a caller knows.
 *   The library copies what it needs from them during the call.
 * - Strings and objects a getter returns belong to the object they were
 *   read from and stay valid until it is freed (or, where the getter
 *   says so, until the next call on it); the caller never frees them.
 *   Memory the caller must free comes with its own _free function.
 * - Secrets the library hands out (acme_key_export_pem()) are freed with
 *   acme_secret_free(), which wipes them first.
 * - Status codes only grow: a new release adds codes, never renumbers
 *   them; acme_strerror() names each one.
 */
#ifndef ACMEKIT_H
#define ACMEKIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(ACMEKIT_BUILDING) && defined(__GNUC__)
#define ACME_API __attribute__((visibility("default")))
#else
#define ACME_API
#endif

#define ACME_VERSION_MAJOR 0
#define ACME_VERSION_MINOR 1
#define ACME_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH, for compile-time comparisons. */
#define ACME_VERSION_NUMBER                                                    \
    (ACME_VERSION_MAJOR * 10000 + ACME_VERSION_MINOR * 100 + ACME_VERSION_PATCH)

/* The library's version as "MAJOR.MINOR.PATCH"; a static string. */
ACME_API const char* acme_version(void);
/* The library's ACME_VERSION_NUMBER, which may differ from the header's. */
ACME_API unsigned acme_version_number(void);

/*
 * Status codes. Values never change and are never reused; new ones are
 * appended. Codes from 100 up are ACME problem types sent by the server.
 */
typedef enum acme_status {
    ACME_OK = 0,

    ACME_E_INVALID_ARGUMENT = 1,
    ACME_E_OUT_OF_MEMORY = 2,
    ACME_E_IO = 3,
    ACME_E_CRYPTO = 4,
    ACME_E_UNSUPPORTED = 5,
    ACME_E_INTERNAL = 6,

    ACME_E_CONNECT = 20,
    ACME_E_TLS_VERIFY = 21,
    ACME_E_TLS = 22,
    ACME_E_HTTP = 23,
    ACME_E_BAD_RESPONSE = 24,
    ACME_E_TIMEOUT = 25,

    ACME_E_ORDER_INVALID = 40,
    ACME_E_AUTHORIZATION_INVALID = 41,
    ACME_E_NO_SUPPORTED_CHALLENGE = 42,
    ACME_E_SOLVER = 43,
    ACME_E_NONCE_RETRIES = 44,
    ACME_E_CANCELLED = 45,
    ACME_E_TERMS_NOT_AGREED = 46,

    ACME_E_SERVER_ACCOUNT_DOES_NOT_EXIST = 100,
    ACME_E_SERVER_ALREADY_REVOKED = 101,
    ACME_E_SERVER_BAD_CSR = 102,
    ACME_E_SERVER_BAD_NONCE = 103,
    ACME_E_SERVER_BAD_PUBLIC_KEY = 104,
    ACME_E_SERVER_BAD_REVOCATION_REASON = 105,
    ACME_E_SERVER_BAD_SIGNATURE_ALGORITHM = 106,
    ACME_E_SERVER_CAA = 107,
    ACME_E_SERVER_COMPOUND = 108,
    ACME_E_SERVER_CONNECTION = 109,
    ACME_E_SERVER_DNS = 110,
    ACME_E_SERVER_EXTERNAL_ACCOUNT_REQUIRED = 111,
    ACME_E_SERVER_INCORRECT_RESPONSE = 112,
    ACME_E_SERVER_INVALID_CONTACT = 113,
    ACME_E_SERVER_MALFORMED = 114,
    ACME_E_SERVER_ORDER_NOT_READY = 115,
    ACME_E_SERVER_RATE_LIMITED = 116,
    ACME_E_SERVER_REJECTED_IDENTIFIER = 117,
    ACME_E_SERVER_INTERNAL = 118,
    ACME_E_SERVER_TLS = 119,
    ACME_E_SERVER_UNAUTHORIZED = 120,
    ACME_E_SERVER_UNSUPPORTED_CONTACT = 121,
    ACME_E_SERVER_UNSUPPORTED_IDENTIFIER = 122,
    ACME_E_SERVER_USER_ACTION_REQUIRED = 123,
    ACME_E_SERVER_OTHER = 124
} acme_status;

/* A static English description; never NULL, also for unknown codes. */
ACME_API const char* acme_strerror(acme_status status);

/* ---- Logging -------------------------------------------------------- */

typedef enum acme_log_level {
    ACME_LOG_ERROR = 0,
    ACME_LOG_WARNING = 1,
    ACME_LOG_INFO = 2,
    ACME_LOG_DEBUG = 3
} acme_log_level;

/*
 * Receives diagnostics. category and message are valid only during the
 * call. Messages never hold private keys, HMAC keys, key authorizations,
 * signatures or request bodies; they do hold URLs.
 */
typedef void (*acme_log_fn)(void* user, acme_log_level level,
                            const char* category, const char* message);

/* ---- Host services ---------------------------------------------------- */

/*
 * A host that has its own HTTP stack, clock or flash store plugs it in
 * through these tables. Each begins with its size (set by the _INIT macro)
 * and ends with the user pointer passed back to every callback. Callbacks
 * run on the thread that called the acmekit function, one at a time.
 */

typedef struct acme_http_header {
    const char* name;
    const char* value;
} acme_http_header;

/* One request. Everything in it is valid only during the callback. */
typedef struct acme_http_request {
    const char* method; /* "GET", "HEAD" or "POST" */
    const char* url;    /* absolute https:// URL */
    const acme_http_header* headers;
    size_t header_count;
    const char* body; /* body_length bytes, not NUL-terminated */
    size_t body_length;
} acme_http_request;

/* The response a transport callback fills in with the calls below; valid
   only during the callback. */
typedef struct acme_http_response acme_http_response;

ACME_API void acme_http_response_set_status(acme_http_response* response,
                                            int status);
/* ACME_E_BAD_RESPONSE past 256 headers of 8 KiB each. */
ACME_API acme_status acme_http_response_add_header(acme_http_response* response,
                                                   const char* name,
                                                   size_t name_length,
                                                   const char* value,
                                                   size_t value_length);
/* Appends to the body; ACME_E_BAD_RESPONSE once it passes 1 MiB. */
ACME_API acme_status acme_http_response_append_body(
    acme_http_response* response, const char* data, size_t length);
/* A one-line reason for a failure the callback is about to return, such
   as "connect to ca.example:443 timed out". */
ACME_API void acme_http_response_set_error(acme_http_response* response,
                                           const char* message);

/*
 * Sends one request and fills in the whole response; any HTTP status is a
 * response (ACME_OK). Without a response at all, returns ACME_E_CONNECT,
 * ACME_E_TLS_VERIFY, ACME_E_TLS or ACME_E_TIMEOUT. The callback must
 * verify the server's TLS certificate: acmekit trusts what it returns.
 */
typedef acme_status (*acme_http_send_fn)(void* user,
                                         const acme_http_request* request,
                                         acme_http_response* response);

typedef struct acme_transport {
    size_t size; /* sizeof(acme_transport), set by _INIT */
    acme_http_send_fn send;
    void* user;
} acme_transport;

#define ACME_TRANSPORT_INIT                                                    \
    {                                                                          \
        sizeof(acme_transport), NULL, NULL                                     \
    }

/* Wall-clock time in milliseconds since the Unix epoch, and a wait until
   such a time (polling between requests uses it). */
typedef struct acme_clock {
    size_t size; /* sizeof(acme_clock), set by _INIT */
    int64_t (*now_ms)(void* user);
    void (*sleep_until_ms)(void* user, int64_t when_ms);
    void* user;
} acme_clock;

#define ACME_CLOCK_INIT                                                        \
    {                                                                          \
        sizeof(acme_clock), NULL, NULL, NULL                                   \
    }

typedef enum acme_key_type {
    ACME_KEY_EC_P256 = 0,
    ACME_KEY_EC_P384 = 1,
    ACME_KEY_RSA_2048 = 2,
    ACME_KEY_RSA_3072 = 3,
    ACME_KEY_RSA_4096 = 4
} acme_key_type;

typedef enum acme_hmac_algorithm {
    ACME_HMAC_SHA256 = 0,
    ACME_HMAC_SHA384 = 1,
    ACME_HMAC_SHA512 = 2
} acme_hmac_algorithm;

/* Bytes a crypto callback hands back, set with acme_bytes_set(); valid
   only during the callback. The library wipes them when it is done. */
typedef struct acme_bytes acme_bytes;

/* Copies length bytes in, replacing what was set before.
   ACME_E_INVALID_ARGUMENT past 64 KiB. */
ACME_API acme_status acme_bytes_set(acme_bytes* out, const void* data,
                                    size_t length);

/*
 * The host's own keys (a secure element, an HSM, its crypto library)
 * and, optionally, its digests. Every field may be NULL; what is NULL is
 * done by the built-in mbedTLS code, which also always parses
 * certificates and CSRs.
 *
 * Keys: load_key, public_key, sign and free_key come together, or none of
 * them. A key is the host's handle (a void*, never looked into); the
 * library calls free_key exactly once for each handle it was given, also
 * after acme_client_free() for keys that outlive their client, so user
 * must stay valid until then. With host keys:
 * - generate_key makes a key of the type; NULL: acme_key_generate(),
 *   acme_account_open() for a new account and issuance without a
 *   certificate_key fail with ACME_E_UNSUPPORTED.
 * - export_key gives the bytes that load_key later turns back into the
 *   same key: PEM for a key in memory, or only a reference (a slot
 *   number, a PKCS#11 URI) for a key that never leaves the hardware.
 *   Storage keeps them as a secret; acme_key_export_pem() returns them.
 *   NULL: keys cannot be stored or exported (ACME_E_UNSUPPORTED).
 * - load_key reads such bytes (length bytes, not NUL-terminated).
 * - public_key sets the key's DER SubjectPublicKeyInfo (what
 *   `openssl pkey -pubout -outform DER` writes): an EC P-256 or P-384
 *   point, uncompressed, or an RSA key of 2048, 3072 or 4096 bits.
 * - sign signs data (the JWS signing input or a CSR's content) for the
 *   key's JWS algorithm; digest is the data's SHA-256 (SHA-384 for
 *   P-384), for hardware that signs digests only. ECDSA signatures may be
 *   set as r||s (each half the curve's size) or as DER; RSA ones are
 *   PKCS#1 v1.5 over SHA-256, as long as the modulus.
 * Digests: sha256 writes the 32-byte digest of data to out; hmac sets the
 * HMAC of data under key (used for EAB and TSIG).
 * A callback that fails returns a status other than ACME_OK (usually
 * ACME_E_CRYPTO); the call that needed it fails with that status. The
 * data and key bytes passed in are valid only during the callback.
 */
typedef struct acme_crypto {
    size_t size; /* sizeof(acme_crypto), set by _INIT */
    acme_status (*generate_key)(void* user, acme_key_type type, void** key);
    acme_status (*load_key)(void* user, const char* data, size_t length,
                            void** key);
    acme_status (*export_key)(void* user, void* key, acme_bytes* out);
    acme_status (*public_key)(void* user, void* key, acme_bytes* spki_der);
    acme_status (*sign)(void* user, void* key, const uint8_t* data,
                        size_t length, const uint8_t* digest,
                        size_t digest_length, acme_bytes* signature);
    void (*free_key)(void* user, void* key);
    acme_status (*sha256)(void* user, const uint8_t* data, size_t length,
                          uint8_t out[32]);
    acme_status (*hmac)(void* user, acme_hmac_algorithm algorithm,
                        const uint8_t* key, size_t key_length,
                        const uint8_t* data, size_t length, acme_bytes* mac);
    void* user;
} acme_crypto;

#define ACME_CRYPTO_INIT                                                       \
    {                                                                          \
        sizeof(acme_crypto), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,   \
            NULL                                                               \
    }

/* ---- Client ----------------------------------------------------------- */

typedef struct acme_client acme_client;

typedef struct acme_client_options {
    size_t size; /* sizeof(acme_client_options), set by _INIT */
    /* The CA's directory URL, e.g. https://acme.example/directory. */
    const char* directory_url;
    /* PEM file of CAs that may sign the ACME server's TLS certificate;
       NULL uses the system's trust store. Verification is always on. */
    const char* ca_file;
    /* 0 takes the defaults: 10 s to connect, 30 s of silence while
       reading, 60 s for a whole request. */
    unsigned connect_timeout_ms;
    unsigned read_timeout_ms;
    /* Optional; messages above max_log_level are not delivered. */
    acme_log_fn log;
    void* log_user;
    acme_log_level max_log_level;
    /* The host's HTTP stack instead of the built-in one (cpp-httplib
       over OpenSSL, or in a build without cpp-httplib mbedTLS's own TLS);
       ca_file, the timeouts and the proxy are then the host's business.
       Copied; NULL: built-in. */
    const acme_transport* transport;
    /* The host's clock; copied; NULL: the system clock. */
    const acme_clock* clock;

    /* The built-in transport through an HTTP proxy: "http://host:port"
       (HTTPS to the CA goes through CONNECT and is verified as without a
       proxy). proxy_user and proxy_password are Basic credentials that
       only the proxy sees; they never reach a log. With proxy_url NULL and
       proxy_from_environment set, https_proxy and no_proxy are read. */
    const char* proxy_url;
    const char* proxy_user;
    const char* proxy_password;
    int proxy_from_environment;

    /* The host's keys and digests (see acme_crypto); copied; NULL: all
       built in. */
    const acme_crypto* crypto;
} acme_client_options;

#define ACME_CLIENT_OPTIONS_INIT                                               \
    {                                                                          \
        sizeof(acme_client_options), NULL, NULL, 0, 0, NULL, NULL,             \
            ACME_LOG_INFO, NULL, NULL, NULL, NULL, NULL, 0, NULL               \
    }

/*
 * Makes a client for one CA. The strings in options are copied; nothing is
 * sent until the first request. As with sqlite3_open(), *out is set even
 * on failure (except ACME_E_OUT_OF_MEMORY, where it is NULL): such a
 * client answers only acme_client_last_error() and must still be freed.
 * Errors: ACME_E_INVALID_ARGUMENT for bad options, ACME_E_IO for an
 * unreadable ca_file.
 */
ACME_API acme_status acme_client_new(acme_client** out,
                                     const acme_client_options* options);
ACME_API void acme_client_free(acme_client* client);

/* The last failure's message; "" when the last call succeeded. Valid
   until the next call on this client. */
ACME_API const char* acme_client_last_error(const acme_client* client);

/* Fetches the directory (once; later calls reuse it). */
ACME_API acme_status acme_client_fetch_directory(acme_client* client);

/* The certificate profiles the CA offers (after the directory was
   fetched): name and description, NULL past the end. Valid as long as the
   client. */
ACME_API size_t acme_client_profile_count(const acme_client* client);
ACME_API const char* acme_client_profile_name(const acme_client* client,
                                              size_t index);
ACME_API const char* acme_client_profile_description(const acme_client* client,
                                                     size_t index);

/* The directory's termsOfService URL, or NULL when it has none or the
   directory was not fetched. Valid as long as the client. */
ACME_API const char* acme_client_terms_of_service(const acme_client* client);

/* ---- Problems --------------------------------------------------------- */

/* A server problem document (RFC 8555 section 6.7). Owned by the client
   that returned it; valid until the next call on that client. */
typedef struct acme_problem acme_problem;

/* The last failure's problem document, or NULL when the server sent none. */
ACME_API const acme_problem*
acme_client_last_problem(const acme_client* client);

/* When the server asked to be tried again (Retry-After), as seconds since
   the Unix epoch; 0 when it did not say. */
ACME_API int64_t acme_client_last_retry_after(const acme_client* client);

/* The full type URN, e.g. "urn:ietf:params:acme:error:dns"; never NULL. */
ACME_API const char* acme_problem_type(const acme_problem* problem);
/* The server's explanation, possibly ""; never NULL. */
ACME_API const char* acme_problem_detail(const acme_problem* problem);
/* The problem's "instance" URL, possibly "": for userActionRequired the
   page a person must visit (RFC 8555 section 7.3.3); never NULL. */
ACME_API const char* acme_problem_instance(const acme_problem* problem);
/* The HTTP status the problem came with. */
ACME_API int acme_problem_http_status(const acme_problem* problem);
ACME_API size_t acme_problem_subproblem_count(const acme_problem* problem);
/* Subproblem fields; "" for an index out of range; never NULL. */
ACME_API const char* acme_problem_subproblem_type(const acme_problem* problem,
                                                  size_t index);
ACME_API const char* acme_problem_subproblem_detail(const acme_problem* problem,
                                                    size_t index);
ACME_API const char*
acme_problem_subproblem_identifier(const acme_problem* problem, size_t index);

/* ---- Keys ------------------------------------------------------------- */

/*
 * A private key. It may outlive the client that made it, and any client
 * may export it. Built-in keys are generated from the platform's entropy
 * source through mbedTLS's CTR-DRBG; with a host's crypto table
 * (acme_client_options.crypto) keys are the host's, and "PEM" in the
 * functions below means whatever bytes its export_key and load_key use.
 */
typedef struct acme_key acme_key;

ACME_API acme_status acme_key_generate(acme_key** out, acme_client* client,
                                       acme_key_type type);
/* Loads a PEM private key; pem need not be NUL-terminated. */
ACME_API acme_status acme_key_load_pem(acme_key** out, acme_client* client,
                                       const char* pem, size_t pem_length);
/*
 * The key as PEM text in *out (NUL-terminated, length in *out_length if
 * that is not NULL). Free it with acme_secret_free(), which wipes it.
 */
ACME_API acme_status acme_key_export_pem(char** out, size_t* out_length,
                                         acme_client* client,
                                         const acme_key* key);
ACME_API void acme_key_free(acme_key* key);

/* Wipes and frees a string the library returned as secret. */
ACME_API void acme_secret_free(char* secret);

/* ---- Account ---------------------------------------------------------- */

typedef struct acme_account_options {
    size_t size; /* sizeof(acme_account_options), set by _INIT */
    /* Contact URIs such as "mailto:ops@example.com"; may be NULL. */
    const char* const* contacts;
    size_t contact_count;
    /* Non-zero only when the operator agreed to the terms of service. */
    int terms_of_service_agreed;
    /* External account binding, for CAs whose directory requires it: the
       key id and the MAC key as the CA issued them (base64url or base64,
       padded or not); algorithm NULL means "HS256". */
    const char* eab_key_id;
    const char* eab_hmac_key;
    const char* eab_algorithm;
    /* Non-zero: only find the account that exists for the key, never
       create one (ACME_E_SERVER_ACCOUNT_DOES_NOT_EXIST if there is none). */
    int only_return_existing;
} acme_account_options;

#define ACME_ACCOUNT_OPTIONS_INIT                                              \
    {                                                                          \
        sizeof(acme_account_options), NULL, 0, 0, NULL, NULL, NULL, 0          \
    }

/*
 * Registers the account for key, or finds the one that exists for it, and
 * uses it for every later request of this client. The client keeps a
 * reference to key, replacing the one an earlier call gave: free the key
 * only after the client, or after registering another key.
 */
ACME_API acme_status acme_account_register(acme_client* client,
                                           const acme_key* key,
                                           const acme_account_options* options);

/* ---- Storage ---------------------------------------------------------- */

/*
 * Where the library keeps accounts and certificates so that they survive a
 * reboot. Every write is atomic: a power cut leaves the old value or the
 * new one. The layout under the root:
 *
 *   accounts/<ca>/account.key               account key, mode 0600
 *   accounts/<ca>/account.url               its URL at the CA
 *   certificates/<name>/current             the generation in use: "g7"
 *   certificates/<name>/g7/certificate.key  its key, mode 0600
 *   certificates/<name>/g7/fullchain.pem    its chain, leaf first
 *
 * <ca> is the directory URL without "https://", each character other than
 * letters, digits, '.', '-' and '_' written as '_'; <name> is the
 * certificate's first domain name in lower case, "*." written as "_.".
 * A storage may be shared by several clients, but not used by two threads
 * at once.
 */
typedef struct acme_storage acme_storage;

/* Files under the folder root, made 0700 when missing (on first write).
   Errors: ACME_E_INVALID_ARGUMENT, ACME_E_OUT_OF_MEMORY. */
ACME_API acme_status acme_file_storage_new(acme_storage** out,
                                           const char* root);

/* A value a storage get callback hands back, valid during the callback. */
typedef struct acme_storage_value acme_storage_value;
ACME_API acme_status acme_storage_value_set(acme_storage_value* value,
                                            const char* data, size_t length);
/* The names a list callback hands back, valid during the callback. */
typedef struct acme_storage_names acme_storage_names;
ACME_API acme_status acme_storage_names_add(acme_storage_names* names,
                                            const char* name);

/*
 * A host's own store (flash, a configuration database). Names are paths
 * such as "certificates/device.example.com/g7/fullchain.pem". put must be
 * atomic: after a power cut a get returns the old value or the new one,
 * never a mix. Each returns ACME_OK or a status such as ACME_E_IO.
 */
typedef struct acme_storage_callbacks {
    size_t size; /* sizeof(acme_storage_callbacks), set by _INIT */
    /* Hands the value to acme_storage_value_set(), or does not call it
       when there is none (still ACME_OK). */
    acme_status (*get)(void* user, const char* name, acme_storage_value* value);
    /* secret: keys, to be readable by the device only. */
    acme_status (*put)(void* user, const char* name, const char* data,
                       size_t length, int secret);
    /* Removing a value that is not there is ACME_OK. */
    acme_status (*remove)(void* user, const char* name);
    /* Every name directly under folder ("certificates" lists
       "certificates/a.example", ...), through acme_storage_names_add(). */
    acme_status (*list)(void* user, const char* folder,
                        acme_storage_names* names);
    void* user;
} acme_storage_callbacks;

#define ACME_STORAGE_CALLBACKS_INIT                                            \
    {                                                                          \
        sizeof(acme_storage_callbacks), NULL, NULL, NULL, NULL, NULL           \
    }

/* A storage over the host's callbacks (all four are needed); copied. */
ACME_API acme_status acme_storage_new_callbacks(
    acme_storage** out, const acme_storage_callbacks* callbacks);
ACME_API void acme_storage_free(acme_storage* storage);

/*
 * Uses the account stored for the client's CA. With none stored, makes a
 * key of key_type, registers it with options and stores the key and the
 * URL, in that order; a key stored without its URL (a run cut short) is
 * looked up at the CA before a new account is made. A new account for a
 * CA with terms of service fails with ACME_E_TERMS_NOT_AGREED (message
 * with their URL) unless options->terms_of_service_agreed is set. With
 * options->only_return_existing nothing is created:
 * ACME_E_SERVER_ACCOUNT_DOES_NOT_EXIST when nothing is stored. options may
 * be NULL for an account that is known to be stored. The client owns the
 * key from then on.
 */
ACME_API acme_status acme_account_open(acme_client* client,
                                       acme_storage* storage,
                                       acme_key_type key_type,
                                       const acme_account_options* options);

/* Forgets the account stored for the client's CA, for example after
   acme_account_deactivate(), so that the next acme_account_open()
   registers a new one. */
ACME_API acme_status acme_account_forget(acme_client* client,
                                         acme_storage* storage);

/* 1 when the last acme_account_open() registered a new account, else 0. */
ACME_API int acme_client_account_created(const acme_client* client);

/*
 * Rolls the opened account over to a new key of key_type and stores it in
 * place of the old one. The new key is stored (account.key.next) before
 * the CA hears of it; a run cut short is settled by the next
 * acme_account_open(), which keeps whichever key the CA took.
 */
ACME_API acme_status acme_account_rollover(acme_client* client,
                                           acme_storage* storage,
                                           acme_key_type key_type);

/* Fetches the account in use from the server, for the getters below. */
ACME_API acme_status acme_account_fetch(acme_client* client);

/* Replaces the account's contact URIs. */
ACME_API acme_status acme_account_update(acme_client* client,
                                         const char* const* contacts,
                                         size_t contact_count);

/* Rolls the account over to new_key (RFC 8555 section 7.3.5); later
   requests are signed with it. The client keeps a reference to new_key,
   which must outlive it, like the key given to acme_account_register(). */
ACME_API acme_status acme_account_change_key(acme_client* client,
                                             const acme_key* new_key);

/* Deactivates the account for good: the CA refuses it afterwards. */
ACME_API acme_status acme_account_deactivate(acme_client* client);

/* The account's status ("valid", "deactivated", ...) from the last
   account call, or NULL. Valid until the next account call. */
ACME_API const char* acme_client_account_status(const acme_client* client);

/* The account's contact URIs from the last account call. */
ACME_API size_t acme_client_account_contact_count(const acme_client* client);
ACME_API const char* acme_client_account_contact(const acme_client* client,
                                                 size_t index);

/* The account URL in use, or NULL. Valid until the next account call. */
ACME_API const char* acme_client_account_url(const acme_client* client);

/* ---- Issuance --------------------------------------------------------- */

typedef enum acme_step {
    ACME_STEP_DIRECTORY = 0,
    ACME_STEP_ACCOUNT = 1,
    ACME_STEP_ORDER = 2,
    ACME_STEP_CHALLENGE = 3,
    ACME_STEP_VALIDATION = 4,
    ACME_STEP_FINALIZE = 5,
    ACME_STEP_DOWNLOAD = 6,
    ACME_STEP_DONE = 7
} acme_step;

/* The step's name, e.g. "validation"; a static string. */
ACME_API const char* acme_step_name(acme_step step);

/*
 * Called as each step starts; text is valid only during the call. Return
 * 0 to go on, or non-zero to stop: the call then cleans up every challenge
 * it presented and fails with ACME_E_CANCELLED.
 */
typedef int (*acme_progress_fn)(void* user, acme_step step, const char* text);

/*
 * HTTP-01 through the host's own web server: publish must make
 * http://<identifier>/.well-known/acme-challenge/<token> answer
 * key_authorization (as text/plain) and return 0, or non-zero on failure.
 * withdraw removes it again; it is called for every publish attempted,
 * also after failures. The strings are valid only during the call, and
 * key_authorization must not be logged.
 */
typedef int (*acme_http01_publish_fn)(void* user, const char* identifier,
                                      const char* token,
                                      const char* key_authorization);
typedef void (*acme_http01_withdraw_fn)(void* user, const char* identifier,
                                        const char* token);

typedef enum acme_challenge_type {
    ACME_CHALLENGE_HTTP_01 = 0,
    ACME_CHALLENGE_DNS_01 = 1
} acme_challenge_type;

/*
 * DNS-01 through the host's own code (a DNS provider's API, or an operator
 * told what to add): publish must add a TXT record with value at fqdn,
 * keeping any other values there, and return 0 when done; withdraw removes
 * that one value again. Called for every publish attempted, also after
 * failures. The strings are valid only during the call.
 */
typedef int (*acme_dns_publish_fn)(void* user, const char* fqdn,
                                   const char* value);
typedef void (*acme_dns_withdraw_fn)(void* user, const char* fqdn,
                                     const char* value);

typedef struct acme_issue_options {
    size_t size;              /* sizeof(acme_issue_options), set by _INIT */
    const char* const* names; /* DNS names; the first becomes the CN */
    size_t name_count;
    acme_key_type certificate_key_type;
    /* Built-in HTTP-01 responder, used when http01_publish and
       http01_webroot are NULL. */
    const char* http01_address; /* NULL: every IPv6 and IPv4 address */
    int http01_port;            /* 0: 80 */
    /* The host's own HTTP-01 publishing; both or neither. */
    acme_http01_publish_fn http01_publish;
    acme_http01_withdraw_fn http01_withdraw;
    void* http01_user;
    acme_progress_fn progress;
    void* progress_user;

    /* The challenge to answer; wildcard names need ACME_CHALLENGE_DNS_01. */
    acme_challenge_type challenge;
    /* DNS-01 publishing, exactly one of: the callbacks (both), a hook
       program run as `HOOK add|remove FQDN VALUE` without a shell, or an
       RFC 2136 update server. */
    acme_dns_publish_fn dns_publish;
    acme_dns_withdraw_fn dns_withdraw;
    void* dns_user;
    const char* dns_hook;
    unsigned dns_hook_timeout_ms;  /* 0: 60 s */
    const char* dns_update_server; /* "ADDR", "ADDR:PORT", "[V6]:PORT" */
    const char* dns_update_zone;   /* NULL: found from the server's SOA */
    const char* tsig_key_name;
    const char* tsig_algorithm;     /* NULL: "hmac-sha256" */
    const char* tsig_secret_base64; /* as in BIND and Knot key files */
    /* Before the CA is told, every value must be seen at every server
       listed here (default: the update server). Nothing else is asked. */
    const char* const* dns_resolvers;
    size_t dns_resolver_count;
    int dns_skip_propagation_check;
    unsigned dns_propagation_timeout_ms;  /* 0: 120 s */
    unsigned dns_propagation_interval_ms; /* 0: 1 s */

    /* Certify this existing key instead of a new one (never the account
       key). The certificate then holds its own copy of the key. */
    const acme_key* certificate_key;
    /* Or send this CSR (PEM or DER, csr_length bytes) made by the caller,
       whose key stays with the caller: the certificate holds no key. The
       names must still be given and must be the CSR's names. */
    const char* csr;
    size_t csr_length;

    /* A certificate profile the CA offers (acme_client_profile_name());
       NULL: the CA's default, or for renewals the profile used last. A
       profile the CA lacks is left out, or with profile_required fails
       with ACME_E_UNSUPPORTED before any order. */
    const char* profile;
    int profile_required;
    /* Prefer the chain whose top certificate's issuer has this common
       name, among the chains the CA offers; NULL: the CA's default. */
    const char* preferred_chain;

    /* HTTP-01 through the device's own web server: the token file goes
       into <http01_webroot>/.well-known/acme-challenge/ and is removed
       after validation, also on failure, unless http01_keep_files is set.
       Used instead of the built-in responder when not NULL. */
    const char* http01_webroot;
    int http01_keep_files;
} acme_issue_options;

#define ACME_ISSUE_OPTIONS_INIT                                                \
    {                                                                          \
        sizeof(acme_issue_options), NULL, 0, ACME_KEY_EC_P256, NULL, 0, NULL,  \
            NULL, NULL, NULL, NULL, ACME_CHALLENGE_HTTP_01, NULL, NULL, NULL,  \
            NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, NULL,     \
            NULL, 0, NULL, 0, NULL, NULL, 0                                    \
    }

/*
 * Checks a DNS name the way acme_certificate_issue() will, without any
 * request: ACME_OK, or ACME_E_INVALID_ARGUMENT with the reason in
 * acme_client_last_error(). Lets a UI refuse a typo before contacting the
 * CA.
 */
ACME_API acme_status acme_check_domain_name(acme_client* client,
                                            const char* name);

/*
 * An issued certificate with its new private key. It owns everything it
 * returns and may outlive the client that issued it.
 */
typedef struct acme_certificate acme_certificate;

/*
 * Orders a certificate for the names, answers every authorization, waits
 * for validation, finalizes with a CSR for a new key and downloads the
 * chain. Blocks until done, failed or cancelled by the progress callback.
 * Needs a registered account. The built-in responder is started before
 * the order is placed, so a port that cannot be bound fails early, and it
 * is stopped before the call returns. On failure *out is NULL.
 */
ACME_API acme_status acme_certificate_issue(acme_certificate** out,
                                            acme_client* client,
                                            const acme_issue_options* options);

/* Revocation reasons (RFC 5280); ACME_REVOKE_NO_REASON sends none. */
#define ACME_REVOKE_NO_REASON (-1)
#define ACME_REVOKE_UNSPECIFIED 0
#define ACME_REVOKE_KEY_COMPROMISE 1
#define ACME_REVOKE_AFFILIATION_CHANGED 3
#define ACME_REVOKE_SUPERSEDED 4
#define ACME_REVOKE_CESSATION_OF_OPERATION 5

/*
 * Revokes the first certificate in pem (RFC 8555 section 7.6). The request
 * is signed by the account key, or by certificate_key when that is not
 * NULL (the certificate's own key: no account needed then). A certificate
 * revoked before gives ACME_E_SERVER_ALREADY_REVOKED.
 */
ACME_API acme_status acme_certificate_revoke(acme_client* client,
                                             const char* pem, size_t pem_length,
                                             int reason,
                                             const acme_key* certificate_key);

/* The PEM chain, leaf first. Valid as long as the certificate. */
ACME_API const char*
acme_certificate_chain_pem(const acme_certificate* certificate);
/* The certificate's URL at the CA. Valid as long as the certificate. */
ACME_API const char* acme_certificate_url(const acme_certificate* certificate);
/* The certificate's private key, owned by the certificate; NULL for one
   issued from the caller's CSR. */
ACME_API const acme_key*
acme_certificate_key(const acme_certificate* certificate);

/*
 * Stores the certificate and its key as the current generation for its
 * first domain name, then keeps the generation before it and removes older
 * ones. The key and the chain switch together (see the storage layout).
 * A certificate without a key (issued from a CSR) cannot be stored:
 * ACME_E_INVALID_ARGUMENT.
 */
ACME_API acme_status acme_certificate_save(acme_client* client,
                                           acme_storage* storage,
                                           acme_certificate* certificate);

/*
 * Loads the current certificate stored for name (its first domain name).
 * ACME_OK with *out NULL when none is stored; ACME_E_IO when the stored
 * files are unreadable or the key does not match the chain.
 */
ACME_API acme_status acme_certificate_load(acme_certificate** out,
                                           acme_client* client,
                                           acme_storage* storage,
                                           const char* name);

/* ---- Issuance step by step ------------------------------------------- */

/*
 * For firmware that runs its own event loop: acme_issuance_step() never
 * sleeps. It makes the requests the current state needs (each blocks on
 * the transport only) and says what to do next:
 *
 *   ACME_NEXT_SOLVE   present the challenges listed by the getters below
 *                     (make them visible to the CA), then call
 *                     acme_issuance_challenges_presented()
 *   ACME_NEXT_WAIT    call acme_issuance_step() again at *when_ms or later
 *                     (milliseconds since the Unix epoch)
 *   ACME_NEXT_DONE    take the certificate with acme_issuance_take()
 *   ACME_NEXT_FAILED  the status returned says why; withdraw every
 *                     challenge presented
 *
 * After any step, the release getters list challenges whose validation
 * is over: they may be withdrawn at once. The options' challenge and
 * DNS/HTTP-01 publishing fields are not used: the host presents the
 * challenges itself; options->challenge names the type it answers.
 */
typedef struct acme_issuance acme_issuance;

typedef enum acme_next {
    ACME_NEXT_SOLVE = 0,
    ACME_NEXT_WAIT = 1,
    ACME_NEXT_DONE = 2,
    ACME_NEXT_FAILED = 3
} acme_next;

/* With storage (may be NULL), the order in flight is kept there, resumed
   by a later issuance for the same names, and the certificate is stored
   when done. The client and storage must outlive the issuance. */
ACME_API acme_status acme_issuance_new(acme_issuance** out, acme_client* client,
                                       acme_storage* storage,
                                       const acme_issue_options* options);
ACME_API acme_status acme_issuance_step(acme_issuance* issuance,
                                        acme_next* next, int64_t* when_ms);
ACME_API acme_status
acme_issuance_challenges_presented(acme_issuance* issuance);

/* The challenges of the last ACME_NEXT_SOLVE (or, for the release getters,
   those whose validation is over), valid until the next step. The key
   authorization is secret until presented: do not log it. */
ACME_API size_t acme_issuance_challenge_count(const acme_issuance* issuance);
ACME_API size_t acme_issuance_release_count(const acme_issuance* issuance);
/* Which list: 0 the challenges to solve, 1 those released. */
ACME_API const char* acme_issuance_challenge_type(const acme_issuance* issuance,
                                                  int released, size_t index);
ACME_API const char*
acme_issuance_challenge_identifier(const acme_issuance* issuance, int released,
                                   size_t index);
ACME_API int acme_issuance_challenge_wildcard(const acme_issuance* issuance,
                                              int released, size_t index);
ACME_API const char*
acme_issuance_challenge_token(const acme_issuance* issuance, int released,
                              size_t index);
ACME_API const char*
acme_issuance_challenge_key_authorization(const acme_issuance* issuance,
                                          int released, size_t index);
/* For dns-01: the TXT value for _acme-challenge.<identifier>. */
ACME_API const char*
acme_issuance_challenge_dns_value(const acme_issuance* issuance, int released,
                                  size_t index);

/* The order's URL once placed or resumed, else NULL; 1 when resumed. */
ACME_API const char* acme_issuance_order_url(const acme_issuance* issuance);
ACME_API int acme_issuance_resumed(const acme_issuance* issuance);

/* After ACME_NEXT_DONE: hands the certificate over (once). */
ACME_API acme_status acme_issuance_take(acme_certificate** out,
                                        acme_issuance* issuance);
ACME_API void acme_issuance_free(acme_issuance* issuance);

/* ---- Renewal ---------------------------------------------------------- */

/* acme_certificate_renew() flags. */
#define ACME_RENEW_FORCE 1u /* renew even when not due, ignoring backoff */

/*
 * Renews the certificate stored for options->names when it is due (see
 * acme_renewal_check()), or always with ACME_RENEW_FORCE, and stores the
 * new one; also the first issuance, when nothing is stored. The order
 * names the certificate it replaces when the CA offers ARI, asks for the
 * profile used last time unless options->profile says otherwise, and
 * continues an order a restart left unfinished (kept in the storage as
 * certificates/<name>/order.json) instead of placing a new one.
 * ACME_OK with *out NULL when nothing was due. A failure is counted in the
 * storage and backs off 1, 10, 100 minutes, then a day. Needs an account
 * in use. options->csr cannot be used here (ACME_E_INVALID_ARGUMENT).
 */
ACME_API acme_status acme_certificate_renew(acme_certificate** out,
                                            acme_client* client,
                                            acme_storage* storage,
                                            const acme_issue_options* options,
                                            unsigned flags);

/* When a stored certificate is due, and why. */
typedef struct acme_renewal acme_renewal;

/*
 * Decides for the certificate stored under name (its first domain name).
 * With a client, the CA's renewalInfo (RFC 9773) is asked when its last
 * answer has expired; with client NULL only the storage is read (for a
 * status display, or a device offline). *out is set on ACME_OK, also when
 * nothing is stored (acme_renewal_stored() is then 0 and it is due).
 */
ACME_API acme_status acme_renewal_check(acme_renewal** out, acme_client* client,
                                        acme_storage* storage,
                                        const char* name);
/* 1 when a certificate is stored for the name. */
ACME_API int acme_renewal_stored(const acme_renewal* renewal);
/* 1 when it should be renewed now. */
ACME_API int acme_renewal_due(const acme_renewal* renewal);
/* Seconds since the Unix epoch: when renewal is (or was) due, and when to
   check again. */
ACME_API int64_t acme_renewal_time(const acme_renewal* renewal);
ACME_API int64_t acme_renewal_next_check(const acme_renewal* renewal);
/* The stored certificate's notAfter, seconds since the Unix epoch. */
ACME_API int64_t acme_renewal_not_after(const acme_renewal* renewal);
/* Why, in one line for an operator. Valid as long as renewal. */
ACME_API const char* acme_renewal_reason(const acme_renewal* renewal);
/* The CA's explanation URL from renewalInfo, or NULL. */
ACME_API const char* acme_renewal_explanation_url(const acme_renewal* renewal);
/* Failed renewals in a row. */
ACME_API int acme_renewal_failures(const acme_renewal* renewal);
/* The stored certificate's names (subjectAltName). */
ACME_API size_t acme_renewal_name_count(const acme_renewal* renewal);
ACME_API const char* acme_renewal_name(const acme_renewal* renewal,
                                       size_t index);
ACME_API void acme_renewal_free(acme_renewal* renewal);

/*
 * Reads which certificates the storage holds, for the getter below, which
 * returns each one's first domain name (as acme_certificate_load() and
 * acme_renewal_check() take it), sorted, or NULL past the end. The names
 * stay valid until the next call on the storage.
 */
ACME_API acme_status acme_storage_list_certificates(acme_storage* storage,
                                                    size_t* count);
ACME_API const char* acme_storage_certificate_name(const acme_storage* storage,
                                                   size_t index);

/* The storage folder of the certificate's generation, such as
   "certificates/device.example.com/g7", once saved or loaded; else NULL.
   Valid as long as the certificate. */
ACME_API const char*
acme_certificate_folder(const acme_certificate* certificate);
ACME_API void acme_certificate_free(acme_certificate* certificate);

#ifdef __cplusplus
}
#endif

#endif /* ACMEKIT_H */
