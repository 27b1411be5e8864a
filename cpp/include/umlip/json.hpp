// Minimal JSON reader for the model-contract metadata (umlip.json inside a model file).
// Supports the full JSON grammar (objects, arrays, strings with escapes, numbers, true/false/null);
// it is small because the metadata is small, not because it cuts corners.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace umlip {

class Json {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };

  Json() = default;

  static Json parse(const std::string &text);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool has(const std::string &key) const;

  // Typed accessors; throw std::invalid_argument naming the key and the type found.
  const Json &at(const std::string &key) const;
  bool as_bool() const;
  double as_number() const;
  const std::string &as_string() const;
  const std::vector<Json> &as_array() const;
  const std::map<std::string, Json> &as_object() const;

  static const char *type_name(Type t);

 private:
  friend class JsonParser;
  Type type_ = Type::Null;
  bool bool_ = false;
  double number_ = 0.0;
  std::string string_;
  std::vector<Json> array_;
  std::map<std::string, Json> object_;
};

}    // namespace umlip
