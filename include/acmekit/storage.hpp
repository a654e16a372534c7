// Where a device keeps what must survive a reboot: account keys, account
// URLs, certificate keys and chains. Values are bytes under names such as
// "accounts/ca.example/account.key".
#pragma once

#include <acmekit/secret.hpp>

#include <optional>
#include <string>
#include <vector>

namespace acme {

class storage {
public:
    virtual ~storage() = default;

    /// The value stored under name, or nothing when there is none.
    virtual std::optional<secret_bytes> get(const std::string& name) = 0;

    /// Replaces the value atomically: a reader, or the device after a
    /// power cut, finds the old value or the new one, never a mix. secret
    /// values are readable by the owner only.
    virtual void put(const std::string& name, const secret_bytes& value,
                     bool secret) = 0;

    /// Removes the value; removing one that is not there is no error.
    virtual void remove(const std::string& name) = 0;

    /// The names directly under folder ("certificates" lists
    /// "certificates/a.example", ...), sorted; empty when there are none.
    virtual std::vector<std::string> list(const std::string& folder) = 0;
};

/// Files under a root folder, one per name. Names are relative paths of
/// letters, digits, '.', '_' and '-', no segment starting with '.'. Every
/// put writes a temporary file, syncs it, renames it over the old one and
/// syncs the folder; secret files are mode 0600, others 0644. Failures
/// throw acme::error with status::io_error naming the file, and leave the
/// previous value in place. remove() also removes folders it leaves empty,
/// up to the root.
class file_storage final : public storage {
public:
    /// Values larger than this are refused when read.
    static constexpr std::size_t max_value_size = 1024 * 1024;

    explicit file_storage(std::string root);

    std::optional<secret_bytes> get(const std::string& name) override;
    void put(const std::string& name, const secret_bytes& value,
             bool secret) override;
    void remove(const std::string& name) override;
    std::vector<std::string> list(const std::string& folder) override;

private:
    std::string path_of(const std::string& name) const;

    std::string root_;
};

} // namespace acme
