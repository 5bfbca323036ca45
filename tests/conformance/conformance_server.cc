// build/conformance-server: the mcp_server core with the fixture surface the
// official MCP conformance suite expects (the upstream "everything" server's
// tools, resources and prompts, plus the diagnostic and input-required
// fixtures its 2026-07-28 scenarios name), so that the suite can check our
// protocol core and transports in both eras. The fixtures only use the
// core's API; every protocol decision (-32021, sealing requestState, which
// notifications reach whom) is the core's. Not shipped; the product binary
// is hpc-mcp.
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "mcp_server/assets.h"
#include "mcp_server/serve.h"

namespace hpc::mcp {
AssetTable ConformanceAssets();  // Generated: fixture_tools.json.
}

namespace {

using hpc::Result;
using hpc::Status;
using namespace hpc::mcp;

constexpr const char* kPng =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
constexpr const char* kWav = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

json Text(const std::string& t) { return {{"type", "text"}, {"text", t}}; }

ToolResult Content(json blocks) {
  ToolResult r;
  r.content = std::move(blocks);
  return r;
}

// Sends an elicitation/create and describes the answer, as upstream does.
Result<ToolResult> Elicit(RequestContext& ctx, json params, const std::string& label) {
  auto r = ctx.AskClient("elicitation/create", std::move(params), std::chrono::seconds(60));
  if (!r.ok())
    return ToolResult::Text("Elicitation not supported or error: " + r.status().message());
  return ToolResult::Text(label + ": action=" + r->value("action", "") +
                          ", content=" + Dump(r->value("content", json::object())));
}

// --- 2026-07-28 fixtures: input-required results (SEP-2322) ---
//
// A handler that needs the client's input returns ToolResult::InputRequired
// with its input requests; the core turns that into an InputRequiredResult
// for a 2026-07-28 request (sealing the state) or asks a legacy client
// directly, and calls the handler again with the answers. So each handler
// below is written once, as a function of the answers it has so far.

json ElicitRequest(std::string message, json properties, json required) {
  return {{"method", "elicitation/create"},
          {"params",
           {{"message", std::move(message)},
            {"requestedSchema",
             {{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}}}}}};
}

json SamplingRequest(std::string text, int max_tokens) {
  return {{"method", "sampling/createMessage"},
          {"params",
           {{"messages", json::array({{{"role", "user"}, {"content", Text(text)}}})},
            {"maxTokens", max_tokens}}}};
}

json RootsRequest() { return {{"method", "roots/list"}, {"params", json::object()}}; }

json AskName() {
  return ElicitRequest("What is your name?", {{"name", {{"type", "string"}}}}, {"name"});
}

// The client's answer to input request `key`, or null when it sent none.
json AnswerTo(RequestContext& ctx, const std::string& key) {
  json all = ctx.InputResponses();
  return all.contains(key) ? all[key] : json();
}

// A form field of an accepted elicitation, or `fallback`.
std::string Field(const json& answer, const char* name, std::string fallback) {
  // Whatever the client sent: StringOr and the checks below never throw.
  if (StringOr(answer, "action") != "accept" || !answer.contains("content")) return fallback;
  const json& content = answer["content"];
  if (!content.is_object() || !content.contains(name)) return fallback;
  return content[name].is_string() ? content[name].get<std::string>() : Dump(content[name]);
}

// The text of a sampling answer (CreateMessageResult).
std::string SampledText(const json& answer) {
  if (!answer.is_object() || !answer.contains("content")) return "(no content)";
  const json& c = answer["content"];
  if (c.is_object() && c.contains("text") && c["text"].is_string()) return c["text"];
  return Dump(c);
}

// The root URIs of a roots/list answer (ListRootsResult).
std::string RootList(const json& answer) {
  std::string out;
  if (answer.is_object() && answer.contains("roots") && answer["roots"].is_array())
    for (const json& r : answer["roots"])
      if (r.is_object() && r.contains("uri") && r["uri"].is_string())
        out += (out.empty() ? "" : ", ") + r["uri"].get<std::string>();
  return out.empty() ? "(none)" : out;
}

void AddInputRequiredTools(std::map<std::string, ToolHandler>& h) {
  h["test_input_required_result_elicitation"] = [](RequestContext& ctx, const json&) -> Result<ToolResult> {
    json name = AnswerTo(ctx, "user_name");
    // Missing (or a wrong key only): ask again rather than fail (SEP-2322).
    if (name.is_null()) return ToolResult::InputRequired({{"user_name", AskName()}});
    return ToolResult::Text("Hello, " + Field(name, "name", "stranger") + "!");
  };
  h["test_input_required_result_sampling"] = [](RequestContext& ctx, const json&) -> Result<ToolResult> {
    json answer = AnswerTo(ctx, "capital_question");
    if (answer.is_null())
      return ToolResult::InputRequired(
          {{"capital_question", SamplingRequest("What is the capital of France?", 100)}});
    return ToolResult::Text("Sampling response: " + SampledText(answer));
  };
  h["test_input_required_result_list_roots"] = [](RequestContext& ctx, const json&) -> Result<ToolResult> {
    json answer = AnswerTo(ctx, "client_roots");
    if (answer.is_null()) return ToolResult::InputRequired({{"client_roots", RootsRequest()}});
    return ToolResult::Text("Client roots: " + RootList(answer));
  };
  h["test_input_required_result_request_state"] = [](RequestContext& ctx, const json&) -> Result<ToolResult> {
    constexpr const char* kState = "awaiting-confirm";
    json confirm = AnswerTo(ctx, "confirm");
    // The core verified the state's integrity; a missing one means the
    // client did not echo it, so the round starts over.
    if (confirm.is_null() || ctx.RequestState() != kState)
      return ToolResult::InputRequired(
          {{"confirm", ElicitRequest("Please confirm", {{"ok", {{"type", "boolean"}}}}, {"ok"})}},
          kState);
    return ToolResult::Text("state-ok: requestState verified, confirmed=" +
                            Field(confirm, "ok", "false"));
  };
  h["test_input_required_result_multiple_inputs"] = [](RequestContext& ctx, const json&) -> Result<ToolResult> {
    const json all{{"user_name", AskName()},
                   {"greeting", SamplingRequest("Generate a greeting", 50)},
                   {"client_roots", RootsRequest()}};
    json missing = json::object();
    for (const auto& [key, request] : all.items())
      if (AnswerTo(ctx, key).is_null()) missing[key] = request;
    if (!missing.empty()) return ToolResult::InputRequired(std::move(missing), "awaiting-all");
    return ToolResult::Text("name=" + Field(AnswerTo(ctx, "user_name"), "name", "stranger") +
                            ", greeting=" + SampledText(AnswerTo(ctx, "greeting")) +
                            ", roots=" + RootList(AnswerTo(ctx, "client_roots")));
  };
  h["test_input_required_result_multi_round"] = [](RequestContext& ctx, const json&) -> Result<ToolResult> {
    // The state carries what earlier rounds learned: "round1", then
    // "round2:<name>".
    const std::string state = ctx.RequestState();
    auto step1 = [] {
      return ToolResult::InputRequired(
          {{"step1", ElicitRequest("Step 1: What is your name?", {{"name", {{"type", "string"}}}}, {"name"})}},
          "round1");
    };
    auto step2 = [](const std::string& name) {
      return ToolResult::InputRequired(
          {{"step2", ElicitRequest("Step 2: What is your favorite color?",
                                   {{"color", {{"type", "string"}}}}, {"color"})}},
          "round2:" + name);
    };
    if (state == "round1") {
      json a = AnswerTo(ctx, "step1");
      return a.is_null() ? step1() : step2(Field(a, "name", "stranger"));
    }
    if (state.rfind("round2:", 0) == 0) {
      json a = AnswerTo(ctx, "step2");
      if (a.is_null()) return step2(state.substr(7));
      return ToolResult::Text(state.substr(7) + "'s favorite color is " + Field(a, "color", "unknown"));
    }
    return step1();
  };
  h["test_input_required_result_tampered_state"] = [](RequestContext& ctx, const json&) -> Result<ToolResult> {
    // Tampering never reaches this handler: the core refuses a state whose
    // HMAC does not verify with -32602.
    json confirm = AnswerTo(ctx, "confirm");
    if (confirm.is_null() || ctx.RequestState() != "integrity-protected")
      return ToolResult::InputRequired(
          {{"confirm", ElicitRequest("Please confirm", {{"ok", {{"type", "boolean"}}}}, {"ok"})}},
          "integrity-protected");
    return ToolResult::Text("requestState verified");
  };
  h["test_input_required_result_capabilities"] = [](RequestContext& ctx, const json&) -> Result<ToolResult> {
    // Only what the client can answer: an input request for an undeclared
    // capability would be refused (-32021), not answered.
    json wanted = json::object();
    if (ctx.ClientSupports("elicitation")) wanted["user_name"] = AskName();
    if (ctx.ClientSupports("sampling")) wanted["greeting"] = SamplingRequest("Generate a greeting", 50);
    if (ctx.ClientSupports("roots")) wanted["client_roots"] = RootsRequest();
    if (wanted.empty())
      return ToolResult::Text("The client declared none of elicitation, sampling and roots; nothing to ask");
    json missing = json::object();
    for (const auto& [key, request] : wanted.items())
      if (AnswerTo(ctx, key).is_null()) missing[key] = request;
    if (!missing.empty()) return ToolResult::InputRequired(std::move(missing));
    std::string got;
    for (const auto& [key, request] : wanted.items()) got += (got.empty() ? "" : ", ") + key;
    return ToolResult::Text("Answered: " + got);
  };
}

// --- 2026-07-28 fixtures: server-stateless diagnostics ---
void AddStatelessDiagnostics(std::map<std::string, ToolHandler>& h, Server& server) {
  h["test_missing_capability"] = [](RequestContext& ctx, const json&) -> Result<ToolResult> {
    HPC_RETURN_IF_ERROR(ctx.RequireClientCapability("sampling"));
    json answer = AnswerTo(ctx, "probe");
    if (answer.is_null())
      return ToolResult::InputRequired({{"probe", SamplingRequest("Say hello", 20)}});
    return ToolResult::Text("Sampling response: " + SampledText(answer));
  };
  h["test_streaming_elicitation"] = [](RequestContext& ctx, const json&) -> Result<ToolResult> {
    ctx.Progress(0, 1, "asking the user");
    json answer = AnswerTo(ctx, "confirmation");
    if (answer.is_null())
      return ToolResult::InputRequired(
          {{"confirmation",
            ElicitRequest("Continue?", {{"proceed", {{"type", "boolean"}}}}, {"proceed"})}});
    ctx.Progress(1, 1, "answered");
    return ToolResult::Text("Elicitation answered: proceed=" + Field(answer, "proceed", "false"));
  };
  h["test_logging_tool"] = [](RequestContext& ctx, const json&) -> Result<ToolResult> {
    for (const char* m : {"test_logging_tool started", "test_logging_tool working",
                          "test_logging_tool finished"})
      ctx.Log(LogLevel::kInfo, m, "test_logging_tool");
    return ToolResult::Text("Logged three info messages");
  };
  h["test_trigger_tool_change"] = [&server](RequestContext&, const json&) -> Result<ToolResult> {
    server.NotifyListChanged("tools");
    return ToolResult::Text("Sent notifications/tools/list_changed");
  };
  h["test_trigger_prompt_change"] = [&server](RequestContext&, const json&) -> Result<ToolResult> {
    server.NotifyListChanged("prompts");
    return ToolResult::Text("Sent notifications/prompts/list_changed");
  };
}

std::map<std::string, ToolHandler> Handlers(Server& server) {
  std::map<std::string, ToolHandler> h;
  h["test_simple_text"] = [](RequestContext&, const json&) -> Result<ToolResult> {
    return ToolResult::Text("This is a simple text response for testing.");
  };
  h["test_image_content"] = [](RequestContext&, const json&) -> Result<ToolResult> {
    return Content({{{"type", "image"}, {"data", kPng}, {"mimeType", "image/png"}}});
  };
  h["test_audio_content"] = [](RequestContext&, const json&) -> Result<ToolResult> {
    return Content({{{"type", "audio"}, {"data", kWav}, {"mimeType", "audio/wav"}}});
  };
  h["test_embedded_resource"] = [](RequestContext&, const json&) -> Result<ToolResult> {
    return Content({{{"type", "resource"},
                     {"resource",
                      {{"uri", "test://embedded-resource"},
                       {"mimeType", "text/plain"},
                       {"text", "This is an embedded resource content."}}}}});
  };
  h["test_multiple_content_types"] = [](RequestContext&, const json&) -> Result<ToolResult> {
    return Content({Text("Multiple content types test:"),
                    {{"type", "image"}, {"data", kPng}, {"mimeType", "image/png"}},
                    {{"type", "resource"},
                     {"resource",
                      {{"uri", "test://mixed-content-resource"},
                       {"mimeType", "application/json"},
                       {"text", R"({"test":"data","value":123})"}}}}});
  };
  h["test_tool_with_logging"] = [](RequestContext& ctx, const json&) -> Result<ToolResult> {
    for (const char* m : {"Tool execution started", "Tool processing data",
                          "Tool execution completed"}) {
      ctx.Log(LogLevel::kInfo, m);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return ToolResult::Text("Tool with logging executed successfully");
  };
  h["test_tool_with_progress"] = [](RequestContext& ctx, const json&) -> Result<ToolResult> {
    for (int p : {0, 50, 100}) {
      ctx.Progress(p, 100, "Completed step " + std::to_string(p) + " of 100");
      if (p < 100) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return ToolResult::Text("progress reported");
  };
  h["test_error_handling"] = [](RequestContext&, const json&) -> Result<ToolResult> {
    return hpc::FailedPrecondition("This tool intentionally returns an error for testing");
  };
  h["test_reconnection"] = [](RequestContext&, const json&) -> Result<ToolResult> {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return ToolResult::Text("Reconnection test completed successfully.");
  };
  h["test_sampling"] = [](RequestContext& ctx, const json& args) -> Result<ToolResult> {
    json params{{"messages", json::array({{{"role", "user"}, {"content", Text(args["prompt"])}}})},
                {"maxTokens", 100}};
    auto r = ctx.AskClient("sampling/createMessage", params, std::chrono::seconds(60));
    if (!r.ok())
      return ToolResult::Text("Sampling not supported or error: " + r.status().message());
    std::string text = r->contains("content") && (*r)["content"].is_object()
                           ? (*r)["content"].value("text", "No response")
                           : "No response";
    return ToolResult::Text("LLM response: " + text);
  };
  h["test_elicitation"] = [](RequestContext& ctx, const json& args) -> Result<ToolResult> {
    return Elicit(ctx,
                  {{"mode", "form"},
                   {"message", args["message"]},
                   {"requestedSchema",
                    {{"type", "object"},
                     {"properties", {{"response", {{"type", "string"}, {"description", "User's response"}}}}},
                     {"required", {"response"}}}}},
                  "User response");
  };
  h["test_elicitation_sep1034_defaults"] = [](RequestContext& ctx, const json&) -> Result<ToolResult> {
    json props{
        {"name", {{"type", "string"}, {"description", "User name"}, {"default", "John Doe"}}},
        {"age", {{"type", "integer"}, {"description", "User age"}, {"default", 30}}},
        {"score", {{"type", "number"}, {"description", "User score"}, {"default", 95.5}}},
        {"status",
         {{"type", "string"}, {"description", "User status"},
          {"enum", {"active", "inactive", "pending"}}, {"default", "active"}}},
        {"verified", {{"type", "boolean"}, {"description", "Verification status"}, {"default", true}}}};
    return Elicit(ctx,
                  {{"mode", "form"},
                   {"message", "Please review and update the form fields with defaults"},
                   {"requestedSchema", {{"type", "object"}, {"properties", props}, {"required", json::array()}}}},
                  "Elicitation completed");
  };
  h["test_elicitation_sep1330_enums"] = [](RequestContext& ctx, const json&) -> Result<ToolResult> {
    auto titled = [](const char* prefix, const char* word) {
      json a = json::array();
      const char* names[] = {"First", "Second", "Third"};
      for (int i = 0; i < 3; ++i)
        a.push_back({{"const", std::string(prefix) + std::to_string(i + 1)},
                     {"title", std::string(names[i]) + " " + word}});
      return a;
    };
    json props{
        {"untitledSingle", {{"type", "string"}, {"description", "Select one option"},
                            {"enum", {"option1", "option2", "option3"}}}},
        {"titledSingle", {{"type", "string"}, {"description", "Select one option with titles"},
                          {"oneOf", titled("value", "Option")}}},
        {"legacyEnum", {{"type", "string"}, {"description", "Select one option (legacy)"},
                        {"enum", {"opt1", "opt2", "opt3"}},
                        {"enumNames", {"Option One", "Option Two", "Option Three"}}}},
        {"untitledMulti", {{"type", "array"}, {"description", "Select multiple options"},
                           {"minItems", 1}, {"maxItems", 3},
                           {"items", {{"type", "string"}, {"enum", {"option1", "option2", "option3"}}}}}},
        {"titledMulti", {{"type", "array"}, {"description", "Select multiple options with titles"},
                         {"minItems", 1}, {"maxItems", 3},
                         {"items", {{"anyOf", titled("value", "Choice")}}}}}};
    return Elicit(ctx,
                  {{"mode", "form"},
                   {"message", "Please select options from the enum fields"},
                   {"requestedSchema", {{"type", "object"}, {"properties", props}, {"required", json::array()}}}},
                  "Elicitation completed");
  };
  h["json_schema_2020_12_tool"] = [](RequestContext&, const json& args) -> Result<ToolResult> {
    return ToolResult::Text("JSON Schema 2020-12 tool called with: " + Dump(args));
  };
  h["test_cancellable_sleep"] = [](RequestContext& ctx, const json& args) -> Result<ToolResult> {
    const int64_t total = args["duration_ms"];
    int64_t slept = 0;
    while (slept < total) {
      if (ctx.stop_token().stop_requested()) return hpc::Cancelled("cancelled");
      int64_t step = std::min<int64_t>(50, total - slept);
      std::this_thread::sleep_for(std::chrono::milliseconds(step));
      slept += step;
      ctx.Progress(static_cast<double>(slept), static_cast<double>(total));
    }
    return ToolResult::Structured({{"slept_ms", slept}});
  };
  AddInputRequiredTools(h);
  AddStatelessDiagnostics(h, server);
  return h;
}

Status AddResources(Server& server) {
  // The static fixtures never change and name nobody's data: anyone may
  // cache them for a minute (2026-07-28 ttlMs/cacheScope). The watched
  // resource is the one that changes, so it is not cached at all.
  const CacheHint kStatic{60000, true};
  auto text = [](std::string uri, std::string mime, std::string body) {
    return [=](const std::string&, const auto&) -> Result<json> {
      return json::array({{{"uri", uri}, {"mimeType", mime}, {"text", body}}});
    };
  };
  HPC_RETURN_IF_ERROR(server.AddResource(
      {{"uri", "test://static-text"}, {"name", "static-text"}, {"title", "Static Text Resource"},
       {"description", "A static text resource for testing"}, {"mimeType", "text/plain"}},
      text("test://static-text", "text/plain", "This is the content of the static text resource."),
      kStatic));
  HPC_RETURN_IF_ERROR(server.AddResource(
      {{"uri", "test://static-binary"}, {"name", "static-binary"}, {"title", "Static Binary Resource"},
       {"description", "A static binary resource (image) for testing"}, {"mimeType", "image/png"}},
      [](const std::string&, const auto&) -> Result<json> {
        return json::array({{{"uri", "test://static-binary"}, {"mimeType", "image/png"}, {"blob", kPng}}});
      },
      kStatic));
  HPC_RETURN_IF_ERROR(server.AddResource(
      {{"uri", "test://watched-resource"}, {"name", "watched-resource"}, {"title", "Watched Resource"},
       {"description", "A resource that can be subscribed to"}, {"mimeType", "text/plain"}},
      text("test://watched-resource", "text/plain", "Watched resource content")));
  return server.AddResourceTemplate(
      {{"uriTemplate", "test://template/{id}/data"}, {"name", "template"},
       {"title", "Resource Template"}, {"description", "A resource template with parameter substitution"},
       {"mimeType", "application/json"}},
      [](const std::string& uri, const std::map<std::string, std::string>& vars) -> Result<json> {
        const std::string& id = vars.at("id");
        json body{{"id", id}, {"templateTest", true}, {"data", "Data for ID: " + id}};
        return json::array({{{"uri", uri}, {"mimeType", "application/json"}, {"text", Dump(body)}}});
      },
      kStatic);
}

Status AddPrompts(Server& server) {
  auto messages = [](json list) -> Result<json> { return json{{"messages", std::move(list)}}; };
  HPC_RETURN_IF_ERROR(server.AddPrompt(
      {{"name", "test_simple_prompt"}, {"title", "Simple Test Prompt"},
       {"description", "A simple prompt without arguments"}},
      [=](RequestContext&, const json&) {
        return messages({{{"role", "user"}, {"content", Text("This is a simple prompt for testing.")}}});
      }));
  HPC_RETURN_IF_ERROR(server.AddPrompt(
      {{"name", "test_prompt_with_arguments"}, {"title", "Prompt With Arguments"},
       {"description", "A prompt with required arguments"},
       {"arguments", {{{"name", "arg1"}, {"description", "First test argument"}, {"required", true}},
                      {{"name", "arg2"}, {"description", "Second test argument"}, {"required", true}}}}},
      [=](RequestContext&, const json& a) {
        return messages({{{"role", "user"},
                          {"content", Text("Prompt with arguments: arg1='" + a.value("arg1", "") +
                                           "', arg2='" + a.value("arg2", "") + "'")}}});
      }));
  HPC_RETURN_IF_ERROR(server.AddPrompt(
      {{"name", "test_prompt_with_embedded_resource"}, {"title", "Prompt With Embedded Resource"},
       {"description", "A prompt that includes an embedded resource"},
       {"arguments", {{{"name", "resourceUri"}, {"description", "URI of the resource to embed"}, {"required", true}}}}},
      [=](RequestContext&, const json& a) {
        return messages(
            {{{"role", "user"},
              {"content", {{"type", "resource"},
                           {"resource", {{"uri", a.value("resourceUri", "")},
                                         {"mimeType", "text/plain"},
                                         {"text", "Embedded resource content for testing."}}}}}},
             {{"role", "user"}, {"content", Text("Please process the embedded resource above.")}}});
      }));
  HPC_RETURN_IF_ERROR(server.AddPrompt(
      {{"name", "test_prompt_with_image"}, {"title", "Prompt With Image"},
       {"description", "A prompt that includes image content"}},
      [=](RequestContext&, const json&) {
        return messages({{{"role", "user"}, {"content", {{"type", "image"}, {"data", kPng}, {"mimeType", "image/png"}}}},
                         {{"role", "user"}, {"content", Text("Please analyze the image above.")}}});
      }));
  // SEP-2322 on a request other than tools/call: the prompt needs the
  // user's input first (an input-required result, or elicitation/create on
  // a legacy session).
  return server.AddPrompt(
      {{"name", "test_input_required_result_prompt"}, {"title", "Prompt Requiring Input"},
       {"description", "A prompt that asks the user for context (elicitation) before it is rendered"}},
      [=](RequestContext& ctx, const json&) -> Result<json> {
        json answer = AnswerTo(ctx, "user_context");
        if (answer.is_null())
          return json{{"inputRequests",
                       {{"user_context",
                         ElicitRequest("What context should the prompt use?",
                                       {{"context", {{"type", "string"}}}}, {"context"})}}}};
        return messages({{{"role", "user"},
                          {"content", Text("Answer using this context: " +
                                           Field(answer, "context", "(none given)"))}}});
      });
}

Status RegisterFixtures(Server& server) {
  auto text = FindAsset(ConformanceAssets(), "tests/conformance/fixture_tools.json");
  if (!text) return hpc::NotFound("fixture_tools.json is not embedded");
  json doc = ParseJson(*text);
  auto handlers = Handlers(server);
  for (const json& def : doc["tools"]) {
    auto it = handlers.find(def["name"]);
    if (it == handlers.end())
      return hpc::FailedPrecondition("fixture tool " + def["name"].get<std::string>() + " has no handler");
    // Fixtures that return constants never block: they run inline.
    static const std::set<std::string> kInline = {
        "test_simple_text", "test_image_content", "test_audio_content",
        "test_embedded_resource", "test_multiple_content_types",
        "test_error_handling", "json_schema_2020_12_tool"};
    HPC_RETURN_IF_ERROR(server.AddTool(
        def, it->second,
        kInline.count(def["name"]) ? Execution::kInline : Execution::kPool));
  }
  HPC_RETURN_IF_ERROR(AddResources(server));
  return AddPrompts(server);
}

}  // namespace

int main(int argc, char** argv) {
  ServerOptions o;
  o.name = "hpc-mcp-conformance-server";
  o.version = HPC_MCP_VERSION;
  o.instructions = "Fixture server for the MCP conformance suite.";
  o.strict_output = true;
  // The server-stateless scenario announces list changes through
  // test_trigger_tool_change / test_trigger_prompt_change.
  o.tools_list_changed = true;
  o.prompts_list_changed = true;
  return ServeMain(argc, argv, o, RegisterFixtures);
}
