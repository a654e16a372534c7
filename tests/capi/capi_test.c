/*
 * Exercises the C ABI from C without a server: the header must compile as
 * strict C99, and every entry point must fail cleanly on bad input.
 */
#define _POSIX_C_SOURCE 200809L

#include <acmekit.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;

#define EXPECT(cond)                                                           \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__,        \
                    #cond);                                                    \
            ++failures;                                                        \
        }                                                                      \
    } while (0)

static void test_version(void)
{
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", ACME_VERSION_MAJOR,
             ACME_VERSION_MINOR, ACME_VERSION_PATCH);
    EXPECT(strcmp(acme_version(), expected) == 0);
    EXPECT(acme_version_number() == ACME_VERSION_NUMBER);
}

static void test_strerror(void)
{
    int code;
    EXPECT(strcmp(acme_strerror(ACME_OK), "success") == 0);
    EXPECT(strcmp(acme_strerror(ACME_E_SERVER_RATE_LIMITED), "rate limited") ==
           0);
    for (code = 0; code <= ACME_E_SERVER_OTHER; ++code)
        EXPECT(acme_strerror((acme_status)code) != NULL);
    EXPECT(strcmp(acme_strerror((acme_status)9999), "unknown status") == 0);
}

static void test_free_null(void)
{
    acme_client_free(NULL);
    acme_key_free(NULL);
    acme_certificate_free(NULL);
    acme_secret_free(NULL);
    EXPECT(strcmp(acme_client_last_error(NULL), "") == 0);
    EXPECT(acme_client_last_problem(NULL) == NULL);
    EXPECT(strcmp(acme_problem_instance(NULL), "") == 0);
}

static void test_bad_options(void)
{
    acme_client_options options = ACME_CLIENT_OPTIONS_INIT;
    acme_client* client = NULL;

    EXPECT(acme_client_new(NULL, &options) == ACME_E_INVALID_ARGUMENT);

    options.size = 0;
    EXPECT(acme_client_new(&client, &options) == ACME_E_INVALID_ARGUMENT);
    EXPECT(client != NULL);
    EXPECT(strstr(acme_client_last_error(client), "_INIT") != NULL);
    /* A client that failed to open refuses work with the same reason. */
    EXPECT(acme_client_fetch_directory(client) == ACME_E_INVALID_ARGUMENT);
    EXPECT(strstr(acme_client_last_error(client), "failed to open") != NULL);
    acme_client_free(client);

    options.size = sizeof options;
    options.directory_url = "ftp://ca.example/dir";
    EXPECT(acme_client_new(&client, &options) == ACME_E_INVALID_ARGUMENT);
    EXPECT(strstr(acme_client_last_error(client), "https://") != NULL);
    acme_client_free(client);

    options.directory_url = "https://127.0.0.1:1/dir";
    options.ca_file = "/nonexistent/ca.pem";
    EXPECT(acme_client_new(&client, &options) == ACME_E_IO);
    EXPECT(strstr(acme_client_last_error(client), "/nonexistent/ca.pem") !=
           NULL);
    acme_client_free(client);
}

static void test_keys(void)
{
    acme_client_options options = ACME_CLIENT_OPTIONS_INIT;
    acme_client* client = NULL;
    acme_key* key = NULL;
    acme_key* again = NULL;
    char* pem = NULL;
    size_t length = 0;

    options.directory_url = "https://127.0.0.1:1/dir";
    EXPECT(acme_client_new(&client, &options) == ACME_OK);
    EXPECT(acme_key_generate(&key, client, ACME_KEY_EC_P256) == ACME_OK);
    EXPECT(acme_key_export_pem(&pem, &length, client, key) == ACME_OK);
    EXPECT(pem != NULL && strlen(pem) == length);
    EXPECT(pem != NULL && strstr(pem, "PRIVATE KEY") != NULL);
    EXPECT(acme_key_load_pem(&again, client, pem, length) == ACME_OK);
    acme_secret_free(pem);
    acme_key_free(again);
    again = NULL;

    EXPECT(acme_key_load_pem(&again, client, "junk", 4) != ACME_OK);
    EXPECT(again == NULL);
    EXPECT(acme_key_generate(&again, client, (acme_key_type)42) ==
           ACME_E_INVALID_ARGUMENT);

    /* No account yet: issuing must refuse, not crash. */
    {
        acme_issue_options issue = ACME_ISSUE_OPTIONS_INIT;
        acme_certificate* cert = NULL;
        const char* names[] = {"bad_name..example"};
        issue.names = names;
        issue.name_count = 1;
        EXPECT(acme_certificate_issue(&cert, client, &issue) ==
               ACME_E_INVALID_ARGUMENT);
        EXPECT(cert == NULL);
        EXPECT(strstr(acme_client_last_error(client), "invalid domain name") !=
               NULL);
    }

    EXPECT(acme_check_domain_name(client, "device.example.com") == ACME_OK);
    EXPECT(acme_check_domain_name(client, "-x.example.com") ==
           ACME_E_INVALID_ARGUMENT);
    EXPECT(strstr(acme_client_last_error(client), "-x.example.com") != NULL);
    EXPECT(acme_check_domain_name(client, NULL) == ACME_E_INVALID_ARGUMENT);

    /* Account calls without an account fail cleanly. */
    EXPECT(acme_account_fetch(NULL) == ACME_E_INVALID_ARGUMENT);
    EXPECT(acme_account_deactivate(NULL) == ACME_E_INVALID_ARGUMENT);
    EXPECT(acme_account_change_key(client, NULL) == ACME_E_INVALID_ARGUMENT);
    EXPECT(acme_certificate_revoke(client, NULL, 0, ACME_REVOKE_NO_REASON,
                                   NULL) == ACME_E_INVALID_ARGUMENT);
    EXPECT(acme_client_account_status(client) == NULL);
    EXPECT(acme_client_account_contact_count(client) == 0);
    EXPECT(acme_client_account_contact(client, 0) == NULL);
    EXPECT(acme_account_update(client, NULL, 1) == ACME_E_INVALID_ARGUMENT);

    acme_key_free(key);
    acme_client_free(client);
}

