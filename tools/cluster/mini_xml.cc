#include "tools/cluster/mini_xml.h"

#include <cstdint>

namespace hpc::cluster::xml {

const Element* Element::Child(std::string_view n) const {
  for (const auto& c : children)
    if (c.name == n) return &c;
  return nullptr;
}

std::string Element::ChildText(std::string_view n) const {
  const Element* c = Child(n);
  return c ? c->text : std::string();
}

void Element::FindAll(std::string_view n,
                      std::vector<const Element*>* out) const {
  for (const auto& c : children) {
    if (c.name == n) out->push_back(&c);
    c.FindAll(n, out);
  }
}

namespace {

constexpr int kMaxDepth = 64;

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Result<Element> Document() {
    SkipMisc();
    if (!error_.empty()) return Error();
    if (!Peek('<')) return Fail("expected the root element");
    Element root;
    if (!ParseElement(root, 0)) return Error();
    SkipMisc();
    if (!error_.empty()) return Error();
    if (pos_ != s_.size()) return Fail("content after the root element");
    return root;
  }

 private:
  Status Error() const {
    return InvalidArgument("malformed XML at byte " + std::to_string(err_pos_) +
                           ": " + error_);
  }
  Status Fail(std::string why) {
    Set(std::move(why));
    return Error();
  }
  bool Set(std::string why) {
    if (error_.empty()) {
      error_ = std::move(why);
      err_pos_ = pos_;
    }
    return false;
  }

  bool Peek(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  bool StartsWith(std::string_view p) const {
    return s_.substr(pos_, p.size()) == p;
  }
  static bool IsSpace(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
  }
  static bool IsNameChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == ':' || c == '-' ||
           c == '.' || static_cast<unsigned char>(c) >= 0x80;
  }
  void SkipSpace() {
    while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
  }

  // Skips up to and including `end`; false (error set) if it never comes.
  bool SkipPast(std::string_view end) {
    size_t p = s_.find(end, pos_);
    if (p == std::string_view::npos) return Set("unterminated construct");
    pos_ = p + end.size();
    return true;
  }

  // Whitespace, comments, processing instructions, a DOCTYPE.
  void SkipMisc() {
    while (true) {
      SkipSpace();
      if (StartsWith("<?")) {
        if (!SkipPast("?>")) return;
      } else if (StartsWith("<!--")) {
        if (!SkipPast("-->")) return;
      } else if (StartsWith("<!DOCTYPE")) {
        if (!SkipPast(">")) return;
      } else {
        return;
      }
    }
  }

  bool Name(std::string& out) {
    size_t b = pos_;
    while (pos_ < s_.size() && IsNameChar(s_[pos_])) ++pos_;
    if (pos_ == b) return Set("expected a name");
    out = std::string(s_.substr(b, pos_ - b));
    return true;
  }

  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // At '&': appends the entity's character(s).
  bool Entity(std::string& out) {
    size_t semi = s_.find(';', pos_);
    if (semi == std::string_view::npos || semi - pos_ > 12)
      return Set("bad entity");
    std::string_view e = s_.substr(pos_ + 1, semi - pos_ - 1);
    if (e == "lt") out += '<';
    else if (e == "gt") out += '>';
    else if (e == "amp") out += '&';
    else if (e == "quot") out += '"';
    else if (e == "apos") out += '\'';
    else if (e.size() > 1 && e[0] == '#') {
      uint32_t cp = 0;
      bool hex = e[1] == 'x' || e[1] == 'X';
      std::string_view digits = e.substr(hex ? 2 : 1);
      if (digits.empty()) return Set("bad character reference");
      for (char c : digits) {
        int v;
        if (c >= '0' && c <= '9') v = c - '0';
        else if (hex && c >= 'a' && c <= 'f') v = c - 'a' + 10;
        else if (hex && c >= 'A' && c <= 'F') v = c - 'A' + 10;
        else return Set("bad character reference");
        cp = cp * (hex ? 16 : 10) + v;
        if (cp > 0x10FFFF) return Set("character reference out of range");
      }
      AppendUtf8(out, cp);
    } else {
      return Set("unknown entity &" + std::string(e) + ";");
    }
    pos_ = semi + 1;
    return true;
  }

  bool Attributes(Element& e, bool* self_closing) {
    while (true) {
      SkipSpace();
      if (StartsWith("/>")) {
        pos_ += 2;
        *self_closing = true;
        return true;
      }
      if (Peek('>')) {
        ++pos_;
        *self_closing = false;
        return true;
      }
      std::string key;
      if (!Name(key)) return false;
      SkipSpace();
      if (!Peek('=')) return Set("expected '=' after attribute " + key);
      ++pos_;
      SkipSpace();
      if (!Peek('"') && !Peek('\'')) return Set("expected a quoted value");
      char q = s_[pos_++];
      std::string value;
      while (pos_ < s_.size() && s_[pos_] != q) {
        if (s_[pos_] == '&') {
          if (!Entity(value)) return false;
        } else if (s_[pos_] == '<') {
          return Set("'<' in attribute value");
        } else {
          value += s_[pos_++];
        }
      }
      if (pos_ >= s_.size()) return Set("unterminated attribute value");
      ++pos_;
      e.attributes[key] = std::move(value);
    }
  }

  bool ParseElement(Element& e, int depth) {
    if (depth > kMaxDepth) return Set("nesting deeper than 64");
    ++pos_;  // '<'
    if (!Name(e.name)) return false;
    bool self_closing = false;
    if (!Attributes(e, &self_closing)) return false;
    if (self_closing) return true;
    while (true) {
      if (pos_ >= s_.size()) return Set("unterminated element <" + e.name + ">");
      if (StartsWith("</")) {
        pos_ += 2;
        std::string end;
        if (!Name(end)) return false;
        if (end != e.name)
          return Set("</" + end + "> closes <" + e.name + ">");
        SkipSpace();
        if (!Peek('>')) return Set("expected '>'");
        ++pos_;
        return true;
      }
      if (StartsWith("<!--")) {
        if (!SkipPast("-->")) return false;
      } else if (StartsWith("<![CDATA[")) {
        size_t b = pos_ + 9;
        if (!SkipPast("]]>")) return false;
        e.text += s_.substr(b, pos_ - 3 - b);
      } else if (StartsWith("<?")) {
        if (!SkipPast("?>")) return false;
      } else if (Peek('<')) {
        e.children.emplace_back();
        if (!ParseElement(e.children.back(), depth + 1)) return false;
      } else if (Peek('&')) {
        if (!Entity(e.text)) return false;
      } else {
        e.text += s_[pos_++];
      }
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
  size_t err_pos_ = 0;
};

}  // namespace

Result<Element> Parse(std::string_view document) {
  return Parser(document).Document();
}

}  // namespace hpc::cluster::xml
