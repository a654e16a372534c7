/*
 * host_crypto DIRECTORY_URL CA_FILE HTTP01_PORT NAME RSA_NAME STORE EAB_KID
 * EAB_KEY - the C ABI with the host's own crypto table, here over OpenSSL's
 * libcrypto standing in for a secure element: keys live in the host's key
 * store and leave it only as a reference ("hostkey:N"). Against Pebble
 * with EAB required: an account is opened (its key and the EAB MAC made
 * by the host), a P-384 certificate issued and stored, an RSA-2048 one
 * issued, the account and certificate reopened by a second client from
 * the references, and failing or malformed host signatures reported.
 * ECDSA signatures go back as r||s for P-256 and as DER for P-384, so both
 * forms are exercised. Writes the stored P-384 chain to standard output;
 * exits 0 when every check holds.
 */
#define _POSIX_C_SOURCE 200809L

#include <acmekit.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEYS 16

static int failures;

#define EXPECT(cond)                                                           \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__,        \
                    #cond);                                                    \
            ++failures;                                                        \
        }                                                                      \
    } while (0)

/* The host's key store: keys stay here; handles point at slots. */
struct key_store {
    EVP_PKEY* keys[MAX_KEYS];
    size_t count;
    long live_handles;
    long generated;
    long signs_raw;  /* P-256: r||s handed back */
    long signs_der;  /* P-384: DER handed back */
    long signs_rsa;  /* RSA: signed over the data itself */
    long bad_digests;
    long digests;
    long macs;
    int fail_sign;
    int short_sign;
};

struct handle {
    size_t slot;
};

static acme_status new_handle(struct key_store* store, size_t slot,
                              void** key)
{
    struct handle* h = malloc(sizeof *h);
    if (h == NULL)
        return ACME_E_OUT_OF_MEMORY;
    h->slot = slot;
    ++store->live_handles;
    *key = h;
    return ACME_OK;
}

static EVP_PKEY* key_of(struct key_store* store, void* key)
{
    return store->keys[((struct handle*)key)->slot];
}

static acme_status keep(struct key_store* store, EVP_PKEY* pkey, void** key)
{
    if (pkey == NULL)
        return ACME_E_CRYPTO;
    if (store->count == MAX_KEYS) {
        EVP_PKEY_free(pkey);
        return ACME_E_CRYPTO;
    }
    store->keys[store->count] = pkey;
    return new_handle(store, store->count++, key);
}

static acme_status generate_key(void* user, acme_key_type type, void** key)
{
    struct key_store* store = user;
    EVP_PKEY* pkey = NULL;
    switch (type) {
    case ACME_KEY_EC_P256:
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        break;
    case ACME_KEY_EC_P384:
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
        break;
    case ACME_KEY_RSA_2048:
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        break;
    default:
        return ACME_E_UNSUPPORTED;
    }
    ++store->generated;
    return keep(store, pkey, key);
}

/* "hostkey:N" names a slot; PEM text is imported into a new one. */
static acme_status load_key(void* user, const char* data, size_t length,
                            void** key)
{
    struct key_store* store = user;
    char text[32];
    unsigned long slot;
    char* end;
    BIO* bio;

    if (length > 8 && length < sizeof text && memcmp(data, "hostkey:", 8) == 0) {
        memcpy(text, data, length);
        text[length] = '\0';
        slot = strtoul(text + 8, &end, 10);
        if (*end != '\0' || slot >= store->count)
            return ACME_E_CRYPTO;
        return new_handle(store, slot, key);
    }
    bio = BIO_new_mem_buf(data, (int)length);
    if (bio == NULL)
        return ACME_E_OUT_OF_MEMORY;
    {
        EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        BIO_free(bio);
        return keep(store, pkey, key);
    }
}

