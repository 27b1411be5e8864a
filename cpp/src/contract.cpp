#include "contract.hpp"

#include "umlip/json.hpp"
#include "umlip/sha256.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace umlip {

namespace {

torch::jit::Module load_torchscript(const std::string &path,
                                    std::unordered_map<std::string, std::string> &extra)
{
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw FileNotFound("model file '" + path +
                       "' does not exist (give a model file exported with `umlip export`, or a "
                       "model name such as 7net-0)");
  if (fs::is_directory(path, ec))
    throw std::invalid_argument("model path '" + path + "' is a directory, not a model file");
  {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::invalid_argument("model file '" + path + "' cannot be opened for reading");
  }
  try {
    return torch::jit::load(path, torch::kCPU, extra);
  } catch (const std::exception &e) {
    throw std::invalid_argument("model file '" + path +
                                "' is not a readable TorchScript archive (corrupt, truncated, or "
                                "not a model file): " + first_line(e.what()));
  }
}

// Contract version "major.minor" into info.contract_minor; refuses another major version.
void parse_contract_version(ModelInfo &info)
{
  const auto dot = info.contract_version.find('.');
  int major = std::stoi(info.contract_version.substr(0, dot));
  info.contract_minor =
      dot == std::string::npos ? 0 : std::stoi(info.contract_version.substr(dot + 1));
  if (major != kContractMajor)
    throw std::invalid_argument(
        "model contract version " + info.contract_version + " is not supported by this umlip "
        "(which reads " + std::to_string(kContractMajor) + ".x); re-export the model with this "
        "umlip or install a matching umlip");
}

// The "stages" field of a layered file (section 6): name, width and exchange of each stage.
void read_stages(const Json &stages, ModelInfo &info)
{
  for (const auto &st : stages.as_array()) {
    StageInfo s;
    s.name = st.at("name").as_string();
    const double width = st.at("width").as_number();
    s.exchange = st.at("exchange").as_bool();
    if (!(width >= 0.0) || width != static_cast<double>(static_cast<int>(width)))
      throw std::invalid_argument("stage '" + s.name + "' has an invalid width");
    s.width = static_cast<int>(width);
    info.stages.push_back(s);
  }
  if (info.stages.empty()) throw std::invalid_argument("'stages' is empty");
  if (info.stages.front().exchange)
    throw std::invalid_argument("the first stage cannot exchange input features (it has none)");
}

// The fields of umlip.json the engine uses; throws std::invalid_argument (from Json) for a
// missing field or one of the wrong type.
void read_fields(const Json &meta, ModelInfo &info)
{
  if (!meta.has("contract") || meta.at("contract").as_string() != "umlip-model")
    throw std::invalid_argument("metadata field 'contract' is not 'umlip-model'");
  info.contract_version = meta.at("contract_version").as_string();
  parse_contract_version(info);
  info.family = meta.at("family").as_string();
  info.family_version = meta.at("family_version").as_string();
  info.name = meta.at("name").as_string();
  for (const auto &z : meta.at("atomic_numbers").as_array())
    info.atomic_numbers.push_back(static_cast<int>(z.as_number()));
  info.cutoff = meta.at("cutoff").as_number();
  info.num_layers = static_cast<int>(meta.at("num_layers").as_number());
  info.file_dtype = meta.at("dtype").as_string();
  for (const auto &d : meta.at("dtypes").as_array()) info.dtypes.push_back(d.as_string());
  info.energy_unit = meta.at("energy_unit").as_string();
  info.length_unit = meta.at("length_unit").as_string();
  info.content_hash = meta.at("content_hash").as_string();
  if (meta.has("stages")) read_stages(meta.at("stages"), info);
}

// Canonical text of the metadata fields that change what the engine computes; part of the hash.
std::string physics_fields(const std::vector<int> &atomic_numbers, double cutoff, int num_layers,
                           const std::string &dtype, const std::vector<std::string> &dtypes)
{
  std::ostringstream os;
  os << "atomic_numbers=";
  for (size_t k = 0; k < atomic_numbers.size(); ++k) os << (k ? "," : "") << atomic_numbers[k];
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", cutoff);
  os << ";cutoff=" << buf << ";num_layers=" << num_layers << ";dtype=" << dtype << ";dtypes=";
  for (size_t k = 0; k < dtypes.size(); ++k) os << (k ? "," : "") << dtypes[k];
  return os.str();
}

// SHA-256 over the module's parameters and buffers, sorted by name (each as name, dtype, shape,
// raw bytes), then `fields`. Hex digest, without the "sha256:" prefix.
std::string hash_module(const torch::jit::Module &module, const std::string &fields)
{
  std::vector<std::pair<std::string, torch::Tensor>> items;
  for (const auto &p : module.named_parameters(true)) items.emplace_back("p:" + p.name, p.value);
  for (const auto &b : module.named_buffers(true)) items.emplace_back("b:" + b.name, b.value);
  std::sort(items.begin(), items.end(),
            [](const auto &a, const auto &b) { return a.first < b.first; });
  Sha256 h;
  for (const auto &it : items) {
    torch::Tensor t = it.second.detach().to(torch::kCPU).contiguous();
    std::ostringstream head;
    head << it.first << '\n' << c10::toString(t.scalar_type()) << '\n';
    for (int64_t d = 0; d < t.dim(); ++d) head << (d ? "," : "") << t.size(d);
    head << '\n';
    h.update(head.str());
    h.update(t.data_ptr(), t.numel() * t.element_size());
  }
  h.update("metadata\n" + fields);
  return h.hexdigest();
}

}    // namespace

