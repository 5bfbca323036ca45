// A markdown file shared by a person and hpc-mcp. The parts hpc-mcp owns
// lie between two marker lines (HTML comments, invisible when rendered):
//
//   <!-- hpc-mcp:begin section=NAME -->          regenerated in place
//   <!-- hpc-mcp:begin section=NAME append -->   entries added at its end;
//                                                none is ever rewritten
//   <!-- hpc-mcp:end section=NAME -->
//
// Everything else is the person's and is kept byte for byte: Parse(t).Text()
// == t for any file that parses, and the edits below touch only the body of
// the section they name (or add a new section between existing parts).
// NAME is [a-z0-9_.:-]{1,100}; each name appears once per file.
//
// A marker that is broken (an end without its begin, a begin inside
// another section, a name twice, a line that starts like a marker but does
// not read as one) is refused by Parse with the line number, rather than
// guessed at: a guess could swallow a person's text into a regenerated
// section.
//
// Thread-safety: a value; not synchronized.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mcp_server/status.h"

namespace hpc::runlog {

class MarkedDoc {
 public:
  // FailedPrecondition naming `source` and the line for broken markers.
  static Result<MarkedDoc> Parse(std::string_view text,
                                 std::string_view source);

  // The file: free text and sections, in order.
  std::string Text() const;

  bool Has(std::string_view name) const;
  // The body (the lines between the two marker lines); empty when absent.
  std::string Body(std::string_view name) const;
  // Section names in file order.
  std::vector<std::string> Names() const;

  // Where a section that is not yet in the file goes.
  struct Place {
    enum Kind { kStart, kEnd, kAfter } kind = kEnd;
    // kAfter: after the last of these present in the file (the sections
    // that precede it in the canonical order), else at the end.
    std::vector<std::string> after;
  };

  // Sets the body of regenerated section `name` (a trailing newline is
  // added when missing), or adds the section at `where`. `body` must not
  // hold marker lines (the caller escapes text it did not write).
  void Put(const std::string& name, std::string body, const Place& where);

  // Adds `lines` at the end of append section `name`, creating it at
  // `where` with `initial` followed by `lines` when absent.
  void Append(const std::string& name, const std::string& initial,
              std::string lines, const Place& where);

  // The text with every marker line removed and every section's body
  // replaced by `body_of(name, body)`: what a reader outside the project
  // sees (publish).
  template <typename F>
  std::string Flatten(F body_of) const {
    std::string out;
    for (const auto& p : parts_)
      out += p.name.empty() ? p.body : body_of(p.name, p.body);
    return out;
  }

  // The marker lines of a section (without newline), for renderers.
  static std::string BeginLine(const std::string& name, bool append);
  static std::string EndLine(const std::string& name);

 private:
  struct Part {
    std::string name;  // Empty: the person's text.
    bool append = false;
    std::string begin, body, end;  // Marker lines as found, newline kept.
  };
  Part* Find(std::string_view name);
  const Part* Find(std::string_view name) const;
  void Insert(Part part, const Place& where);

  std::vector<Part> parts_;
};

// `text` made safe to put inside a section: newlines become spaces (a
// value is one line of a list) and "<!--" is written "&lt;!--" so no
// value can open a comment or forge a marker.
std::string InlineText(std::string_view text);

}  // namespace hpc::runlog
