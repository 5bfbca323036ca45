// A minimal XML reader for the small, machine-written documents of
// `qstat -xml`: elements, attributes, text, the five predefined entities and
// numeric character references, comments, processing instructions, CDATA.
// No DTDs, namespaces are kept as part of names.
//
// Why hand-written: Debian ships C++ XML parsers (libxml2, tinyxml2,
// pugixml), but none is in this project's dependency list, and qstat's
// output needs a few hundred lines, not a library; this reader rejects
// malformed input with a Status instead of guessing, never throws, and
// bounds nesting depth.
//
// Thread-safety: pure functions over values.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mcp_server/status.h"

namespace hpc::cluster::xml {

struct Element {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::string text;  // Concatenated character data directly inside.
  std::vector<Element> children;

  // The first child named `name`, or nullptr.
  const Element* Child(std::string_view name) const;
  // The text of the first child named `name`, or "" if there is none.
  std::string ChildText(std::string_view name) const;
  // Every descendant (depth first, document order) named `name`.
  void FindAll(std::string_view name, std::vector<const Element*>* out) const;
};

// The document's root element. InvalidArgument (with the byte offset) for
// malformed input.
Result<Element> Parse(std::string_view document);

}  // namespace hpc::cluster::xml