static acme_status export_key(void* user, void* key, acme_bytes* out)
{
    char text[32];
    (void)user;
    snprintf(text, sizeof text, "hostkey:%lu",
             (unsigned long)((struct handle*)key)->slot);
    return acme_bytes_set(out, text, strlen(text));
}

static acme_status public_key(void* user, void* key, acme_bytes* spki)
{
    unsigned char* der = NULL;
    int length = i2d_PUBKEY(key_of(user, key), &der);
    acme_status status;
    if (length <= 0)
        return ACME_E_CRYPTO;
    status = acme_bytes_set(spki, der, (size_t)length);
    OPENSSL_free(der);
    return status;
}

/* Signs the digest the library computed, as a secure element would, after
   checking that it is the digest of data. */
static acme_status sign_digest(struct key_store* store, EVP_PKEY* pkey,
                               const uint8_t* data, size_t length,
                               const uint8_t* digest, size_t digest_length,
                               unsigned char* sig, size_t* sig_length)
{
    unsigned char check[EVP_MAX_MD_SIZE];
    unsigned int check_length = 0;
    const EVP_MD* md = digest_length == 48 ? EVP_sha384() : EVP_sha256();
    EVP_PKEY_CTX* ctx;
    int ok;

    if (!EVP_Digest(data, length, check, &check_length, md, NULL) ||
        check_length != digest_length ||
        memcmp(check, digest, digest_length) != 0)
        ++store->bad_digests;

    ctx = EVP_PKEY_CTX_new(pkey, NULL);
    ok = ctx != NULL && EVP_PKEY_sign_init(ctx) > 0 &&
         EVP_PKEY_sign(ctx, sig, sig_length, digest, digest_length) > 0;
    EVP_PKEY_CTX_free(ctx);
    return ok ? ACME_OK : ACME_E_CRYPTO;
}

static acme_status der_to_raw(const unsigned char* der, size_t der_length,
                              int half, acme_bytes* out)
{
    unsigned char raw[96];
    const unsigned char* p = der;
    ECDSA_SIG* sig = d2i_ECDSA_SIG(NULL, &p, (long)der_length);
    int ok;
    if (sig == NULL)
        return ACME_E_CRYPTO;
    ok = BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, half) == half &&
         BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + half, half) == half;
    ECDSA_SIG_free(sig);
    return ok ? acme_bytes_set(out, raw, 2 * (size_t)half) : ACME_E_CRYPTO;
}

static acme_status sign(void* user, void* key, const uint8_t* data,
                        size_t length, const uint8_t* digest,
                        size_t digest_length, acme_bytes* out)
{
    struct key_store* store = user;
    EVP_PKEY* pkey = key_of(store, key);
    unsigned char sig[1024];
    size_t sig_length = sizeof sig;
    acme_status status;

    if (store->fail_sign)
        return ACME_E_CRYPTO;
    if (store->short_sign)
        return acme_bytes_set(out, "short", 5);

    if (EVP_PKEY_is_a(pkey, "RSA")) {
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        int ok = ctx != NULL &&
                 EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) > 0 &&
                 EVP_DigestSign(ctx, sig, &sig_length, data, length) > 0;
        EVP_MD_CTX_free(ctx);
        if (!ok)
            return ACME_E_CRYPTO;
        ++store->signs_rsa;
        return acme_bytes_set(out, sig, sig_length);
    }

    status = sign_digest(store, pkey, data, length, digest, digest_length,
                         sig, &sig_length);
    if (status != ACME_OK)
        return status;
    if (EVP_PKEY_get_bits(pkey) == 384) {
        ++store->signs_der;
        return acme_bytes_set(out, sig, sig_length);
    }
    ++store->signs_raw;
    return der_to_raw(sig, sig_length, 32, out);
}

static void free_key(void* user, void* key)
{
    struct key_store* store = user;
    --store->live_handles;
    free(key);
}

