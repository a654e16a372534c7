/*
 * host_services DIRECTORY_URL CA_FILE HTTP01_PORT NAME - the C ABI with a
 * host's own storage (in memory, through the callback table) and clock:
 * an account is opened and stored, a certificate issued, stored as a
 * generation and loaded back, found not due, and listed; the clock's
 * callbacks are the only time source. Exits 0 when every check holds.
 */
#define _POSIX_C_SOURCE 200809L

#include <acmekit.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_VALUES 64

static int failures;

#define EXPECT(cond)                                                           \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__,        \
                    #cond);                                                    \
            ++failures;                                                        \
        }                                                                      \
    } while (0)

/* A store of name/value pairs in memory; put replaces in one step, which
   is as atomic as memory gets. */
struct memory_store {
    char* names[MAX_VALUES];
    char* values[MAX_VALUES];
    size_t lengths[MAX_VALUES];
    int secret[MAX_VALUES];
    size_t count;
    int puts;
};

static int find(struct memory_store* store, const char* name)
{
    size_t i;
    for (i = 0; i < store->count; ++i)
        if (strcmp(store->names[i], name) == 0)
            return (int)i;
    return -1;
}

static acme_status store_get(void* user, const char* name,
                             acme_storage_value* value)
{
    struct memory_store* store = user;
    int at = find(store, name);
    if (at < 0)
        return ACME_OK;
    return acme_storage_value_set(value, store->values[at], store->lengths[at]);
}

static acme_status store_put(void* user, const char* name, const char* data,
                             size_t length, int secret)
{
    struct memory_store* store = user;
    int at = find(store, name);
    char* copy = malloc(length ? length : 1);

    if (!copy)
        return ACME_E_OUT_OF_MEMORY;
    memcpy(copy, data, length);
    if (at < 0) {
        if (store->count == MAX_VALUES) {
            free(copy);
            return ACME_E_IO;
        }
        at = (int)store->count++;
        store->names[at] = strdup(name);
    } else {
        free(store->values[at]);
    }
    store->values[at] = copy;
    store->lengths[at] = length;
    store->secret[at] = secret;
    ++store->puts;
    return ACME_OK;
}

static acme_status store_remove(void* user, const char* name)
{
    struct memory_store* store = user;
    int at = find(store, name);
    if (at < 0)
        return ACME_OK;
    free(store->names[at]);
    free(store->values[at]);
    --store->count;
    store->names[at] = store->names[store->count];
    store->values[at] = store->values[store->count];
    store->lengths[at] = store->lengths[store->count];
    store->secret[at] = store->secret[store->count];
    return ACME_OK;
}

/* Children of folder: the next path segment of every name under it. */
static acme_status store_list(void* user, const char* folder,
                              acme_storage_names* names)
{
    struct memory_store* store = user;
    size_t i, j, prefix = strlen(folder);
    char child[512];

    for (i = 0; i < store->count; ++i) {
        const char* name = store->names[i];
        const char* end;
        int seen = 0;
        if (strncmp(name, folder, prefix) != 0 || name[prefix] != '/')
            continue;
        end = strchr(name + prefix + 1, '/');
        snprintf(child, sizeof child, "%.*s",
                 (int)(end ? (size_t)(end - name) : strlen(name)), name);
        for (j = 0; j < i && !seen; ++j)
            seen = strncmp(store->names[j], child, strlen(child)) == 0 &&
                   (store->names[j][strlen(child)] == '/' ||
                    store->names[j][strlen(child)] == '\0');
        if (!seen && acme_storage_names_add(names, child) != ACME_OK)
            return ACME_E_OUT_OF_MEMORY;
    }
    return ACME_OK;
}

struct host_clock {
    long now_calls;
    long sleeps;
};

