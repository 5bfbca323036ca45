// hpc-mcp: the composition root. Parses flags, registers the HPC tools and
// serves them over stdio or Streamable HTTP. This is the only file in
// mcp_server/ that includes tools/.
#include "mcp_server/serve.h"
#include "tools/registry.h"

int main(int argc, char** argv) {
  return hpc::mcp::ServeMain(argc, argv, hpc::tools::DefaultServerOptions(),
                             hpc::tools::RegisterAll, hpc::tools::AppFlags());
}