static acme_status sha256(void* user, const uint8_t* data, size_t length,
                          uint8_t out[32])
{
    struct key_store* store = user;
    ++store->digests;
    return EVP_Digest(data, length, out, NULL, EVP_sha256(), NULL)
               ? ACME_OK
               : ACME_E_CRYPTO;
}

static acme_status hmac(void* user, acme_hmac_algorithm algorithm,
                        const uint8_t* key, size_t key_length,
                        const uint8_t* data, size_t length, acme_bytes* out)
{
    struct key_store* store = user;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_length = 0;
    const EVP_MD* md = algorithm == ACME_HMAC_SHA384   ? EVP_sha384()
                       : algorithm == ACME_HMAC_SHA512 ? EVP_sha512()
                                                       : EVP_sha256();
    ++store->macs;
    if (HMAC(md, key, (int)key_length, data, length, mac, &mac_length) == NULL)
        return ACME_E_CRYPTO;
    return acme_bytes_set(out, mac, mac_length);
}

/* 1 when the chain's leaf certifies the key in the given slot. */
static int leaf_has_key(const char* chain_pem, EVP_PKEY* expected)
{
    BIO* bio = BIO_new_mem_buf(chain_pem, -1);
    X509* leaf = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    int same = leaf != NULL && EVP_PKEY_eq(X509_get0_pubkey(leaf), expected) == 1;
    X509_free(leaf);
    BIO_free(bio);
    return same;
}

static int fail_with(acme_client* client, const char* step)
{
    fprintf(stderr, "host_crypto: %s: %s\n", step,
            acme_client_last_error(client));
    return 1;
}

