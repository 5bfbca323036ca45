#include "tools/runlog/markers.h"

#include <algorithm>
#include <optional>

namespace hpc::runlog {
namespace {

constexpr std::string_view kPrefix = "<!-- hpc-mcp:";

struct Marker {
  bool begin = false;
  std::string name;
  bool append = false;
};

bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

bool Consume(std::string_view& s, std::string_view word) {
  if (s.substr(0, word.size()) != word) return false;
  s.remove_prefix(word.size());
  return true;
}

// The line without its newline and surrounding blanks.
std::string_view Trimmed(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' ||
                           line.back() == ' ' || line.back() == '\t'))
    line.remove_suffix(1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
    line.remove_prefix(1);
  return line;
}

// nullopt: not a marker line at all; a Marker with an empty name: a line
// that starts like one but does not parse.
std::optional<Marker> ReadMarker(std::string_view line) {
  std::string_view s = Trimmed(line);
  if (!Consume(s, kPrefix)) return std::nullopt;
  Marker m;
  if (Consume(s, "begin section=")) {
    m.begin = true;
  } else if (!Consume(s, "end section=")) {
    return Marker{};
  }
  size_t n = 0;
  while (n < s.size() && NameChar(s[n])) ++n;
  if (n == 0 || n > 100) return Marker{};
  m.name = std::string(s.substr(0, n));
  s.remove_prefix(n);
  if (m.begin && Consume(s, " append")) m.append = true;
  if (s != " -->") return Marker{};
  return m;
}

Status Broken(std::string_view source, size_t line, const std::string& what) {
  return FailedPrecondition(std::string(source) + ":" + std::to_string(line) +
                            ": " + what +
                            ". The hpc-mcp:begin/end comment lines delimit "
                            "what write_run_log regenerates; restore "
                            "the pair as it was, or delete both marker lines "
                            "and the text between them to have the "
                            "section written afresh. Nothing was written.");
}

}  // namespace

std::string MarkedDoc::BeginLine(const std::string& name, bool append) {
  return std::string(kPrefix) + "begin section=" + name +
         (append ? " append" : "") + " -->";
}

std::string MarkedDoc::EndLine(const std::string& name) {
  return std::string(kPrefix) + "end section=" + name + " -->";
}

Result<MarkedDoc> MarkedDoc::Parse(std::string_view text,
                                   std::string_view source) {
  MarkedDoc doc;
  Part cur;  // Free text, or the open section when cur.begin is set.
  bool open = false;
  size_t open_line = 0, line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view line = text.substr(pos, end - pos);
    pos = end;
    ++line_no;
    auto m = ReadMarker(line);
    if (!m) {
      cur.body += line;
      continue;
    }
    if (m->name.empty())
      return Broken(source, line_no,
                    "'" + std::string(Trimmed(line)) +
                        "' starts like an hpc-mcp marker but is not one");
    if (m->begin) {
      if (open)
        return Broken(source, line_no,
                      "section " + m->name + " begins inside section " +
                          cur.name + " (begun at line " +
                          std::to_string(open_line) + ")");
      if (doc.Find(m->name))
        return Broken(source, line_no, "section " + m->name + " appears twice");
      if (!cur.body.empty()) doc.parts_.push_back(std::move(cur));
      cur = Part{m->name, m->append, std::string(line), "", ""};
      open = true;
      open_line = line_no;
    } else {
      if (!open)
        return Broken(source, line_no,
                      "end of section " + m->name + " without its begin");
      if (m->name != cur.name)
        return Broken(source, line_no,
                      "end of section " + m->name + " closes section " +
                          cur.name + " (begun at line " +
                          std::to_string(open_line) + ")");
      cur.end = std::string(line);
      doc.parts_.push_back(std::move(cur));
      cur = Part{};
      open = false;
    }
  }
  if (open)
    return Broken(source, open_line,
                  "section " + cur.name + " begins here and never ends");
  if (!cur.body.empty()) doc.parts_.push_back(std::move(cur));
  return doc;
}

std::string MarkedDoc::Text() const {
  std::string out;
  for (const auto& p : parts_) out += p.begin + p.body + p.end;
  return out;
}

MarkedDoc::Part* MarkedDoc::Find(std::string_view name) {
  for (auto& p : parts_)
    if (!p.name.empty() && p.name == name) return &p;
  return nullptr;
}

const MarkedDoc::Part* MarkedDoc::Find(std::string_view name) const {
  return const_cast<MarkedDoc*>(this)->Find(name);
}

bool MarkedDoc::Has(std::string_view name) const {
  return Find(name) != nullptr;
}

std::string MarkedDoc::Body(std::string_view name) const {
  const Part* p = Find(name);
  return p ? p->body : std::string();
}

std::vector<std::string> MarkedDoc::Names() const {
  std::vector<std::string> out;
  for (const auto& p : parts_)
    if (!p.name.empty()) out.push_back(p.name);
  return out;
}

void MarkedDoc::Insert(Part part, const Place& where) {
  // A blank line separates the new section from its neighbours; the
  // person's own bytes are never changed to make room (a missing final
  // newline is completed by a new part, not by editing theirs).
  auto ends_with_nl = [&](size_t before) {
    if (before == 0) return true;
    const Part& p = parts_[before - 1];
    const std::string& last = p.end.empty() ? p.body : p.end;
    return !last.empty() && last.back() == '\n';
  };
  size_t at = parts_.size();
  if (where.kind == Place::kStart) {
    at = 0;
  } else if (where.kind == Place::kAfter) {
    for (auto it = where.after.rbegin(); it != where.after.rend(); ++it) {
      auto found = std::find_if(
          parts_.begin(), parts_.end(),
          [&](const Part& p) { return !p.name.empty() && p.name == *it; });
      if (found != parts_.end()) {
        at = static_cast<size_t>(found - parts_.begin()) + 1;
        break;
      }
    }
  }
  std::vector<Part> add;
  if (at > 0)
    add.push_back(Part{"", false, "", ends_with_nl(at) ? "\n" : "\n\n", ""});
  add.push_back(std::move(part));
  if (at == 0 && !parts_.empty()) add.push_back(Part{"", false, "", "\n", ""});
  parts_.insert(parts_.begin() + static_cast<std::ptrdiff_t>(at), add.begin(),
                add.end());
}

void MarkedDoc::Put(const std::string& name, std::string body,
                    const Place& where) {
  if (!body.empty() && body.back() != '\n') body += '\n';
  if (Part* p = Find(name)) {
    p->body = std::move(body);
    return;
  }
  Insert(Part{name, false, BeginLine(name, false) + "\n", std::move(body),
              EndLine(name) + "\n"},
         where);
}

void MarkedDoc::Append(const std::string& name, const std::string& initial,
                       std::string lines, const Place& where) {
  if (!lines.empty() && lines.back() != '\n') lines += '\n';
  if (Part* p = Find(name)) {
    if (!p->body.empty() && p->body.back() != '\n') p->body += '\n';
    p->body += lines;
    return;
  }
  std::string body = initial;
  if (!body.empty() && body.back() != '\n') body += '\n';
  Insert(Part{name, true, BeginLine(name, true) + "\n", body + lines,
              EndLine(name) + "\n"},
         where);
}

std::string InlineText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r' || c == '\n') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else if (c == '<' && text.substr(i, 4) == "<!--") {
      out += "&lt;";
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace hpc::runlog