std::string dtype_name(torch::ScalarType t)
{
  if (t == torch::kFloat32) return "float32";
  if (t == torch::kFloat64) return "float64";
  return std::string(c10::toString(t));
}

std::string first_line(const std::string &message)
{
  auto p = message.find('\n');
  return p == std::string::npos ? message : message.substr(0, p);
}

ModelFile read_model_file(const std::string &path)
{
  std::unordered_map<std::string, std::string> extra{{"umlip.json", ""}};
  ModelFile file{load_torchscript(path, extra), extra["umlip.json"]};
  if (file.metadata_json.empty())
    throw std::invalid_argument(
        "'" + path +
        "' is a TorchScript file but not a umlip model (it has no umlip.json metadata); export "
        "the model with `umlip export <family> <source> -o <file>`");
  return file;
}

ModelInfo parse_metadata(const std::string &path, const std::string &metadata_json)
{
  ModelInfo info;
  info.path = path;
  info.metadata_json = metadata_json;
  try {
    read_fields(Json::parse(metadata_json), info);
  } catch (const std::invalid_argument &e) {
    throw std::invalid_argument("model file '" + path + "' has invalid umlip metadata: " +
                                e.what());
  }
  if (info.energy_unit != "eV" || info.length_unit != "angstrom")
    throw std::invalid_argument("model file '" + path + "' uses units " + info.energy_unit + "/" +
                                info.length_unit + "; this engine expects eV/angstrom");
  if (!(info.cutoff > 0.0) || info.num_layers < 1 || info.atomic_numbers.empty())
    throw std::invalid_argument("model file '" + path +
                                "' has inconsistent metadata (cutoff, num_layers or elements)");
  return info;
}

void check_content_hash(const torch::jit::Module &module, const ModelInfo &info)
{
  const std::string got =
      "sha256:" + hash_module(module, physics_fields(info.atomic_numbers, info.cutoff,
                                                     info.num_layers, info.file_dtype,
                                                     info.dtypes));
  if (got != info.content_hash)
    throw std::invalid_argument("model file '" + info.path +
                                "' failed its content-hash check (metadata says " +
                                info.content_hash + ", weights hash to " + got +
                                "): the weights or metadata were modified after export, or the "
                                "file is damaged");
}

std::string content_hash(const std::string &path, const std::vector<int> &atomic_numbers,
                         double cutoff, int num_layers, const std::string &dtype,
                         const std::vector<std::string> &dtypes)
{
  std::unordered_map<std::string, std::string> extra;
  auto module = load_torchscript(path, extra);
  return hash_module(module, physics_fields(atomic_numbers, cutoff, num_layers, dtype, dtypes));
}

}    // namespace umlip
