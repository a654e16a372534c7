// The C header must also compile as C++, inside and outside extern "C".
#include <acmekit.h>

int main()
{
    acme_client_options options = ACME_CLIENT_OPTIONS_INIT;
    return options.size == sizeof options ? 0 : 1;
}
