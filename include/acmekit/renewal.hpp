// When to renew a certificate: ACME Renewal Information (ARI, RFC 9773)
// when the server offers it, a fixed share of the lifetime when it does not.
#pragma once

#include <acmekit/crypto.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace acme {

/// The ARI certificate identifier (RFC 9773 section 4.1): the AKI
/// keyIdentifier and the serial number's DER content bytes (a leading 0x00
/// sign byte included), each base64url without padding, joined by ".".
/// Throws acme::error with status::invalid_argument when the certificate
/// has no AKI keyIdentifier or an empty serial.
std::string ari_certificate_id(const certificate_info& cert);

/// The window in which the server suggests renewing, both ends included.
struct renewal_window {
    std::int64_t start = 0; ///< seconds since the Unix epoch
    std::int64_t end = 0;   ///< seconds since the Unix epoch, not before start
    std::string explanation_url; ///< empty when the server gave none
};

/// Parses a renewalInfo response body (RFC 9773 section 4.2):
/// {"suggestedWindow": {"start": T, "end": T}, "explanationURL": U} with
/// RFC 3339 timestamps T ("Z" or a numeric offset such as "+02:00";
/// fractional seconds are accepted and dropped). explanationURL is
/// optional. Throws acme::error with status::bad_response for anything
/// that is not such an object, a missing or mistyped member, a timestamp
/// that does not parse or names no real date, or an end before the start.
renewal_window parse_renewal_info(std::string_view json);

/// The renewal time for a certificate when the server gives no ARI window,
/// in seconds since the Unix epoch: when a third of the lifetime
/// (not_after - not_before) is left, or half of it for lifetimes under ten
/// days. A certificate whose not_after is not after its not_before gives
/// not_after.
std::int64_t default_renewal_time(const certificate_info& cert);

/// A time in [window.start, window.end], in seconds since the Unix epoch,
/// chosen by random: a uniformly distributed 64-bit number from the caller,
/// so that tests can fix it. 0 gives start, the largest value gives end,
/// and each time in the window gets an equal share of the 64-bit values, to
/// within one (RFC 9773 section 4.2 asks for a uniformly random point so
/// that clients spread their renewals). A zero-width window gives start.
/// Throws acme::error with status::invalid_argument when end is before
/// start.
std::int64_t pick_renewal_time(const renewal_window& window,
                               std::uint64_t random);

} // namespace acme
