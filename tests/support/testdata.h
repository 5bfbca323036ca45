// Captured scheduler output (tests/testdata/, format in its README.md):
// NAME.out, NAME.err (absent when empty) and NAME.cmd (a "# key: value"
// header, then the command line). A recapture changes job ids and dates, so
// tests read them from the files: from the case line ("ok=7 exit3=8 ...")
// or from the command line ("qacct -j 34").
//
// Header-only because the test build globs only *_test.cc files.
#pragma once

#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tools/cluster/job_state.h"
#include "tools/remote/remote.h"

namespace hpc::testing {

inline std::string ReadTestdataFile(const std::string& rel) {
  std::ifstream in(std::string(HPC_MCP_SOURCE_DIR) + "/tests/testdata/" + rel,
                   std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct CapturedCommand {
  std::string name;     // "slurm/sacct_all"
  std::string case_text;
  std::string command;  // The command line as run.
  int rc = 0;
  std::string out, err;
  std::map<std::string, std::string> ids;  // key=digits pairs of the case.

  remote::CommandResult result() const {
    remote::CommandResult r;
    r.exit_code = rc;
    r.out = out;
    r.err = err;
    return r;
  }
  // The last word of the command line ("qdel 38" -> "38").
  std::string last_word() const {
    size_t sp = command.find_last_of(' ');
    return sp == std::string::npos ? command : command.substr(sp + 1);
  }
  // The word after `flag` in the command line ("-j").
  std::string after(const std::string& flag) const {
    std::istringstream words(command);
    std::string w;
    while (words >> w)
      if (w == flag && words >> w) return w;
    return "";
  }
};

// Loads NAME.{cmd,out,err}; `name` is "slurm/<capture>" or "sge/<capture>".
// A missing capture yields an empty command (tests REQUIRE it non-empty).
inline CapturedCommand LoadCapture(const std::string& name) {
  CapturedCommand c;
  c.name = name;
  c.out = ReadTestdataFile(name + ".out");
  c.err = ReadTestdataFile(name + ".err");
  std::istringstream cmd(ReadTestdataFile(name + ".cmd"));
  std::string line;
  while (std::getline(cmd, line)) {
    if (line.rfind("# case: ", 0) == 0) c.case_text = line.substr(8);
    else if (line.rfind("# rc: ", 0) == 0) c.rc = std::atoi(line.c_str() + 6);
    else if (!line.empty() && line[0] != '#') c.command = line;
  }
  std::istringstream words(c.case_text);
  std::string w;
  while (words >> w) {
    size_t eq = w.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == w.size()) continue;
    std::string v = w.substr(eq + 1);
    if (v.find_first_not_of("0123456789") == std::string::npos)
      c.ids[w.substr(0, eq)] = v;
  }
  return c;
}

// "2026-11-23T06:39:27" for an epoch, in UTC (the testbed's local time).
inline std::string IsoUtc(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

// The status of job `id` in `v`, or null.
inline const cluster::JobStatus* FindJob(const std::vector<cluster::JobStatus>& v,
                                         const std::string& id) {
  for (const auto& s : v)
    if (s.job_id == id) return &s;
  return nullptr;
}

}  // namespace hpc::testing