int main(int argc, char** argv)
{
    acme_client_options options = ACME_CLIENT_OPTIONS_INIT;
    acme_crypto crypto = ACME_CRYPTO_INIT, partial = ACME_CRYPTO_INIT;
    acme_account_options account = ACME_ACCOUNT_OPTIONS_INIT;
    acme_issue_options issue = ACME_ISSUE_OPTIONS_INIT;
    struct key_store store;
    acme_client *client = NULL, *second = NULL, *refused = NULL;
    acme_storage* storage = NULL;
    acme_certificate *cert = NULL, *rsa = NULL, *loaded = NULL;
    const char* names[1];
    const char* rsa_names[1];
    char* exported = NULL;
    char account_url[512];
    size_t i;

    if (argc != 9) {
        fprintf(stderr, "usage: host_crypto DIRECTORY_URL CA_FILE HTTP01_PORT "
                        "NAME RSA_NAME STORE EAB_KID EAB_KEY\n");
        return 2;
    }
    memset(&store, 0, sizeof store);
    names[0] = argv[4];
    rsa_names[0] = argv[5];

    crypto.generate_key = generate_key;
    crypto.load_key = load_key;
    crypto.export_key = export_key;
    crypto.public_key = public_key;
    crypto.sign = sign;
    crypto.free_key = free_key;
    crypto.sha256 = sha256;
    crypto.hmac = hmac;
    crypto.user = &store;
    options.directory_url = argv[1];
    options.ca_file = argv[2];

    /* Key callbacks come together or not at all. */
    partial.load_key = load_key;
    partial.user = &store;
    options.crypto = &partial;
    EXPECT(acme_client_new(&refused, &options) == ACME_E_INVALID_ARGUMENT);
    acme_client_free(refused);

    options.crypto = &crypto;
    if (acme_client_new(&client, &options) != ACME_OK)
        return fail_with(client, "client");
    EXPECT(acme_file_storage_new(&storage, argv[6]) == ACME_OK);
    if (failures)
        return 1;

    account.terms_of_service_agreed = 1;
    account.eab_key_id = argv[7];
    account.eab_hmac_key = argv[8];
    if (acme_account_open(client, storage, ACME_KEY_EC_P256, &account) !=
        ACME_OK)
        return fail_with(client, "account");
    EXPECT(acme_client_account_created(client) == 1);
    EXPECT(store.macs == 1);
    snprintf(account_url, sizeof account_url, "%s",
             acme_client_account_url(client));

    issue.names = names;
    issue.name_count = 1;
    issue.certificate_key_type = ACME_KEY_EC_P384;
    issue.http01_address = "127.0.0.1";
    issue.http01_port = atoi(argv[3]);
    if (acme_certificate_renew(&cert, client, storage, &issue,
                               ACME_RENEW_FORCE) != ACME_OK)
        return fail_with(client, "P-384 issuance");
    EXPECT(cert != NULL);
    EXPECT(cert && leaf_has_key(acme_certificate_chain_pem(cert),
                                store.keys[store.count - 1]));
    EXPECT(cert && EVP_PKEY_get_bits(store.keys[store.count - 1]) == 384);

    issue.names = rsa_names;
    issue.certificate_key_type = ACME_KEY_RSA_2048;
    if (acme_certificate_issue(&rsa, client, &issue) != ACME_OK)
        return fail_with(client, "RSA issuance");
    EXPECT(rsa && leaf_has_key(acme_certificate_chain_pem(rsa),
                               store.keys[store.count - 1]));
    EXPECT(rsa && EVP_PKEY_is_a(store.keys[store.count - 1], "RSA"));
    EXPECT(store.generated == 3);

    /* A second client finds both from the stored references alone. */
    if (acme_client_new(&second, &options) != ACME_OK)
        return fail_with(second, "second client");
    if (acme_account_open(second, storage, ACME_KEY_EC_P256, NULL) != ACME_OK)
        return fail_with(second, "reopening the account");
    EXPECT(acme_client_account_created(second) == 0);
    EXPECT(strcmp(acme_client_account_url(second), account_url) == 0);
    EXPECT(acme_certificate_load(&loaded, second, storage, argv[4]) ==
           ACME_OK);
    EXPECT(loaded && acme_key_export_pem(&exported, NULL, second,
                                         acme_certificate_key(loaded)) ==
                         ACME_OK);
    EXPECT(exported && strncmp(exported, "hostkey:", 8) == 0);
    acme_secret_free(exported);
    EXPECT(store.generated == 3);

    /* The host's failures are the call's failures. */
    store.fail_sign = 1;
    EXPECT(acme_account_fetch(second) == ACME_E_CRYPTO);
    EXPECT(strstr(acme_client_last_error(second), "crypto sign") != NULL);
    store.fail_sign = 0;
    store.short_sign = 1;
    EXPECT(acme_account_fetch(second) == ACME_E_CRYPTO);
    EXPECT(strstr(acme_client_last_error(second), "5 bytes") != NULL);
    store.short_sign = 0;
    EXPECT(acme_account_fetch(second) == ACME_OK);

    /* Every signature and digest was the host's. */
    EXPECT(store.signs_raw > 0);
    EXPECT(store.signs_der == 1); /* the P-384 CSR */
    EXPECT(store.signs_rsa == 1); /* the RSA CSR */
    EXPECT(store.bad_digests == 0);
    EXPECT(store.digests > 0);

    if (cert)
        fputs(acme_certificate_chain_pem(cert), stdout);
    acme_certificate_free(cert);
    acme_certificate_free(rsa);
    acme_certificate_free(loaded);
    acme_client_free(client);
    acme_client_free(second);
    acme_storage_free(storage);

    /* Every handle the host gave out came back exactly once. */
    EXPECT(store.live_handles == 0);
    for (i = 0; i < store.count; ++i)
        EVP_PKEY_free(store.keys[i]);

    if (failures) {
        fprintf(stderr, "host_crypto: %d checks failed\n", failures);
        return 1;
    }
    fprintf(stderr,
            "host_crypto: all checks passed (%ld r||s, %ld DER and %ld RSA "
            "signatures, %ld digests, %ld MAC)\n",
            store.signs_raw, store.signs_der, store.signs_rsa, store.digests,
            store.macs);
    return 0;
}
