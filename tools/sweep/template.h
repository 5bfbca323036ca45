// Placeholder templates of a sweep: "${name}" replaced by a value, "$${"
// for a literal "${". Substitution is plain string replacement and nothing
// else: no shell, no recursion (a value containing "${x}" stays as it is),
// no escaping, so a value reaches the task verbatim.
//
// A template is parsed once, bound once to the names a phase defines (each
// placeholder becomes a slot), then rendered once per task from a vector of
// values in slot order: 100,000 tasks cost 100,000 concatenations.
//
// Thread-safety: a bound Template is immutable; Render may run concurrently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mcp_server/status.h"

namespace hpc::sweep {

class Template {
 public:
  // InvalidArgument for a "${" not followed by a name and "}" (the message
  // quotes the text and says how to write a literal "${").
  static Result<Template> Parse(std::string_view text);

  // The placeholder names, each once, in order of first appearance.
  std::vector<std::string> Names() const;
  bool HasPlaceholders() const;

  // Resolves every placeholder against `vars`, the names a render will give
  // values for, in that order. Returns the first name not in `vars`, or ""
  // when all are (the template is then bound).
  std::string Bind(const std::vector<std::string>& vars);

  // REQUIRES: Bind(vars) returned "" and values.size() == vars.size().
  std::string Render(const std::vector<std::string>& values) const;

  const std::string& text() const { return text_; }

 private:
  struct Piece {
    std::string literal;  // When name is empty.
    std::string name;     // A placeholder.
    int slot = -1;        // Its index in the bound vars.
  };
  std::string text_;
  std::vector<Piece> pieces_;
};

// True when `name` is a parameter name: [A-Za-z_][A-Za-z0-9_]*, the
// schema's parameter_name and a valid environment variable name.
bool IsParameterName(std::string_view name);

}  // namespace hpc::sweep
