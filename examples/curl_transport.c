/*
 * curl_transport: a whole issuance through the host's own HTTP stack.
 *
 *   curl_transport DIRECTORY_URL CA_FILE HTTP01_PORT NAME...
 *
 * Firmware that already carries libcurl (or any other HTTP client) hands
 * acmekit a transport callback instead of linking the built-in one. This
 * program registers an account, issues a certificate for the names with
 * every ACME request going through libcurl, and prints the chain. It
 * counts the requests and the connections libcurl opened on stderr.
 */
#include <acmekit.h>

#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMES 16

/* One easy handle for the whole run: libcurl keeps the connection to the
   CA open between requests. */
struct curl_host {
    CURL* curl;
    const char* ca_file;
    long requests;
    long connections;
};

/* libcurl hands header lines one by one, with the status line and the
   blank line that ends the block; only "Name: value" lines are kept. */
static size_t on_header(char* line, size_t size, size_t count, void* user)
{
    acme_http_response* response = user;
    size_t length = size * count, name_end, value_start, value_end;
    const char* colon = memchr(line, ':', length);

    if (!colon)
        return length;
    name_end = (size_t)(colon - line);
    value_start = name_end + 1;
    while (value_start < length && line[value_start] == ' ')
        ++value_start;
    value_end = length;
    while (value_end > value_start &&
           (line[value_end - 1] == '\r' || line[value_end - 1] == '\n'))
        --value_end;
    if (acme_http_response_add_header(response, line, name_end,
                                      line + value_start,
                                      value_end - value_start) != ACME_OK)
        return 0; /* too many or too long: libcurl stops the transfer */
    return length;
}

static size_t on_body(char* data, size_t size, size_t count, void* user)
{
    acme_http_response* response = user;
    if (acme_http_response_append_body(response, data, size * count) != ACME_OK)
        return 0;
    return size * count;
}

static acme_status status_for(CURLcode code)
{
    switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION: return ACME_E_TLS_VERIFY;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER: return ACME_E_TLS;
    case CURLE_OPERATION_TIMEDOUT: return ACME_E_TIMEOUT;
    case CURLE_WRITE_ERROR: return ACME_E_BAD_RESPONSE;
    default: return ACME_E_CONNECT;
    }
}

static acme_status send_request(void* user, const acme_http_request* request,
                                acme_http_response* response)
{
    struct curl_host* host = user;
    struct curl_slist* headers = NULL;
    char line[1024];
    long status = 0, opened = 0;
    CURLcode code;
    size_t i;

    curl_easy_reset(host->curl);
    curl_easy_setopt(host->curl, CURLOPT_URL, request->url);
    /* ACME speaks only HTTPS, verified against the CA file, and never
       follows redirects or a proxy from the environment. */
    curl_easy_setopt(host->curl, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(host->curl, CURLOPT_CAINFO, host->ca_file);
    curl_easy_setopt(host->curl, CURLOPT_PROXY, "");
    curl_easy_setopt(host->curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(host->curl, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(host->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(host->curl, CURLOPT_HEADERDATA, response);
    curl_easy_setopt(host->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(host->curl, CURLOPT_WRITEDATA, response);

    if (strcmp(request->method, "HEAD") == 0) {
        curl_easy_setopt(host->curl, CURLOPT_NOBODY, 1L);
    } else if (strcmp(request->method, "POST") == 0) {
        curl_easy_setopt(host->curl, CURLOPT_POST, 1L);
        curl_easy_setopt(host->curl, CURLOPT_POSTFIELDS, request->body);
        curl_easy_setopt(host->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)request->body_length);
    }
    for (i = 0; i < request->header_count; ++i) {
        snprintf(line, sizeof line, "%s: %s", request->headers[i].name,
                 request->headers[i].value);
        headers = curl_slist_append(headers, line);
    }
    /* No "Expect: 100-continue" round trip before each POST. */
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(host->curl, CURLOPT_HTTPHEADER, headers);

    code = curl_easy_perform(host->curl);
    curl_slist_free_all(headers);
    ++host->requests;
    if (curl_easy_getinfo(host->curl, CURLINFO_NUM_CONNECTS, &opened) ==
        CURLE_OK)
        host->connections += opened;
    if (code != CURLE_OK) {
        acme_http_response_set_error(response, curl_easy_strerror(code));
        return status_for(code);
    }
    curl_easy_getinfo(host->curl, CURLINFO_RESPONSE_CODE, &status);
    acme_http_response_set_status(response, (int)status);
    return ACME_OK;
}

int main(int argc, char** argv)
{
    acme_client_options options = ACME_CLIENT_OPTIONS_INIT;
    acme_transport transport = ACME_TRANSPORT_INIT;
    acme_account_options account = ACME_ACCOUNT_OPTIONS_INIT;
    acme_issue_options issue = ACME_ISSUE_OPTIONS_INIT;
    struct curl_host host = {NULL, NULL, 0, 0};
    acme_client* client = NULL;
    acme_key* account_key = NULL;
    acme_certificate* cert = NULL;
    const char* names[MAX_NAMES];
    acme_status status;
    int i;

    if (argc < 5 || argc - 4 > MAX_NAMES) {
        fprintf(stderr, "usage: curl_transport DIRECTORY_URL CA_FILE "
                        "HTTP01_PORT NAME...\n");
        return 2;
    }
    for (i = 4; i < argc; ++i)
        names[i - 4] = argv[i];
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
        (host.curl = curl_easy_init()) == NULL) {
        fprintf(stderr, "curl_transport: libcurl failed to start\n");
        return 1;
    }
    host.ca_file = argv[2];

    transport.send = send_request;
    transport.user = &host;
    options.directory_url = argv[1];
    options.transport = &transport;
    status = acme_client_new(&client, &options);
    if (status == ACME_OK)
        status = acme_key_generate(&account_key, client, ACME_KEY_EC_P256);
    if (status == ACME_OK) {
        account.terms_of_service_agreed = 1;
        status = acme_account_register(client, account_key, &account);
    }
    if (status == ACME_OK) {
        issue.names = names;
        issue.name_count = (size_t)(argc - 4);
        issue.http01_address = "127.0.0.1";
        issue.http01_port = atoi(argv[3]);
        status = acme_certificate_issue(&cert, client, &issue);
    }

    if (status == ACME_OK)
        fputs(acme_certificate_chain_pem(cert), stdout);
    else
        fprintf(stderr, "curl_transport: %s\n",
                client ? acme_client_last_error(client)
                       : acme_strerror(status));
    fprintf(stderr, "curl_transport: %ld requests, %ld connection(s)\n",
            host.requests, host.connections);

    acme_certificate_free(cert);
    acme_client_free(client);
    acme_key_free(account_key);
    curl_easy_cleanup(host.curl);
    curl_global_cleanup();
    return status == ACME_OK ? 0 : 1;
}
