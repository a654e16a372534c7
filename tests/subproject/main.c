/*
 * The consumer of tests/subproject: prints the version of the acmekit it
 * was built with and checks that the library and the header agree.
 */
#include <acmekit.h>

#include <stdio.h>

int main(void)
{
    const char* version = acme_version();

    if (version == NULL || acme_version_number() != ACME_VERSION_NUMBER) {
        fprintf(stderr, "consumer: library and header disagree\n");
        return 1;
    }
    printf("acmekit %s\n", version);
    return 0;
}
