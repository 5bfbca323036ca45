// Where hpc-mcp keeps its own per-job state on the machine that runs the
// jobs, and the job wrapper script (cluster_profiles/templates/
// job_wrapper.sh, embedded in the binary) that the `local` and `host`
// backends run every job under.
//
// Layout under the state root (<work_root>/.hpc-mcp, else $HOME/.hpc-mcp; a
// work_root of "~/..." is the remote home):
//   bin/job_wrapper-<hash>.sh  the wrapper, named by content so that an
//                              upgrade never rewrites a running one
//   jobs/<id>/                 one job (host backend): spec, env,
//                              tasks.list, and per task
//     tasks/<task>/            pid, started, result, cancel, wrapper.log
//   slots/                     flock files of the concurrency limit
//   sge/<id>.exit, .tasks, .depfail, .cancelled   Grid Engine afterok
//                              and aftercorr emulation and qdel markers
//                              (sge.h)
//   sge/<id>.comment           the job's run tag, for FindByComment after
//                              the job left the queue
//
// Thread-safety: functions are thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "mcp_server/status.h"
#include "tools/cluster/profile.h"
#include "tools/remote/remote.h"

namespace hpc::cluster {

// The wrapper's text (the embedded asset), or an Internal error if the
// binary was built without it.
Result<std::string_view> JobWrapperScript();

// "job_wrapper-<16 hex digits>.sh" for the embedded wrapper's content.
std::string JobWrapperFileName(std::string_view content);

// The absolute state root for `profile` on `remote`: <work_root>/.hpc-mcp,
// or $HOME/.hpc-mcp (HOME asked of the remote once) when the profile has no
// work_root.
Result<std::string> ResolveStateRoot(const ClusterProfile& profile,
                                     remote::Remote& remote);

}  // namespace hpc::cluster
