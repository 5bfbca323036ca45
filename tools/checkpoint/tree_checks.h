// The checks of verify.h that hold the tree on disk against the passport's
// list of files, and the helpers every check builds its Observation with.
// verify.cc runs these between the passport's check and the sign-off's.
//
// Thread-safety: as verify.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mcp_server/status.h"
#include "tools/checkpoint/site.h"
#include "tools/checkpoint/verify.h"

namespace hpc::checkpoint {

inline constexpr char kPass[] = "pass", kSoft[] = "soft_signal",
                      kFail[] = "fail", kNotChecked[] = "not_checked";

// An Observation with at most 50 of `paths`.
Observation Obs(const char* check, const char* status, std::string detail,
                std::vector<std::string> paths = {});

// "3 file(s) ...": `n`, then `what`.
std::string Count(size_t n, const char* what);

// paths_inside_root, files_present and file_hashes (not_checked when
// `passport` is null). The listed files are hashed on `site`;
// `*bytes_hashed` counts what that read. A Status error only when the site
// cannot hash at all or `req.stop` was requested.
Result<std::vector<Observation>> CheckListedFiles(
    Site& site, const Tree& tree, const nlohmann::json& passport,
    const VerifyRequest& req, uint64_t* bytes_hashed);

// unlisted_files: what is on disk but not in `passport` (null: lists
// nothing). Weight files are those with the request's extensions or the
// passport's.
Observation CheckUnlistedFiles(const Tree& tree, const nlohmann::json& passport,
                               const VerifyRequest& req);

}  // namespace hpc::checkpoint
