# struct_header.awk - prints capi/acmekit.h with one member inserted into
# acme_client_options right after its size, for the self-test's mutant
# with a changed public struct (changed_struct.c). Exits 1 when it finds
# no place for the member, so that the mutant cannot silently go stale.
{ print }
/size_t size;.*sizeof[(]acme_client_options[)]/ {
  print "    int abi_selftest_inserted;"
  n++
}
END { exit n != 1 }
