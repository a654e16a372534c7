// Bytes that must never be printed or left in freed memory: private keys,
// HMAC keys, key authorizations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace acme {

/// An owning byte buffer that wipes itself on destruction and on
/// reassignment. It has no stream or fmt formatter on purpose: reading the
/// bytes takes an explicit call to view().
class secret_bytes {
public:
    secret_bytes() = default;
    secret_bytes(const void* data, std::size_t size);
    explicit secret_bytes(std::string_view text);
    secret_bytes(const secret_bytes& other);
    secret_bytes(secret_bytes&& other) noexcept;
    secret_bytes& operator=(const secret_bytes& other);
    secret_bytes& operator=(secret_bytes&& other) noexcept;
    ~secret_bytes();

    const std::uint8_t* data() const noexcept { return bytes_.data(); }
    std::size_t size() const noexcept { return bytes_.size(); }
    bool empty() const noexcept { return bytes_.empty(); }

    /// The bytes as text; valid while this object lives unchanged.
    std::string_view view() const noexcept
    {
        return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
    }

    void clear() noexcept;

private:
    std::vector<std::uint8_t> bytes_;
};

/// Overwrites memory in a way the compiler may not optimise away.
void secure_wipe(void* data, std::size_t size) noexcept;

} // namespace acme