/* The storage calls that need no server: nothing stored yet, bad names,
   and an account that must not be created. */
static void test_storage(void)
{
    acme_client_options options = ACME_CLIENT_OPTIONS_INIT;
    acme_account_options existing = ACME_ACCOUNT_OPTIONS_INIT;
    acme_client* client = NULL;
    acme_storage* storage = NULL;
    acme_certificate* cert = NULL;
    char root[] = "/tmp/acmekit-capi-XXXXXX";

    EXPECT(mkdtemp(root) != NULL);
    EXPECT(acme_file_storage_new(NULL, root) == ACME_E_INVALID_ARGUMENT);
    EXPECT(acme_file_storage_new(&storage, NULL) == ACME_E_INVALID_ARGUMENT);
    EXPECT(storage == NULL);
    EXPECT(acme_file_storage_new(&storage, "") == ACME_E_INVALID_ARGUMENT);
    EXPECT(acme_file_storage_new(&storage, root) == ACME_OK);
    acme_storage_free(NULL);

    options.directory_url = "https://127.0.0.1:1/dir";
    EXPECT(acme_client_new(&client, &options) == ACME_OK);
    EXPECT(acme_certificate_load(&cert, client, storage,
                                 "device.example.com") == ACME_OK);
    EXPECT(cert == NULL);
    EXPECT(acme_certificate_load(&cert, client, storage, "../etc") ==
           ACME_E_INVALID_ARGUMENT);
    EXPECT(acme_certificate_save(client, storage, NULL) ==
           ACME_E_INVALID_ARGUMENT);
    EXPECT(acme_certificate_folder(NULL) == NULL);

    existing.only_return_existing = 1;
    EXPECT(acme_account_open(client, storage, ACME_KEY_EC_P256, &existing) ==
           ACME_E_SERVER_ACCOUNT_DOES_NOT_EXIST);
    EXPECT(strstr(acme_client_last_error(client), "accounts/127.0.0.1_1_dir") !=
           NULL);
    EXPECT(acme_client_account_created(client) == 0);
    EXPECT(acme_account_rollover(client, storage, ACME_KEY_EC_P256) ==
           ACME_E_INVALID_ARGUMENT);
    EXPECT(acme_account_open(NULL, storage, ACME_KEY_EC_P256, NULL) ==
           ACME_E_INVALID_ARGUMENT);

    /* Nothing was written: the folder is still empty. */
    EXPECT(rmdir(root) == 0);
    acme_storage_free(storage);
    acme_client_free(client);
}

/* A host crypto table with no crypto behind it: handles are counted, and
   the public key is whatever the test puts in `spki`. */
struct fake_keys {
    long live;
    acme_status public_key_status;
    int give_null;
    int oversize;
    unsigned char spki[91];
    size_t spki_length;
};

static acme_status fake_load(void* user, const char* data, size_t length,
                             void** key)
{
    struct fake_keys* keys = user;
    (void)data;
    (void)length;
    if (keys->give_null) {
        *key = NULL;
        return ACME_OK;
    }
    ++keys->live;
    *key = keys;
    return ACME_OK;
}

static acme_status fake_public_key(void* user, void* key, acme_bytes* out)
{
    struct fake_keys* keys = user;
    (void)key;
    static char big[64 * 1024 + 1];
    if (keys->public_key_status != ACME_OK)
        return keys->public_key_status;
    if (keys->oversize)
        return acme_bytes_set(out, big, sizeof big);
    return acme_bytes_set(out, keys->spki, keys->spki_length);
}

