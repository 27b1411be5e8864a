// SHA-256 (FIPS 180-4), used for the model contract's content hash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace umlip {

class Sha256 {
 public:
  Sha256();
  void update(const void *data, size_t len);
  void update(const std::string &s) { update(s.data(), s.size()); }
  std::string hexdigest();    // finalises; the object must not be updated afterwards

 private:
  void block(const uint8_t *p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buflen_ = 0;
  uint64_t total_ = 0;
  bool done_ = false;
};

}    // namespace umlip
