/* C entry points of libumlip_lammps.so, looked up by the plugin shim (umlipplugin.cpp). */

#include "pair_umlip.h"

#include <string>

using namespace LAMMPS_NS;

extern "C" void *umlip_create_pair(void *lmp)
{
  Pair *pair = new PairUMLIP(static_cast<LAMMPS *>(lmp));
  return pair;
}

extern "C" const char *umlip_plugin_info()
{
  static const std::string info = "umlip pair style (" + umlip::build_info() + ")";
  return info.c_str();
}
