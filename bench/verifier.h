// Strict verification of every tools/call response.
//
// A full check parses the message with nlohmann::json and requires: a JSON
// object, "jsonrpc" == "2.0", an integer "id", no "error" and no "method",
// an object "result" whose "isError" is absent or false, and
// result.content[0] == {type: "text", text: <expected>}.
//
// Parsing every one of a million responses would make the driver the
// bottleneck, so verdicts are cached per response *template*: the bytes of a
// fully verified response with its id digits cut out. A later response that
// is byte-identical except for those digits has the same parse and the same
// verdict, with the digits as its id. The id span is only accepted after a
// second full parse with different digits there yields exactly that id, so a
// digit run elsewhere (say, in a nested "id") can never be taken for it.
// Anything else (new shape, different bytes) gets a full check.

#ifndef HPC_MCP_BENCH_VERIFIER_H_
#define HPC_MCP_BENCH_VERIFIER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "wire.h"

namespace mcp_bench {

class CallVerifier {
 public:
  enum class Verdict {
    kOk,            // a verified tools/call response; *id is its id
    kNotification,  // a JSON-RPC notification from the server (no id)
    kBad,           // anything else; *error says why
  };

  // full_every_time disables the template cache (to measure its effect).
  CallVerifier(std::string expected_text, bool full_every_time);

  Verdict Check(std::string_view message, int64_t* id, std::string* error);

  int64_t full_checks() const { return full_checks_; }

 private:
  struct Template {
    std::string bytes;
    size_t id_pos;
    size_t id_len;
  };

  Verdict FullCheck(std::string_view message, int64_t* id,
                    std::string* error) const;
  void Learn(std::string_view message, int64_t id);

  static constexpr size_t kMaxTemplates = 16;
  std::string expected_text_;
  bool full_every_time_;
  std::vector<Template> templates_;
  int64_t full_checks_ = 0;
};

}  // namespace mcp_bench

#endif  // HPC_MCP_BENCH_VERIFIER_H_
