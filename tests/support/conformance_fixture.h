// What the conformance-server serves, read from the fixture it embeds
// (tests/conformance/fixture_tools.json), so that tests that list its tools
// follow the fixture instead of repeating its size.
//
// Header-only because the test build globs only *_test.cc files.
#pragma once

#include <cstddef>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace hpc::testing {

// The number of tools conformance-server serves; 0 when the fixture cannot
// be read (which fails any test that expects tools).
inline size_t ConformanceToolCount() {
  std::ifstream in(std::string(HPC_MCP_SOURCE_DIR) +
                   "/tests/conformance/fixture_tools.json");
  nlohmann::json fixture = nlohmann::json::parse(in, nullptr, false);
  if (!fixture.is_object() || !fixture.contains("tools") ||
      !fixture["tools"].is_array())
    return 0;
  return fixture["tools"].size();
}

}  // namespace hpc::testing
