/*
 * acme_client_new against a copy of capi/acmekit.h in which
 * acme_client_options has one member more, right after its size (so that
 * every later member moves): tests/abi/meson.build writes that copy into
 * the build directory, under the public header's name. The self-test
 * links this object first, with --allow-multiple-definition, so that the
 * function's debug information shows the changed struct: a public type
 * whose layout changed, which tests/abi/check_abi.sh must report. Never
 * part of a real library.
 */
#include "acmekit.h"

#include <stddef.h>

acme_status acme_client_new(acme_client** out,
                            const acme_client_options* options)
{
    if (out != NULL)
        *out = NULL;
    return options != NULL && options->abi_selftest_inserted == 0
               ? ACME_E_INVALID_ARGUMENT
               : ACME_OK;
}
