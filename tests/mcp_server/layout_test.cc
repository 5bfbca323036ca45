// The layout is part of the design: these checks keep it from eroding.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace {

const fs::path kRoot = HPC_MCP_SOURCE_DIR;

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::set<std::string> Stems(const fs::path& dir, const std::string& ext,
                            const std::string& suffix = "") {
  std::set<std::string> out;
  if (!fs::exists(dir)) return out;  // git keeps no empty folders.
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().extension() != ext) continue;
    std::string stem = e.path().stem().string();
    if (!suffix.empty()) {
      if (stem.size() <= suffix.size() ||
          stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) != 0)
        continue;
      stem = stem.substr(0, stem.size() - suffix.size());
    }
    out.insert(stem);
  }
  return out;
}

}  // namespace

TEST_CASE("the protocol core includes nothing from tools/ (main.cc composes them)",
          "[unit]") {
  const std::regex include_tools(R"(#\s*include\s*[<"]tools/)");
  int files = 0;
  for (const auto& e : fs::directory_iterator(kRoot / "mcp_server")) {
    if (e.path().filename() == "main.cc") continue;
    ++files;
    INFO(e.path().filename().string());
    CHECK_FALSE(std::regex_search(Read(e.path()), include_tools));
  }
  CHECK(files > 10);
}

TEST_CASE("every tool has one schema, one source, one registration and one test",
          "[unit]") {
  // A file directly in tools/ is one MCP tool, except the registry itself.
  std::set<std::string> sources = Stems(kRoot / "tools", ".cc");
  sources.erase("registry");
  std::set<std::string> schemas = Stems(kRoot / "schemas" / "tools", ".json");
  std::set<std::string> tests = Stems(kRoot / "tests" / "tools", ".cc", "_test");
  std::set<std::string> registered;
  const std::string registry = Read(kRoot / "tools" / "registry.cc");
  const std::regex line(R"(HPC_RETURN_IF_ERROR\(Register(\w+)\(server\)\))");
  for (std::sregex_iterator it(registry.begin(), registry.end(), line), end; it != end; ++it) {
    // RegisterTailLog -> tail_log
    std::string camel = (*it)[1], snake;
    for (char c : camel) {
      if (isupper(static_cast<unsigned char>(c))) {
        if (!snake.empty()) snake += '_';
        snake += static_cast<char>(tolower(c));
      } else {
        snake += c;
      }
    }
    registered.insert(snake);
  }
  CHECK(sources == schemas);
  CHECK(schemas == registered);
  CHECK(registered == tests);
}
