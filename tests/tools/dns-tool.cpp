// dns-tool: acmekit's DNS code from the command line, for the end-to-end
// tests against a real DNS server.
//
//   dns-tool add|remove SERVER ZONE_OR_EMPTY TSIG_NAME SECRET_FILE FQDN VALUE
//   dns-tool txt SERVER FQDN
//   dns-tool zone SERVER FQDN
//
// SERVER is ADDR, ADDR:PORT, [IPV6] or [IPV6]:PORT. TSIG_NAME may start
// with "hmac-sha384:" or "hmac-sha512:" (hmac-sha256 otherwise).
// SECRET_FILE holds the key's secret in base64, as knot.conf has it.
// Exit status: 0 done, 1 the operation failed, 2 bad usage.
#include <acmekit/adapters/mbedtls_crypto.hpp>
#include <acmekit/dns.hpp>
#include <acmekit/problem.hpp>
#include <acmekit/secret.hpp>

#include "detail/base64url.hpp"

#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

namespace {

constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

int usage()
{
    std::cerr << "usage: dns-tool add|remove SERVER ZONE_OR_EMPTY TSIG_NAME "
                 "SECRET_FILE FQDN VALUE\n"
                 "       dns-tool txt SERVER FQDN\n"
                 "       dns-tool zone SERVER FQDN\n";
    return exit_usage;
}

// The secret is read and decoded into wiped memory only; the file's
// content never reaches a message.
acme::secret_bytes read_secret(const std::string& path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file.is_open())
        throw acme::error(acme::status::io_error,
                          "cannot open TSIG secret file " + path);
    std::vector<char> content{std::istreambuf_iterator<char>(file),
                              std::istreambuf_iterator<char>()};
    acme::secret_bytes text(content.data(), content.size());
    acme::secure_wipe(content.data(), content.size());

    auto decoded = acme::detail::base64_decode_any(text.view());
    if (!decoded || decoded->empty())
        throw acme::error(acme::status::invalid_argument,
                          "TSIG secret file " + path + " does not hold base64");
    acme::secret_bytes secret(decoded->data(), decoded->size());
    acme::secure_wipe(decoded->data(), decoded->size());
    return secret;
}

acme::tsig_key key_from(const std::string& spec, const std::string& path)
{
    acme::tsig_key key;
    key.name = spec;
    std::size_t colon = spec.find(':');
    if (colon != std::string::npos) {
        key.algorithm = spec.substr(0, colon);
        key.name = spec.substr(colon + 1);
    }
    key.secret = read_secret(path);
    return key;
}

int publish(const std::vector<std::string>& args)
{
    acme::mbedtls_crypto crypto;
    acme::rfc2136_publisher publisher(acme::parse_dns_server(args[1]),
                                      key_from(args[3], args[4]), crypto,
                                      args[2]);
    if (args[0] == "add")
        publisher.add_txt(args[5], args[6]);
    else
        publisher.remove_txt(args[5], args[6]);
    return 0;
}

int query(const std::vector<std::string>& args)
{
    acme::dns_resolver resolver;
    acme::dns_server server = acme::parse_dns_server(args[1]);
    if (args[0] == "zone") {
        std::cout << resolver.zone_of(server, args[2]) << '\n';
        return 0;
    }
    for (const auto& value : resolver.txt(server, args[2]))
        std::cout << value << '\n';
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    bool update = args.size() == 7 && (args[0] == "add" || args[0] == "remove");
    bool lookup = args.size() == 3 && (args[0] == "txt" || args[0] == "zone");
    if (!update && !lookup)
        return usage();

    try {
        return update ? publish(args) : query(args);
    } catch (const acme::error& e) {
        std::cerr << "dns-tool: " << e.what() << '\n';
        return exit_failed;
    } catch (const std::exception& e) {
        std::cerr << "dns-tool: unexpected error: " << e.what() << '\n';
        return exit_failed;
    }
}
