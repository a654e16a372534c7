/*
 * bench/scale.c - many certificates from one process: COUNT issuances for
 * different names, spread over THREADS threads, each thread with its own
 * acme_client and account. HTTP-01 goes through the http01_publish and
 * http01_withdraw callbacks into one token table that one small HTTP
 * server thread of this program serves on 127.0.0.1:PORT, so that the
 * issuances need no port of their own.
 *
 *   scale DIRECTORY_URL CA_FILE PORT COUNT THREADS SUFFIX
 *
 * Names are s1.SUFFIX ... sCOUNT.SUFFIX. Prints key=value lines: the
 * total wall time, per-issuance latency (min, median, max), failures and
 * the process's peak RSS; exits 1 if any issuance failed. Uses only the C
 * header (capi/acmekit.h) and the shared library.
 */
#define _POSIX_C_SOURCE 200809L

#include <acmekit.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* ---- the token table ------------------------------------------------- */

#define MAX_TOKENS 1024
#define MAX_TOKEN_LENGTH 128

struct token_entry {
    char token[MAX_TOKEN_LENGTH];
    char* key_authorization; /* NULL: free slot */
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct token_entry table[MAX_TOKENS];
static int tokens_served;

static int publish(void* user, const char* identifier, const char* token,
                   const char* key_authorization)
{
    size_t i;
    int rc = 1;
    (void)user;
    (void)identifier;
    if (strlen(token) >= MAX_TOKEN_LENGTH)
        return 1;
    pthread_mutex_lock(&table_lock);
    for (i = 0; i < MAX_TOKENS; ++i) {
        if (table[i].key_authorization == NULL) {
            char* copy = malloc(strlen(key_authorization) + 1);
            if (copy == NULL)
                break;
            strcpy(copy, key_authorization);
            strcpy(table[i].token, token);
            table[i].key_authorization = copy;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&table_lock);
    return rc;
}

static void withdraw(void* user, const char* identifier, const char* token)
{
    size_t i;
    (void)user;
    (void)identifier;
    pthread_mutex_lock(&table_lock);
    for (i = 0; i < MAX_TOKENS; ++i) {
        if (table[i].key_authorization != NULL &&
            strcmp(table[i].token, token) == 0) {
            free(table[i].key_authorization);
            table[i].key_authorization = NULL;
            table[i].token[0] = '\0';
            break;
        }
    }
    pthread_mutex_unlock(&table_lock);
}

/* Copies the key authorization for token into out; 0 when found. */
static int lookup(const char* token, char* out, size_t size)
{
    size_t i;
    int rc = 1;
    pthread_mutex_lock(&table_lock);
    for (i = 0; i < MAX_TOKENS; ++i) {
        if (table[i].key_authorization != NULL &&
            strcmp(table[i].token, token) == 0 &&
            strlen(table[i].key_authorization) < size) {
            strcpy(out, table[i].key_authorization);
            ++tokens_served;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&table_lock);
    return rc;
}

/* ---- the HTTP server ------------------------------------------------- */

static const char challenge_prefix[] = "GET /.well-known/acme-challenge/";

static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static int stop_server;

static int server_should_stop(void)
{
    int stop;
    pthread_mutex_lock(&stop_lock);
    stop = stop_server;
    pthread_mutex_unlock(&stop_lock);
    return stop;
}

static void send_all(int fd, const char* data, size_t length)
{
    while (length > 0) {
        ssize_t n = send(fd, data, length, MSG_NOSIGNAL);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            return;
        }
        data += n;
        length -= (size_t)n;
    }
}

/* One request per connection (Pebble's validator sends no second one),
   read within the socket's 2 s receive timeout. */
static void serve_connection(int fd)
{
    char request[4096];
    char token[MAX_TOKEN_LENGTH];
    char body[512];
    char response[1024];
    size_t used = 0;
    struct timeval limit = {2, 0};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    while (used < sizeof request - 1) {
        ssize_t n = recv(fd, request + used, sizeof request - 1 - used, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
        request[used] = '\0';
        if (strstr(request, "\r\n\r\n") != NULL)
            break;
    }
    request[used] = '\0';

    body[0] = '\0';
    if (strncmp(request, challenge_prefix, sizeof challenge_prefix - 1) == 0) {
        const char* start = request + sizeof challenge_prefix - 1;
        size_t length = strcspn(start, " \r\n");
        if (length > 0 && length < sizeof token) {
            memcpy(token, start, length);
            token[length] = '\0';
            if (lookup(token, body, sizeof body) != 0)
                body[0] = '\0';
        }
    }
    if (body[0] != '\0')
        snprintf(response, sizeof response,
                 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                 strlen(body), body);
    else
        snprintf(response, sizeof response,
                 "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                 "Connection: close\r\n\r\n");
    send_all(fd, response, strlen(response));
    close(fd);
}

static void* server_main(void* arg)
{
    int listen_fd = *(int*)arg;
    while (!server_should_stop()) {
        struct pollfd p = {listen_fd, POLLIN, 0};
        int fd;
        if (poll(&p, 1, 100) <= 0)
            continue;
        fd = accept(listen_fd, NULL, NULL);
        if (fd >= 0)
            serve_connection(fd);
    }
    return NULL;
}

static int listen_on(int port)
{
    struct sockaddr_in address;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr*)&address, sizeof address) != 0 ||
        listen(fd, 64) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- the issuing threads --------------------------------------------- */

static const char* directory_url;
static const char* ca_file;
static const char* suffix;

struct worker {
    int first; /* names s<first+1> ... */
    int count;
    double* latency_ms; /* count entries */
    int failures;
    char error[512];
};

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

static void note_error(struct worker* w, acme_client* client, const char* what,
                       acme_status status)
{
    if (w->error[0] != '\0')
        return;
    snprintf(w->error, sizeof w->error, "%s: %s", what,
             client != NULL && acme_client_last_error(client)[0] != '\0'
                 ? acme_client_last_error(client)
                 : acme_strerror(status));
}

static void* worker_main(void* arg)
{
    struct worker* w = arg;
    acme_client_options options = ACME_CLIENT_OPTIONS_INIT;
    acme_account_options account = ACME_ACCOUNT_OPTIONS_INIT;
    acme_client* client = NULL;
    acme_key* account_key = NULL;
    acme_status status;
    int i;

    options.directory_url = directory_url;
    options.ca_file = ca_file;
    status = acme_client_new(&client, &options);
    if (status == ACME_OK)
        status = acme_key_generate(&account_key, client, ACME_KEY_EC_P256);
    if (status == ACME_OK) {
        account.terms_of_service_agreed = 1;
        status = acme_account_register(client, account_key, &account);
    }
    if (status != ACME_OK) {
        note_error(w, client, "account", status);
        w->failures = w->count;
        for (i = 0; i < w->count; ++i)
            w->latency_ms[i] = -1;
    }

    for (i = 0; status == ACME_OK && i < w->count; ++i) {
        acme_issue_options issue = ACME_ISSUE_OPTIONS_INIT;
        acme_certificate* cert = NULL;
        acme_status rc;
        char name[256];
        const char* names[1];
        double start;

        snprintf(name, sizeof name, "s%d.%s", w->first + i + 1, suffix);
        names[0] = name;
        issue.names = names;
        issue.name_count = 1;
        issue.certificate_key_type = ACME_KEY_EC_P256;
        issue.challenge = ACME_CHALLENGE_HTTP_01;
        issue.http01_publish = publish;
        issue.http01_withdraw = withdraw;
        start = now_ms();
        rc = acme_certificate_issue(&cert, client, &issue);
        w->latency_ms[i] = now_ms() - start;
        if (rc != ACME_OK) {
            note_error(w, client, name, rc);
            w->failures++;
            w->latency_ms[i] = -1;
        } else if (strncmp(acme_certificate_chain_pem(cert),
                           "-----BEGIN CERTIFICATE-----", 27) != 0) {
            snprintf(w->error, sizeof w->error, "%s: no PEM chain", name);
            w->failures++;
            w->latency_ms[i] = -1;
        }
        acme_certificate_free(cert);
    }

    acme_client_free(client);
    acme_key_free(account_key);
    return NULL;
}

static int compare_doubles(const void* a, const void* b)
{
    double x = *(const double*)a;
    double y = *(const double*)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

int main(int argc, char** argv)
{
    pthread_t server;
    pthread_t* threads;
    struct worker* workers;
    double* all;
    double start, total;
    struct rusage usage;
    int port, count, thread_count, listen_fd, i, j, n = 0, failures = 0;

    if (argc != 7) {
        fprintf(stderr, "usage: scale DIRECTORY_URL CA_FILE PORT COUNT "
                        "THREADS SUFFIX\n");
        return 2;
    }
    directory_url = argv[1];
    ca_file = argv[2];
    port = atoi(argv[3]);
    count = atoi(argv[4]);
    thread_count = atoi(argv[5]);
    suffix = argv[6];
    if (port <= 0 || port > 65535 || count <= 0 || count > 100000 ||
        thread_count <= 0 || thread_count > 256) {
        fprintf(stderr, "scale: bad PORT, COUNT or THREADS\n");
        return 2;
    }
    if (thread_count > count)
        thread_count = count;

    listen_fd = listen_on(port);
    if (listen_fd < 0) {
        fprintf(stderr, "scale: cannot listen on 127.0.0.1:%d: %s\n", port,
                strerror(errno));
        return 1;
    }
    if (pthread_create(&server, NULL, server_main, &listen_fd) != 0) {
        fprintf(stderr, "scale: cannot start the HTTP server thread\n");
        return 1;
    }

    threads = calloc((size_t)thread_count, sizeof *threads);
    workers = calloc((size_t)thread_count, sizeof *workers);
    all = calloc((size_t)count, sizeof *all);
    if (threads == NULL || workers == NULL || all == NULL) {
        fprintf(stderr, "scale: out of memory\n");
        return 1;
    }

    start = now_ms();
    for (i = 0, j = 0; i < thread_count; ++i) {
        workers[i].first = j;
        workers[i].count = count / thread_count + (i < count % thread_count);
        workers[i].latency_ms = all + j;
        j += workers[i].count;
        if (pthread_create(&threads[i], NULL, worker_main, &workers[i]) != 0) {
            fprintf(stderr, "scale: cannot start thread %d\n", i);
            return 1;
        }
    }
    for (i = 0; i < thread_count; ++i)
        pthread_join(threads[i], NULL);
    total = now_ms() - start;

    pthread_mutex_lock(&stop_lock);
    stop_server = 1;
    pthread_mutex_unlock(&stop_lock);
    pthread_join(server, NULL);
    close(listen_fd);

    for (i = 0; i < thread_count; ++i) {
        failures += workers[i].failures;
        if (workers[i].error[0] != '\0')
            fprintf(stderr, "scale: thread %d: %s\n", i, workers[i].error);
    }
    /* Successful latencies first, sorted. */
    for (i = 0; i < count; ++i)
        if (all[i] >= 0)
            all[n++] = all[i];
    qsort(all, (size_t)n, sizeof *all, compare_doubles);
    getrusage(RUSAGE_SELF, &usage);

    printf("issued=%d\nfailed=%d\nthreads=%d\n", n, failures, thread_count);
    printf("total_ms=%.1f\n", total);
    if (n > 0) {
        printf("latency_min_ms=%.1f\n", all[0]);
        printf("latency_median_ms=%.1f\n",
               n % 2 ? all[n / 2] : (all[n / 2 - 1] + all[n / 2]) / 2);
        printf("latency_max_ms=%.1f\n", all[n - 1]);
        printf("per_certificate_ms=%.1f\n", total / n);
    }
    printf("tokens_served=%d\n", tokens_served);
    printf("cpu_ms=%.1f\n", (double)usage.ru_utime.tv_sec * 1000.0 +
                                (double)usage.ru_utime.tv_usec / 1000.0 +
                                (double)usage.ru_stime.tv_sec * 1000.0 +
                                (double)usage.ru_stime.tv_usec / 1000.0);
    printf("peak_rss_kb=%ld\n", usage.ru_maxrss);

    free(threads);
    free(workers);
    free(all);
    return failures == 0 ? 0 : 1;
}
