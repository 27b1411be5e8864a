#include "umlip/json.hpp"

#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace umlip {

class JsonParser {
 public:
  explicit JsonParser(const std::string &text) : s_(text) {}

  Json parse_document()
  {
    Json value = parse_value(0);
    skip_ws();
    if (pos_ != s_.size()) fail("unexpected trailing characters");
    return value;
  }

 private:
  const std::string &s_;
  size_t pos_ = 0;

  [[noreturn]] void fail(const std::string &what) const
  {
    throw std::invalid_argument("invalid JSON metadata at offset " + std::to_string(pos_) + ": " +
                                what);
  }

  void skip_ws()
  {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }

  char peek()
  {
    skip_ws();
    if (pos_ >= s_.size()) fail("unexpected end of input");
    return s_[pos_];
  }

  void expect(char c)
  {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }

  bool consume_literal(const char *lit)
  {
    size_t n = std::char_traits<char>::length(lit);
    if (s_.compare(pos_, n, lit) == 0) {
      pos_ += n;
      return true;
    }
    return false;
  }

  Json parse_value(int depth)
  {
    if (depth > 64) fail("nesting too deep");
    char c = peek();
    Json v;
    if (c == '{') {
      ++pos_;
      v.type_ = Json::Type::Object;
      if (peek() == '}') {
        ++pos_;
        return v;
      }
      while (true) {
        if (peek() != '"') fail("expected a string key");
        std::string key = parse_string();
        expect(':');
        v.object_[key] = parse_value(depth + 1);
        char d = peek();
        ++pos_;
        if (d == '}') break;
        if (d != ',') fail("expected ',' or '}'");
      }
    } else if (c == '[') {
      ++pos_;
      v.type_ = Json::Type::Array;
      if (peek() == ']') {
        ++pos_;
        return v;
      }
      while (true) {
        v.array_.push_back(parse_value(depth + 1));
        char d = peek();
        ++pos_;
        if (d == ']') break;
        if (d != ',') fail("expected ',' or ']'");
      }
    } else if (c == '"') {
      v.type_ = Json::Type::String;
      v.string_ = parse_string();
    } else if (consume_literal("true")) {
      v.type_ = Json::Type::Bool;
      v.bool_ = true;
    } else if (consume_literal("false")) {
      v.type_ = Json::Type::Bool;
      v.bool_ = false;
    } else if (consume_literal("null")) {
      v.type_ = Json::Type::Null;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      const char *begin = s_.c_str() + pos_;
      char *end = nullptr;
      double x = std::strtod(begin, &end);
      if (end == begin) fail("bad number");
      pos_ += static_cast<size_t>(end - begin);
      v.type_ = Json::Type::Number;
      v.number_ = x;
    } else {
      fail(std::string("unexpected character '") + c + "'");
    }
    return v;
  }

  static void append_utf8(std::string &out, unsigned cp)
  {
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

  unsigned parse_hex4()
  {
    if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
    unsigned cp = 0;
    for (int k = 0; k < 4; ++k) {
      char h = s_[pos_++];
      cp <<= 4;
      if (h >= '0' && h <= '9')
        cp |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f')
        cp |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        cp |= static_cast<unsigned>(h - 'A' + 10);
      else
        fail("bad \\u escape");
    }
    return cp;
  }

  std::string parse_string()
  {
    expect('"');
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) fail("unterminated string");
      char c = s_[pos_++];
      if (c == '"') break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) fail("unterminated escape");
      char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = parse_hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF && pos_ + 6 <= s_.size() && s_[pos_] == '\\' &&
              s_[pos_ + 1] == 'u') {
            pos_ += 2;
            unsigned lo = parse_hex4();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: fail("bad escape");
      }
    }
    return out;
  }
};

Json Json::parse(const std::string &text)
{
  JsonParser p(text);
  return p.parse_document();
}

const char *Json::type_name(Type t)
{
  switch (t) {
    case Type::Null: return "null";
    case Type::Bool: return "bool";
    case Type::Number: return "number";
    case Type::String: return "string";
    case Type::Array: return "array";
    case Type::Object: return "object";
  }
  return "?";
}

bool Json::has(const std::string &key) const
{
  return type_ == Type::Object && object_.count(key) != 0;
}

const Json &Json::at(const std::string &key) const
{
  if (type_ != Type::Object)
    throw std::invalid_argument("metadata: expected an object to look up '" + key + "', found " +
                                type_name(type_));
  auto it = object_.find(key);
  if (it == object_.end()) throw std::invalid_argument("metadata: missing key '" + key + "'");
  return it->second;
}

#define UMLIP_JSON_CHECK(want)                                                                  \
  if (type_ != want)                                                                            \
    throw std::invalid_argument(std::string("metadata: expected ") + type_name(want) + ", found " + \
                                type_name(type_));

bool Json::as_bool() const
{
  UMLIP_JSON_CHECK(Type::Bool);
  return bool_;
}
double Json::as_number() const
{
  UMLIP_JSON_CHECK(Type::Number);
  return number_;
}
const std::string &Json::as_string() const
{
  UMLIP_JSON_CHECK(Type::String);
  return string_;
}
const std::vector<Json> &Json::as_array() const
{
  UMLIP_JSON_CHECK(Type::Array);
  return array_;
}
const std::map<std::string, Json> &Json::as_object() const
{
  UMLIP_JSON_CHECK(Type::Object);
  return object_;
}

#undef UMLIP_JSON_CHECK

}    // namespace umlip
