#include "detail/directory.hpp"

namespace acme::detail {

directory parse_directory(const json::object& obj)
{
    constexpr std::string_view what = "directory";
    directory dir;
    dir.new_nonce = get_string(obj, "newNonce", what);
    dir.new_account = get_string(obj, "newAccount", what);
    dir.new_order = get_string(obj, "newOrder", what);
    dir.new_authz = get_optional_string(obj, "newAuthz", what);
    dir.revoke_cert = get_optional_string(obj, "revokeCert", what);
    dir.key_change = get_optional_string(obj, "keyChange", what);
    dir.renewal_info = get_optional_string(obj, "renewalInfo", what);

    const json::value* meta = obj.if_contains("meta");
    if (meta == nullptr || !meta->is_object())
        return dir;
    const json::object& meta_obj = meta->as_object();
    dir.terms_of_service =
        get_optional_string(meta_obj, "termsOfService", what);
    dir.website = get_optional_string(meta_obj, "website", what);
    dir.caa_identities = get_string_array(meta_obj, "caaIdentities", what);
    if (const json::value* ear =
            meta_obj.if_contains("externalAccountRequired");
        ear != nullptr && ear->is_bool())
        dir.external_account_required = ear->as_bool();

    // Profiles map a name to a human-readable description; anything that
    // is not a string is skipped rather than failing the whole directory.
    if (const json::value* profiles = meta_obj.if_contains("profiles");
        profiles != nullptr && profiles->is_object())
        for (const auto& [name, description] : profiles->as_object())
            if (!name.empty() && description.is_string())
                dir.profiles.emplace_back(std::string(name),
                                          std::string(description.as_string()));
    return dir;
}

} // namespace acme::detail
