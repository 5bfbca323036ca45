// hpc-mcp: the composition root. Parses flags, registers the HPC tools and
// serves them over stdio or Streamable HTTP; `hpc-mcp patrol ...` runs the
// patrol instead (tools/patrol/patrol_main.h). This is the only file in
// mcp_server/ that includes tools/.
#include <string_view>

#include "mcp_server/serve.h"
#include "tools/patrol/patrol_main.h"
#include "tools/registry.h"

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "patrol")
    return hpc::tools::PatrolMain(argc - 1, argv + 1);
  return hpc::mcp::ServeMain(argc, argv, hpc::tools::DefaultServerOptions(),
                             hpc::tools::RegisterAll, hpc::tools::AppFlags());
}
