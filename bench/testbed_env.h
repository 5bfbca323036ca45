// The testbed's env.sh (scripts/testbed/README.md) as a map, for the
// benchmarks that reach it: `export NAME='value'` lines, values single-
// quoted with ' written as '\''.
//
// Header-only: each benchmark is its own small executable.
#pragma once

#include <fstream>
#include <map>
#include <string>

namespace hpc::bench {

inline std::map<std::string, std::string> ReadEnvSh(const std::string& path) {
  std::map<std::string, std::string> vars;
  std::ifstream in(path);
  std::string line;
  for (int guard = 0; guard < 10000 && std::getline(in, line); ++guard) {
    if (line.rfind("export ", 0) != 0) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string value;
    for (size_t i = eq + 1; i < line.size();) {
      if (line[i] == '\'') {
        size_t close = line.find('\'', i + 1);
        if (close == std::string::npos) break;
        value += line.substr(i + 1, close - i - 1);
        i = close + 1;
      } else if (line[i] == '\\' && i + 1 < line.size()) {
        value += line[i + 1];
        i += 2;
      } else {
        value += line[i++];
      }
    }
    vars[line.substr(7, eq - 7)] = value;
  }
  return vars;
}

}  // namespace hpc::bench
