// The model file as docs/model-contract.md defines it: a TorchScript archive (section 1) with
// umlip.json metadata and a content hash (section 3). Internal to libumlip: it uses torch types,
// which the public headers keep away from the front ends.
#pragma once

#include "umlip/model.hpp"

#include <torch/script.h>

#include <string>
#include <vector>

namespace umlip {

// The two parts of a model file, as read from disk.
struct ModelFile {
  torch::jit::Module module;
  std::string metadata_json;    // the umlip.json text
};

// Reads a model file. Throws FileNotFound if it does not exist, std::invalid_argument if it is
// not a TorchScript archive or has no umlip.json.
ModelFile read_model_file(const std::string &path);

// The metadata of the model file `path` (used in messages): checks the contract name and major
// version, the units and that cutoff, layers and elements are usable; throws
// std::invalid_argument naming the file otherwise.
ModelInfo parse_metadata(const std::string &path, const std::string &metadata_json);

// Recomputes the content hash of `module` with the metadata in `info` and throws
// std::invalid_argument if it differs from info.content_hash.
void check_content_hash(const torch::jit::Module &module, const ModelInfo &info);

// The metadata's name of a dtype ("float32", "float64"; torch's name for any other).
std::string dtype_name(torch::ScalarType t);

// The first line of an exception message (torch appends a C++ stack trace to its messages).
std::string first_line(const std::string &message);

}    // namespace umlip
