/*
 * The smallest complete use of acmekit: one certificate for one name, the
 * CA validating over HTTP-01 against the built-in responder.
 *
 *   minimal DIRECTORY_URL CA_FILE NAME PORT
 *
 * Prints the chain on success. A real device also keeps the account key
 * (acme_key_export_pem) and loads it on the next run (acme_key_load_pem),
 * instead of registering a new account each time.
 */
#include <acmekit.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv)
{
    acme_client_options options = ACME_CLIENT_OPTIONS_INIT;
    acme_account_options account = ACME_ACCOUNT_OPTIONS_INIT;
    acme_issue_options issue = ACME_ISSUE_OPTIONS_INIT;
    acme_client* client = NULL;
    acme_key* account_key = NULL;
    acme_certificate* cert = NULL;
    const char* names[1];
    acme_status status;

    if (argc != 5) {
        fprintf(stderr, "usage: minimal DIRECTORY_URL CA_FILE NAME PORT\n");
        return 2;
    }
    options.directory_url = argv[1];
    options.ca_file = argv[2];
    names[0] = argv[3];

    status = acme_client_new(&client, &options);
    if (status == ACME_OK)
        status = acme_key_generate(&account_key, client, ACME_KEY_EC_P256);
    if (status == ACME_OK) {
        /* Only once the operator has agreed to the CA's terms. */
        account.terms_of_service_agreed = 1;
        status = acme_account_register(client, account_key, &account);
    }
    if (status == ACME_OK) {
        issue.names = names;
        issue.name_count = 1;
        issue.http01_port = atoi(argv[4]);
        status = acme_certificate_issue(&cert, client, &issue);
    }

    if (status == ACME_OK)
        fputs(acme_certificate_chain_pem(cert), stdout);
    else
        fprintf(stderr, "minimal: %s\n",
                client ? acme_client_last_error(client)
                       : acme_strerror(status));

    acme_certificate_free(cert);
    acme_client_free(client);
    acme_key_free(account_key);
    return status == ACME_OK ? 0 : 1;
}
