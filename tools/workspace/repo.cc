#include "tools/workspace/repo.h"

#include <unistd.h>

#include <filesystem>

namespace hpc::workspace {
namespace {

namespace fs = std::filesystem;

// "file:///home/a/b%20c" -> "/home/a/b c"; empty for other schemes.
std::string PathOfFileUri(const std::string& uri) {
  const std::string kPrefix = "file://";
  if (uri.rfind(kPrefix, 0) != 0) return "";
  std::string rest = uri.substr(kPrefix.size());
  if (rest.empty() || rest[0] != '/') return "";  // A host part: not ours.
  std::string out;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '%' && i + 2 < rest.size() && isxdigit(rest[i + 1]) && isxdigit(rest[i + 2])) {
      out += static_cast<char>(std::stoi(rest.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += rest[i];
    }
  }
  return out;
}

}  // namespace

Result<std::string> ResolveRepo(mcp::RequestContext& ctx, const nlohmann::json& arguments) {
  if (arguments.contains("repo") && arguments["repo"].is_string()) {
    std::string repo = arguments["repo"];
    std::error_code ec;
    if (repo.empty() || repo[0] != '/')
      return InvalidArgument("repo \"" + repo + "\" must be an absolute path");
    if (!fs::is_directory(repo, ec))
      return InvalidArgument("repo " + repo + " is not a directory on the server's machine");
    return fs::weakly_canonical(repo, ec).string();
  }
  if (ctx.ClientSupports("roots")) {
    auto roots = ctx.AskClient("roots/list", nlohmann::json::object(), std::chrono::seconds(5));
    if (!roots.ok() && ctx.InputPending()) return roots.status();  // Asked again with the answer.
    if (roots.ok() && (*roots)["roots"].is_array()) {
      for (const auto& r : (*roots)["roots"]) {
        std::string path = PathOfFileUri(r.value("uri", ""));
        std::error_code ec;
        if (!path.empty() && fs::is_directory(path, ec)) return path;
      }
    }
  }
  std::error_code ec;
  auto cwd = fs::current_path(ec);
  if (ec) return FailedPrecondition("cannot read the server's working directory; pass repo");
  return cwd.string();
}

}  // namespace hpc::workspace
