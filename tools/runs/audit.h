// The audit trail: every call of a mutating tool (annotations.readOnlyHint
// false in schemas/tools/<name>.json) becomes one repository-wide `audit`
// event in the journal of the repository the call is about, appended before
// the call is answered. list_runs shows them with view "audit".
//
// The event's context (run.h lists it with the other events):
//   tool         the tool's name
//   client       {name, version} from initialize ({} when the client sent none)
//   session      "stdio", or the first 8 characters of the HTTP session id
//                (as the HTTP transport logs it: enough to tell sessions
//                apart; the whole id would let a reader of the journal speak
//                in a live session of a server without a token)
//   arguments    as called, after mcp::RedactJson (so a confirm_token, too,
//                is never written whole); strings over 4 KiB are cut
//   outcome      "ok" or "error"
//   error        {code, reason, message} when the outcome is "error"
//   run_ids      every run_id / run_ids the structured result names
//   duration_ms  the handler's wall time
//
// Auditing never changes an answer: a repository that cannot be resolved
// (a bad `repo` argument, which the tool reports itself) is not audited, and
// a failed append is logged as a warning. Calls that input validation
// refuses never reach a tool and are not audited.
//
// Thread-safety: the wrapped handler is as thread-safe as the handler.
#pragma once

#include <nlohmann/json.hpp>

#include "mcp_server/tool.h"

namespace hpc::runs {

// `handler` wrapped to audit each call when `definition` (the tool's MCP
// definition) says the tool mutates; `handler` itself otherwise. Fits
// mcp::ServerOptions::wrap_tool.
mcp::ToolHandler Audited(const nlohmann::json& definition,
                         mcp::ToolHandler handler);

}  // namespace hpc::runs
