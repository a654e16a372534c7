#include <acmekit/secret.hpp>

#include <cstring>

namespace acme {

void secure_wipe(void* data, std::size_t size) noexcept
{
    // A volatile pointer keeps the stores from being removed as dead.
    volatile auto* p = static_cast<volatile unsigned char*>(data);
    while (size-- > 0)
        *p++ = 0;
}

secret_bytes::secret_bytes(const void* data, std::size_t size)
    : bytes_(static_cast<const std::uint8_t*>(data),
             static_cast<const std::uint8_t*>(data) + size)
{
}

secret_bytes::secret_bytes(std::string_view text)
    : secret_bytes(text.data(), text.size())
{
}

secret_bytes::secret_bytes(const secret_bytes& other) : bytes_(other.bytes_) {}

secret_bytes::secret_bytes(secret_bytes&& other) noexcept
    : bytes_(std::move(other.bytes_))
{
    other.bytes_.clear();
}

secret_bytes& secret_bytes::operator=(const secret_bytes& other)
{
    if (this != &other) {
        clear();
        bytes_ = other.bytes_;
    }
    return *this;
}

secret_bytes& secret_bytes::operator=(secret_bytes&& other) noexcept
{
    if (this != &other) {
        clear();
        bytes_ = std::move(other.bytes_);
        other.bytes_.clear();
    }
    return *this;
}

secret_bytes::~secret_bytes()
{
    clear();
}

void secret_bytes::clear() noexcept
{
    if (!bytes_.empty())
        secure_wipe(bytes_.data(), bytes_.size());
    bytes_.clear();
}

} // namespace acme