static acme_status fake_sign(void* user, void* key, const uint8_t* data,
                             size_t length, const uint8_t* digest,
                             size_t digest_length, acme_bytes* out)
{
    (void)user;
    (void)key;
    (void)data;
    (void)length;
    (void)digest;
    (void)digest_length;
    (void)out;
    return ACME_E_CRYPTO;
}

static void fake_free(void* user, void* key)
{
    struct fake_keys* keys = user;
    (void)key;
    --keys->live;
}

static acme_status fake_sha256(void* user, const uint8_t* data, size_t length,
                               uint8_t out[32])
{
    (void)user;
    (void)data;
    (void)length;
    memset(out, 0, 32);
    return ACME_OK;
}

/* The crypto table's rules and failures, without any request. */
static void test_host_crypto(void)
{
    /* A P-256 SubjectPublicKeyInfo: its fixed header, then 04 || X || Y. */
    static const unsigned char p256_header[] = {
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
        0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
        0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};
    acme_client_options options = ACME_CLIENT_OPTIONS_INIT;
    acme_crypto table = ACME_CRYPTO_INIT;
    acme_client* client = NULL;
    acme_key* key = NULL;
    char* pem = NULL;
    struct fake_keys keys;

    memset(&keys, 0, sizeof keys);
    memcpy(keys.spki, p256_header, sizeof p256_header);
    memset(keys.spki + sizeof p256_header, 0x11, 64);
    keys.spki_length = sizeof p256_header + 64;
    options.directory_url = "https://127.0.0.1:1/dir";
    options.crypto = &table;
    table.user = &keys;

    /* Half a set of key callbacks is refused, and so is export alone. */
    table.load_key = fake_load;
    table.public_key = fake_public_key;
    EXPECT(acme_client_new(&client, &options) == ACME_E_INVALID_ARGUMENT);
    EXPECT(strstr(acme_client_last_error(client), "together") != NULL);
    acme_client_free(client);
    table.load_key = NULL;
    table.public_key = NULL;
    table.export_key = NULL;
    table.generate_key = NULL;
    table.sha256 = fake_sha256;
    EXPECT(acme_client_new(&client, &options) == ACME_OK);
    /* Digests alone: keys stay built in. */
    EXPECT(acme_key_generate(&key, client, ACME_KEY_EC_P256) == ACME_OK);
    acme_key_free(key);
    key = NULL;
    acme_client_free(client);

    table.load_key = fake_load;
    table.public_key = fake_public_key;
    table.sign = fake_sign;
    table.free_key = fake_free;
    EXPECT(acme_client_new(&client, &options) == ACME_OK);

    /* No generate_key, no export_key: both unsupported. */
    EXPECT(acme_key_generate(&key, client, ACME_KEY_EC_P256) ==
           ACME_E_UNSUPPORTED);
    EXPECT(acme_key_load_pem(&key, client, "slot:1", 6) == ACME_OK);
    EXPECT(keys.live == 1);
    EXPECT(acme_key_export_pem(&pem, NULL, client, key) == ACME_E_UNSUPPORTED);
    EXPECT(pem == NULL);

    /* A key outlives its client; its handle goes back when it is freed. */
    acme_client_free(client);
    EXPECT(keys.live == 1);
    acme_key_free(key);
    key = NULL;
    EXPECT(keys.live == 0);

    /* A handle whose public key is unusable is handed back at once. */
    EXPECT(acme_client_new(&client, &options) == ACME_OK);
    keys.spki[sizeof p256_header - 1] = 0x02; /* compressed: refused */
    EXPECT(acme_key_load_pem(&key, client, "slot:2", 6) ==
           ACME_E_INVALID_ARGUMENT);
    EXPECT(key == NULL && keys.live == 0);
    keys.public_key_status = ACME_E_CRYPTO;
    EXPECT(acme_key_load_pem(&key, client, "slot:3", 6) == ACME_E_CRYPTO);
    EXPECT(strstr(acme_client_last_error(client), "public_key") != NULL);
    EXPECT(key == NULL && keys.live == 0);
    keys.public_key_status = ACME_OK;
    keys.give_null = 1;
    EXPECT(acme_key_load_pem(&key, client, "slot:4", 6) == ACME_E_CRYPTO);
    EXPECT(key == NULL && keys.live == 0);
    keys.give_null = 0;
    keys.oversize = 1; /* more than acme_bytes takes */
    EXPECT(acme_key_load_pem(&key, client, "slot:5", 6) ==
           ACME_E_INVALID_ARGUMENT);
    EXPECT(key == NULL && keys.live == 0);
    acme_client_free(client);

    EXPECT(acme_bytes_set(NULL, "x", 1) == ACME_E_INVALID_ARGUMENT);
}

int main(void)
{
    test_version();
    test_strerror();
    test_free_null();
    test_bad_options();
    test_keys();
    test_storage();
    test_host_crypto();
    if (failures == 0)
        printf("capi: all checks passed\n");
    return failures == 0 ? 0 : 1;
}
