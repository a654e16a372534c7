/*
 * step_driver DIRECTORY_URL CA_FILE HTTP01_PORT NAME STORAGE_DIR - an
 * issuance driven from C one step at a time, the way an event loop would
 * run it: the program serves the HTTP-01 token with its own small HTTP
 * server, sleeps only when the driver says when to come back, and checks
 * that the steps come in the documented order (solve, waits, a release,
 * done). Prints the chain; exits 0 when every check holds.
 */
#define _POSIX_C_SOURCE 200809L

#include <acmekit.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_STEPS 500
#define MAX_CONNECTIONS 100

static int failures;

#define EXPECT(cond)                                                           \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__,        \
                    #cond);                                                    \
            ++failures;                                                        \
        }                                                                      \
    } while (0)

/* The host's own HTTP-01 server: one token, served until stopped. */
struct responder {
    int listener;
    volatile int stop;
    char path[512];
    char body[512];
    int served;
    pthread_mutex_t lock;
};

static void* serve(void* arg)
{
    struct responder* r = arg;
    char request[2048];
    int connections = 0;

    while (!r->stop && connections < MAX_CONNECTIONS) {
        struct pollfd ready = {r->listener, POLLIN, 0};
        int fd;
        ssize_t got;
        if (poll(&ready, 1, 100) <= 0)
            continue;
        fd = accept(r->listener, NULL, NULL);
        if (fd < 0)
            continue;
        ++connections;
        got = read(fd, request, sizeof request - 1);
        if (got > 0) {
            char reply[1024];
            int found;
            request[got] = '\0';
            pthread_mutex_lock(&r->lock);
            found = r->path[0] != '\0' && strncmp(request, "GET ", 4) == 0 &&
                    strncmp(request + 4, r->path, strlen(r->path)) == 0 &&
                    request[4 + strlen(r->path)] == ' ';
            if (found)
                snprintf(reply, sizeof reply,
                         "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
                         "Connection: close\r\n\r\n%s",
                         strlen(r->body), r->body);
            else
                snprintf(reply, sizeof reply,
                         "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                         "Connection: close\r\n\r\n");
            r->served += found;
            pthread_mutex_unlock(&r->lock);
            if (write(fd, reply, strlen(reply)) < 0)
                perror("step_driver: write");
        }
        close(fd);
    }
    return NULL;
}

static int listen_on(int port)
{
    struct sockaddr_in addr;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(fd, (struct sockaddr*)&addr, sizeof addr) || listen(fd, 16)) {
        perror("step_driver: listen");
        return -1;
    }
    return fd;
}

static int64_t now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void sleep_until(int64_t when_ms)
{
    int64_t left = when_ms - now_ms();
    struct timespec wait;
    if (left <= 0)
        return;
    wait.tv_sec = (time_t)(left / 1000);
    wait.tv_nsec = (long)(left % 1000) * 1000000L;
    nanosleep(&wait, NULL);
}

int main(int argc, char** argv)
{
    acme_client_options options = ACME_CLIENT_OPTIONS_INIT;
    acme_account_options account = ACME_ACCOUNT_OPTIONS_INIT;
    acme_issue_options issue = ACME_ISSUE_OPTIONS_INIT;
    struct responder r;
    pthread_t thread;
    acme_client* client = NULL;
    acme_storage* storage = NULL;
    acme_issuance* issuance = NULL;
    acme_certificate* cert = NULL;
    const char* names[1];
    int steps, solves = 0, waits = 0, released = 0, done = 0;
    acme_status status = ACME_OK;

    if (argc != 6) {
        fprintf(stderr, "usage: step_driver DIRECTORY_URL CA_FILE "
                        "HTTP01_PORT NAME STORAGE_DIR\n");
        return 2;
    }
    memset(&r, 0, sizeof r);
    pthread_mutex_init(&r.lock, NULL);
    r.listener = listen_on(atoi(argv[3]));
    if (r.listener < 0 || pthread_create(&thread, NULL, serve, &r) != 0)
        return 1;

    options.directory_url = argv[1];
    options.ca_file = argv[2];
    names[0] = argv[4];
    account.terms_of_service_agreed = 1;
    issue.names = names;
    issue.name_count = 1;
    EXPECT(acme_client_new(&client, &options) == ACME_OK);
    EXPECT(acme_file_storage_new(&storage, argv[5]) == ACME_OK);
    EXPECT(acme_account_open(client, storage, ACME_KEY_EC_P256, &account) ==
           ACME_OK);
    EXPECT(acme_issuance_new(&issuance, client, storage, &issue) == ACME_OK);
    EXPECT(acme_issuance_order_url(issuance) == NULL);

    for (steps = 0; steps < MAX_STEPS && !done && failures == 0; ++steps) {
        acme_next next;
        int64_t when = 0;
        status = acme_issuance_step(issuance, &next, &when);
        released += (int)acme_issuance_release_count(issuance);
        if (next == ACME_NEXT_SOLVE) {
            ++solves;
            EXPECT(acme_issuance_challenge_count(issuance) == 1);
            EXPECT(strcmp(acme_issuance_challenge_type(issuance, 0, 0),
                          "http-01") == 0);
            EXPECT(strcmp(acme_issuance_challenge_identifier(issuance, 0, 0),
                          argv[4]) == 0);
            pthread_mutex_lock(&r.lock);
            snprintf(r.path, sizeof r.path, "/.well-known/acme-challenge/%s",
                     acme_issuance_challenge_token(issuance, 0, 0));
            snprintf(r.body, sizeof r.body, "%s",
                     acme_issuance_challenge_key_authorization(issuance, 0, 0));
            pthread_mutex_unlock(&r.lock);
            EXPECT(acme_issuance_challenges_presented(issuance) == ACME_OK);
        } else if (next == ACME_NEXT_WAIT) {
            ++waits;
            EXPECT(when > 0);
            sleep_until(when);
        } else if (next == ACME_NEXT_DONE) {
            done = 1;
        } else {
            fprintf(stderr, "step_driver: failed: %s\n",
                    acme_client_last_error(client));
            ++failures;
        }
    }
    r.stop = 1;
    pthread_join(thread, NULL);
    close(r.listener);

    EXPECT(done);
    EXPECT(status == ACME_OK);
    EXPECT(solves == 1);
    EXPECT(waits >= 1);
    EXPECT(released == 1);
    EXPECT(r.served >= 1);
    EXPECT(acme_issuance_order_url(issuance) != NULL);
    EXPECT(acme_issuance_resumed(issuance) == 0);
    EXPECT(acme_issuance_take(&cert, issuance) == ACME_OK);
    EXPECT(cert != NULL && acme_certificate_folder(cert) != NULL);
    {
        acme_certificate* again = cert;
        EXPECT(acme_issuance_take(&again, issuance) == ACME_E_INVALID_ARGUMENT);
        EXPECT(again == NULL); /* the second take hands nothing over */
    }
    acme_certificate_free(cert);
    if (done) {
        acme_certificate* stored = NULL;
        EXPECT(acme_certificate_load(&stored, client, storage, argv[4]) ==
               ACME_OK);
        EXPECT(stored != NULL);
        if (stored)
            fputs(acme_certificate_chain_pem(stored), stdout);
        acme_certificate_free(stored);
    }

    acme_issuance_free(issuance);
    acme_storage_free(storage);
    acme_client_free(client);
    pthread_mutex_destroy(&r.lock);
    if (failures == 0)
        fprintf(stderr,
                "step_driver: all checks passed in %d steps (%d "
                "waits)\n",
                steps, waits);
    return failures == 0 ? 0 : 1;
}
