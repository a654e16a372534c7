/*
 * A second definition of acme_version_number with another prototype than
 * capi/acmekit.h gives it (a wider return type and a new parameter). The
 * self-test links this object first, with --allow-multiple-definition, so
 * that its definition and its debug information replace the real one: a
 * library whose function changed shape without a change of SONAME, which
 * tests/abi/check_abi.sh must report. Never part of a real library.
 */
unsigned long long acme_version_number(int flags);

unsigned long long acme_version_number(int flags)
{
    return (unsigned long long)flags;
}
