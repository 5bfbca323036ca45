// Whole files on this machine, for tests.
//
// Header-only because the test build globs only *_test.cc files.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace hpc::testing {

// The file's bytes; "" when it cannot be read.
inline std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Replaces `path`, creating its directory.
inline void WriteAll(const std::filesystem::path& path,
                     const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

}  // namespace hpc::testing
