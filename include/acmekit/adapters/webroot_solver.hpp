// HTTP-01 through a web server the device already runs: the key
// authorization goes into <webroot>/.well-known/acme-challenge/<token>,
// where that server serves it, and is removed after validation.
#pragma once

#include <acmekit/solver.hpp>

#include <map>
#include <string>
#include <vector>

namespace acme {

struct webroot_options {
    /// The web server's document root; it must exist.
    std::string webroot;
    /// Leave the token files (and the folders made for them) in place,
    /// for debugging a web server that does not serve them.
    bool keep_files = false;
};

/// Writes each token as a file readable by the web server (0644, its
/// folders 0755). The token is checked again before the file system is
/// touched: only 1 to max_challenge_token base64url characters. The two
/// folders below the webroot are opened without following symlinks, so a
/// link planted there cannot send the file elsewhere, and a file that
/// already exists under the token's name is never overwritten: acmekit
/// removes only what it created. Failures throw acme::error with
/// status::solver_failed (or status::invalid_argument for a bad token).
class webroot_solver final : public challenge_solver {
public:
    explicit webroot_solver(webroot_options options);
    ~webroot_solver() override;

    bool handles(const std::string& challenge_type) const override;
    void present(const challenge_task& task) override;
    void cleanup(const challenge_task& task) noexcept override;

private:
    webroot_options options_;
    std::map<std::string, bool> written_;   // token -> file created by us
    std::vector<std::string> made_folders_; // relative, innermost last
};

} // namespace acme
