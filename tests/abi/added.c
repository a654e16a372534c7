/*
 * A function the real library does not have: a library linked with it
 * has only gained an interface, which tests/abi/check_abi.sh must accept.
 * Never part of a real library.
 */
int acme_abi_selftest_added(int value);

int acme_abi_selftest_added(int value)
{
    return value + 1;
}
