// The two files sign_checkpoint writes into a checkpoint's directory, and
// the rules both tools share for reading a checkpoint's tree.
//
//   MODEL_PASSPORT.json  schemas/model_passport.json: every file with size
//                        and SHA-256, which are weights, provenance.
//   SIGNOFF.json         schemas/signoff.json: verdict, signer, time, and
//                        the SHA-256 of the passport's bytes and of every
//                        weight file.
//   SIGNOFF.json.sig     optional OpenSSH signature of SIGNOFF.json's bytes
//                        (ssh_sig.h).
//
// Both JSON files are written as Serialize() gives them, and validated
// against their published schema before they are written and after they
// are read.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mcp_server/status.h"

namespace hpc::checkpoint {

inline constexpr char kPassportFile[] = "MODEL_PASSPORT.json";
inline constexpr char kSignoffFile[] = "SIGNOFF.json";
inline constexpr char kSignatureFile[] = "SIGNOFF.json.sig";
inline constexpr char kSignatureNamespace[] = "hpc-mcp-checkpoint";
inline constexpr int kPassportVersion = 1;
inline constexpr int kSignoffVersion = 1;

// .safetensors .bin .pt .pth .ckpt, then the profile's
// checkpoint.weight_extensions (`profile_raw` is ClusterProfile::raw),
// lower-cased, without duplicates.
std::vector<std::string> WeightExtensions(const nlohmann::json& profile_raw);

// Whether `path`'s name ends with one of `extensions` (case-insensitive).
bool IsWeightFile(std::string_view path,
                  const std::vector<std::string>& extensions);

// Whether `rel` (relative to the root) is one of the files this module
// writes, or a temporary file of an atomic write of one: never listed.
bool IsOwnFile(std::string_view rel);

// OK when `rel` is a plain relative path: not empty, not absolute, no
// empty, "." or ".." component, no NUL. The message says what is wrong.
Status CheckRelativePath(std::string_view rel);

struct PassportFile {
  std::string path;  // Relative to the root.
  uint64_t size = 0;
  std::string sha256;
  bool weight = false;
};

struct Provenance {
  std::optional<std::string> run_id, job_id, git_commit;
  std::string run_state;  // Empty: not recorded.
  std::string profile;
  std::optional<bool> git_dirty;
  std::optional<std::string> config_path, config_sha256;
};

// REQUIRES: `files` sorted by path.
nlohmann::json MakePassport(const std::string& root,
                            const std::vector<PassportFile>& files,
                            const std::vector<std::string>& extensions,
                            const Provenance& provenance,
                            const std::string& created_at,
                            const nlohmann::json& input_contract);

// `weights`: the passport's weight files. `signed_with_key`: a signature
// file will accompany it.
nlohmann::json MakeSignoff(const std::string& verdict,
                           const std::string& reason, const std::string& signer,
                           const std::string& signed_at,
                           const std::string& root,
                           const std::optional<std::string>& run_id,
                           const std::string& passport_sha256,
                           const std::vector<PassportFile>& weights,
                           bool signed_with_key);

// The bytes written to disk: two-space indented JSON and a final newline.
std::string Serialize(const nlohmann::json& doc);

// The violations of `doc` against schemas/model_passport.json or
// schemas/signoff.json, formatted; empty when valid.
std::string PassportViolations(const nlohmann::json& doc);
std::string SignoffViolations(const nlohmann::json& doc);

}  // namespace hpc::checkpoint
