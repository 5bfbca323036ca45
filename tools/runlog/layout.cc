#include "tools/runlog/layout.h"

#include "tools/runlog/human_date.h"

namespace hpc::runlog {
namespace {

bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

}  // namespace

Status CheckName(std::string_view what, std::string_view name) {
  bool ok =
      !name.empty() && name.size() <= 64 && name[0] != '.' && name[0] != '-';
  for (char c : name) ok = ok && NameChar(c);
  if (ok) return Status::Ok();
  return InvalidArgument(
      std::string(what) + " '" + std::string(name) +
      "' is not a plain name: use 1-64 letters, digits, '_', '.' or '-', "
      "starting with a letter, digit or '_' (no '/' and no '..'): run logs "
      "stay under run_logs/ in the repository");
}

Result<std::string> GroupDir(const std::string& group) {
  if (group.empty()) return std::string(kRunLogsDir) + "/";
  HPC_RETURN_IF_ERROR(CheckName("group", group));
  return std::string(kRunLogsDir) + "/" + group + "/";
}

Result<std::string> RunLogPath(const std::string& group, const std::string& day,
                               const std::string& task) {
  auto dir = GroupDir(group);
  if (!dir.ok()) return dir.status();
  HPC_RETURN_IF_ERROR(CheckName("task", task));
  if (!HumanDay(day))
    return InvalidArgument("'" + day + "' is not a yyyy-mm-dd day");
  return *dir + day + "_" + task + ".md";
}

Status CheckRelative(std::string_view path) {
  if (path.empty() || path.size() > 1024 || path.front() == '/')
    return InvalidArgument("'" + std::string(path) +
                           "' is not a relative path inside the repository");
  // A trailing '/' names a directory; every component must be a plain name.
  std::string_view rest =
      path.back() == '/' ? path.substr(0, path.size() - 1) : path;
  while (true) {
    size_t slash = rest.find('/');
    Status s = CheckName("path component", rest.substr(0, slash));
    if (!s.ok())
      return InvalidArgument(
          "'" + std::string(path) +
          "' leaves the repository or is not a plain path: " + s.message());
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return Status::Ok();
}

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

std::string BaseOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string DayOf(const std::string& file_name) {
  if (file_name.size() < 15 || file_name[10] != '_' ||
      file_name.compare(file_name.size() - 3, 3, ".md") != 0)
    return "";
  std::string day = file_name.substr(0, 10);
  return HumanDay(day) ? day : "";
}

std::string TaskOf(const std::string& file_name) {
  if (DayOf(file_name).empty()) return "";
  return file_name.substr(11, file_name.size() - 14);
}

}  // namespace hpc::runlog