static int64_t clock_now(void* user)
{
    struct host_clock* clock = user;
    struct timespec now;
    ++clock->now_calls;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void clock_sleep(void* user, int64_t when_ms)
{
    struct host_clock* clock = user;
    int64_t left = when_ms - clock_now(user);
    struct timespec wait;
    ++clock->sleeps;
    if (left <= 0)
        return;
    wait.tv_sec = (time_t)(left / 1000);
    wait.tv_nsec = (long)(left % 1000) * 1000000L;
    nanosleep(&wait, NULL);
}

static int fail_with(acme_client* client, const char* step)
{
    fprintf(stderr, "host_services: %s: %s\n", step,
            acme_client_last_error(client));
    return 1;
}

int main(int argc, char** argv)
{
    acme_client_options options = ACME_CLIENT_OPTIONS_INIT;
    acme_clock clock = ACME_CLOCK_INIT;
    acme_storage_callbacks callbacks = ACME_STORAGE_CALLBACKS_INIT;
    acme_account_options account = ACME_ACCOUNT_OPTIONS_INIT;
    acme_issue_options issue = ACME_ISSUE_OPTIONS_INIT;
    struct memory_store store;
    struct host_clock ticks = {0, 0};
    acme_client* client = NULL;
    acme_storage* storage = NULL;
    acme_certificate *cert = NULL, *loaded = NULL, *again = NULL;
    acme_renewal* renewal = NULL;
    const char* names[1];
    size_t count = 0, i;
    int key_secret = 0;

    if (argc != 5) {
        fprintf(stderr, "usage: host_services DIRECTORY_URL CA_FILE "
                        "HTTP01_PORT NAME\n");
        return 2;
    }
    memset(&store, 0, sizeof store);
    names[0] = argv[4];

    clock.now_ms = clock_now;
    clock.sleep_until_ms = clock_sleep;
    clock.user = &ticks;
    options.directory_url = argv[1];
    options.ca_file = argv[2];
    options.clock = &clock;
    callbacks.get = store_get;
    callbacks.put = store_put;
    callbacks.remove = store_remove;
    callbacks.list = store_list;
    callbacks.user = &store;

    EXPECT(acme_client_new(&client, &options) == ACME_OK);
    EXPECT(acme_storage_new_callbacks(&storage, &callbacks) == ACME_OK);
    if (failures)
        return 1;

    account.terms_of_service_agreed = 1;
    if (acme_account_open(client, storage, ACME_KEY_EC_P256, &account) !=
        ACME_OK)
        return fail_with(client, "account");
    EXPECT(acme_client_account_created(client) == 1);
    EXPECT(store.puts == 2); /* the key, then the URL */

    issue.names = names;
    issue.name_count = 1;
    issue.http01_address = "127.0.0.1";
    issue.http01_port = atoi(argv[3]);
    if (acme_certificate_renew(&cert, client, storage, &issue, 0) != ACME_OK)
        return fail_with(client, "first issuance");
    EXPECT(cert != NULL);
    EXPECT(cert && acme_certificate_folder(cert) != NULL &&
           strstr(acme_certificate_folder(cert), "/g1") != NULL);

    /* Stored through the callbacks, the key as a secret. */
    for (i = 0; i < store.count; ++i)
        if (strstr(store.names[i], "/g1/certificate.key"))
            key_secret = store.secret[i];
    EXPECT(key_secret == 1);

    EXPECT(acme_certificate_load(&loaded, client, storage, argv[4]) == ACME_OK);
    EXPECT(loaded && cert &&
           strcmp(acme_certificate_chain_pem(loaded),
                  acme_certificate_chain_pem(cert)) == 0);

    /* A fresh certificate is not due: nothing is ordered. */
    EXPECT(acme_certificate_renew(&again, client, storage, &issue, 0) ==
           ACME_OK);
    EXPECT(again == NULL);
    EXPECT(acme_renewal_check(&renewal, client, storage, argv[4]) == ACME_OK);
    EXPECT(renewal && acme_renewal_stored(renewal) == 1 &&
           acme_renewal_due(renewal) == 0);
    EXPECT(renewal && acme_renewal_name_count(renewal) == 1 &&
           strcmp(acme_renewal_name(renewal, 0), argv[4]) == 0);

    EXPECT(acme_storage_list_certificates(storage, &count) == ACME_OK);
    EXPECT(count == 1 &&
           strcmp(acme_storage_certificate_name(storage, 0), argv[4]) == 0);

    /* Every time the library used came from the host's clock. */
    EXPECT(ticks.now_calls > 0);
    EXPECT(ticks.sleeps > 0);

    if (cert)
        fputs(acme_certificate_chain_pem(cert), stdout);
    acme_renewal_free(renewal);
    acme_certificate_free(again);
    acme_certificate_free(loaded);
    acme_certificate_free(cert);
    acme_storage_free(storage);
    acme_client_free(client);
    for (i = 0; i < store.count; ++i) {
        free(store.names[i]);
        free(store.values[i]);
    }
    if (failures == 0)
        fprintf(stderr, "host_services: all checks passed\n");
    return failures == 0 ? 0 : 1;
}
