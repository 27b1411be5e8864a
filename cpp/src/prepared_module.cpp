#include "prepared_module.hpp"

#include <torch/csrc/jit/passes/freeze_module.h>

#include <cstdlib>
#include <filesystem>
#include <list>

namespace umlip {

namespace {

bool env_off(const char *name)
{
  const char *v = std::getenv(name);
  return v && std::string(v) == "0";
}

// A frozen copy of the module if it can be frozen, else the module. Freezing inlines the
// weights as constants (after the hash check and dtype conversion); measured ~5-10% faster for
// SevenNet-0 and MACE on CPU. UMLIP_JIT_FREEZE=0 turns it off.
torch::jit::Module frozen(const torch::jit::Module &module)
{
  if (!env_off("UMLIP_JIT_FREEZE")) {
    try {
      return torch::jit::freeze(module);
    } catch (const std::exception &) {
      // a module that cannot be frozen runs unfrozen: same numbers, slightly slower
    }
  }
  return module;
}

// The file (as found on disk now) and the request, as one comparable key; empty if the file
// cannot be inspected (it is then loaded, and the load reports why it fails).
std::string cache_key(const PrepareRequest &r)
{
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path canonical = fs::canonical(r.path, ec);
  if (ec) return "";
  const auto size = fs::file_size(canonical, ec);
  if (ec) return "";
  const auto mtime = fs::last_write_time(canonical, ec);
  if (ec) return "";
  return canonical.string() + "|" + std::to_string(size) + "|" +
         std::to_string(mtime.time_since_epoch().count()) + "|" +
         (r.verify_hash ? "verified" : "unverified") + "|" + r.dtype_option + "|" +
         r.device.str();
}

constexpr size_t kCachedFiles = 4;

struct Cache {
  std::mutex mutex;
  std::list<std::pair<std::string, std::shared_ptr<PreparedModule>>> entries;    // recent first
};

Cache &cache()
{
  static Cache *c = new Cache;    // never destroyed: modules may outlive static destruction
  return *c;
}

std::invalid_argument stage_count_mismatch(const ModelInfo &info, size_t held)
{
  return std::invalid_argument("model file '" + info.path + "' lists " +
                               std::to_string(info.stages.size()) + " stages in its metadata "
                               "but holds " + std::to_string(held) +
                               " in its module list 'stages'");
}

// Reads, verifies and converts (eval mode, run dtype, device) the file of request r.
std::shared_ptr<PreparedModule>
load(const PrepareRequest &r, const std::function<torch::ScalarType(const ModelInfo &)> &dtype_of)
{
  ModelFile file = read_model_file(r.path);
  ModelInfo info = parse_metadata(r.path, file.metadata_json);
  if (r.verify_hash) check_content_hash(file.module, info);
  const torch::ScalarType dtype = dtype_of(info);
  file.module.eval();
  if (dtype_name(dtype) != info.file_dtype) file.module.to(dtype);
  file.module.to(r.device);
  if (!info.stages.empty()) {
    size_t held = 0;
    try {
      held = file.module.attr("stages").toModule().named_children().size();
    } catch (const std::exception &) {
    }
    if (held != info.stages.size()) throw stage_count_mismatch(info, held);
  }
  return std::make_shared<PreparedModule>(file.module, std::move(info));
}

}    // namespace

torch::jit::Module PreparedModule::whole()
{
  std::lock_guard<std::mutex> lock(mutex_);
  if (!whole_) whole_ = frozen(module_);
  return *whole_;
}

std::vector<torch::jit::Module> PreparedModule::stages()
{
  std::lock_guard<std::mutex> lock(mutex_);
  if (!stages_) {    // load() checked that the module list matches the metadata
    std::vector<torch::jit::Module> list;
    for (const auto &child : module_.attr("stages").toModule().named_children())
      list.push_back(frozen(child.value));
    stages_ = std::move(list);
  }
  return *stages_;
}

std::shared_ptr<PreparedModule>
prepared_module(const PrepareRequest &request,
                const std::function<torch::ScalarType(const ModelInfo &)> &dtype_of)
{
  const std::string key = env_off("UMLIP_MODEL_CACHE") ? "" : cache_key(request);
  if (key.empty()) return load(request, dtype_of);
  Cache &c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    for (auto it = c.entries.begin(); it != c.entries.end(); ++it)
      if (it->first == key) {
        c.entries.splice(c.entries.begin(), c.entries, it);
        std::shared_ptr<PreparedModule> hit = it->second;
        dtype_of(hit->info());    // the same refusals as a fresh load
        return hit;
      }
  }
  std::shared_ptr<PreparedModule> loaded = load(request, dtype_of);    // unlocked: seconds
  std::lock_guard<std::mutex> lock(c.mutex);
  c.entries.emplace_front(key, loaded);
  if (c.entries.size() > kCachedFiles) c.entries.pop_back();
  return loaded;
}

}    // namespace umlip
