// build/conformance-server: the mcp_server core with the fixture surface the
// official MCP conformance suite expects (the upstream "everything" server's
// tools, resources and prompts), so that the suite can check our protocol
// core and transports. Not shipped; the product binary is hpc-mcp.
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

std::map<std::string, ToolHandler> Handlers() {
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
  return h;
}

Status AddResources(Server& server) {
  auto text = [](std::string uri, std::string mime, std::string body) {
    return [=](const std::string&, const auto&) -> Result<json> {
      return json::array({{{"uri", uri}, {"mimeType", mime}, {"text", body}}});
    };
  };
  HPC_RETURN_IF_ERROR(server.AddResource(
      {{"uri", "test://static-text"}, {"name", "static-text"}, {"title", "Static Text Resource"},
       {"description", "A static text resource for testing"}, {"mimeType", "text/plain"}},
      text("test://static-text", "text/plain", "This is the content of the static text resource.")));
  HPC_RETURN_IF_ERROR(server.AddResource(
      {{"uri", "test://static-binary"}, {"name", "static-binary"}, {"title", "Static Binary Resource"},
       {"description", "A static binary resource (image) for testing"}, {"mimeType", "image/png"}},
      [](const std::string&, const auto&) -> Result<json> {
        return json::array({{{"uri", "test://static-binary"}, {"mimeType", "image/png"}, {"blob", kPng}}});
      }));
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
      });
}

Status AddPrompts(Server& server) {
  auto messages = [](json list) -> Result<json> { return json{{"messages", std::move(list)}}; };
  HPC_RETURN_IF_ERROR(server.AddPrompt(
      {{"name", "test_simple_prompt"}, {"title", "Simple Test Prompt"},
       {"description", "A simple prompt without arguments"}},
      [=](const json&) {
        return messages({{{"role", "user"}, {"content", Text("This is a simple prompt for testing.")}}});
      }));
  HPC_RETURN_IF_ERROR(server.AddPrompt(
      {{"name", "test_prompt_with_arguments"}, {"title", "Prompt With Arguments"},
       {"description", "A prompt with required arguments"},
       {"arguments", {{{"name", "arg1"}, {"description", "First test argument"}, {"required", true}},
                      {{"name", "arg2"}, {"description", "Second test argument"}, {"required", true}}}}},
      [=](const json& a) {
        return messages({{{"role", "user"},
                          {"content", Text("Prompt with arguments: arg1='" + a.value("arg1", "") +
                                           "', arg2='" + a.value("arg2", "") + "'")}}});
      }));
  HPC_RETURN_IF_ERROR(server.AddPrompt(
      {{"name", "test_prompt_with_embedded_resource"}, {"title", "Prompt With Embedded Resource"},
       {"description", "A prompt that includes an embedded resource"},
       {"arguments", {{{"name", "resourceUri"}, {"description", "URI of the resource to embed"}, {"required", true}}}}},
      [=](const json& a) {
        return messages(
            {{{"role", "user"},
              {"content", {{"type", "resource"},
                           {"resource", {{"uri", a.value("resourceUri", "")},
                                         {"mimeType", "text/plain"},
                                         {"text", "Embedded resource content for testing."}}}}}},
             {{"role", "user"}, {"content", Text("Please process the embedded resource above.")}}});
      }));
  return server.AddPrompt(
      {{"name", "test_prompt_with_image"}, {"title", "Prompt With Image"},
       {"description", "A prompt that includes image content"}},
      [=](const json&) {
        return messages({{{"role", "user"}, {"content", {{"type", "image"}, {"data", kPng}, {"mimeType", "image/png"}}}},
                         {{"role", "user"}, {"content", Text("Please analyze the image above.")}}});
      });
}

Status RegisterFixtures(Server& server) {
  auto text = FindAsset(ConformanceAssets(), "tests/conformance/fixture_tools.json");
  if (!text) return hpc::NotFound("fixture_tools.json is not embedded");
  json doc = ParseJson(*text);
  auto handlers = Handlers();
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
  return ServeMain(argc, argv, o, RegisterFixtures);
}
