/* ----------------------------------------------------------------------
   umlip pair style: a thin adapter from LAMMPS to the umlip engine (libumlip), which does the
   graph construction (umlip::GhostGraph), model evaluation and the force/virial reduction. This
   file parses the arguments, maps atom types to elements, converts units, chooses the mode, and
   gathers atoms and tallies results.

   Two modes:
   - graph: the graph of this rank has its local atoms and the "foreign" ghost atoms (images of
     atoms owned by other ranks); ghosts that image this rank's own atoms are folded onto them
     (see umlip/ghost_graph.hpp). On one rank that is every ghost, and the graph is exactly what
     the ASE calculator builds. Only local energies are summed; forces on foreign ghosts are
     reverse-communicated by LAMMPS (newton on). L message-passing layers need foreign ghosts up
     to L x cutoff (+ skin) away; the communication cutoff is set accordingly, and what lies
     outside the receptive field of the local atoms is pruned (exact).
   - replicate: every rank gathers all atoms (MPI_Allgatherv) and evaluates the whole periodic
     system exactly as the ASE calculator does, keeping the energies, forces and virials of its
     own atoms. Exact, with the memory of a serial run, but no parallel speed-up: the right
     choice when the L x cutoff ghost shell holds more atoms than the system (small cells and
     deep models such as SevenNet-0, 5 x 5 A).
   - layer (layered model files): the graph of this rank is its local atoms and one node per
     foreign atom (owned by another rank) that some local atom receives messages from; ghosts
     that image this rank's own atoms are folded onto them and the copies of one foreign atom
     are one node (by atom ID; without IDs every ghost within the cutoff is a node of its own).
     Only local atoms receive messages. Between the model's stages the ghost rows of the node
     features are refreshed from their owners (forward_comm of this pair style, comm_forward =
     feature width) and, in the backward pass, the gradients on ghost rows are summed into
     their owners (reverse_comm): the ghost shell is one cutoff deep whatever the number of
     layers. Every rank takes part in every exchange, also one that owns no atoms.
   `ghost auto` uses graph on one rank; on more it uses layer for a layered file, else graph,
   and compares, at the start of each run, the largest graph of any rank with the number of
   atoms: if the graph is larger it replicates.
------------------------------------------------------------------------- */

#include "pair_umlip.h"

#include "atom.h"
#include "comm.h"
#include "domain.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "platform.h"
#include "update.h"

#include "umlip/elements.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef UMLIP_PYTHON
#define UMLIP_PYTHON "python3"
#endif

using namespace LAMMPS_NS;

/* ---------------------------------------------------------------------- */

namespace {

// LAMMPS's force->boltz for units metal [eV/K]: the energy factor of any unit style is its
// boltz relative to this one (exactly 1 for metal)
constexpr double BOLTZ_METAL = 8.617343e-5;

// engine: row-major 3x3 [eV]; LAMMPS: xx, yy, zz, xy, xz, yz [energy units]
inline void add_virial(double *v6, const double *w9, double scale)
{
  v6[0] += scale * w9[0];
  v6[1] += scale * w9[4];
  v6[2] += scale * w9[8];
  v6[3] += scale * w9[1];
  v6[4] += scale * w9[2];
  v6[5] += scale * w9[5];
}

std::string yes_no_auto(int v) { return v == 1 ? "yes" : (v == 0 ? "no" : "auto"); }

std::string shell_quote(const std::string &s)
{
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}    // namespace

/* ----------------------------------------------------------------------
   the engine's halo exchange in ghost layer mode, through LAMMPS's own communication of this
   pair style (pack/unpack below): forward = ghost rows from their owners, reverse = ghost rows
   summed into their owners, then zeroed
------------------------------------------------------------------------- */

class PairUMLIP::LayerHalo : public umlip::HaloExchange {
 public:
  explicit LayerHalo(PairUMLIP *pair) : pair_(pair) {}
  // node rows -> LAMMPS rows of local atoms; LAMMPS fills every ghost; ghost nodes <- the
  // LAMMPS row of the ghost copy that carries them
  void forward(double *rows, int width) override
  {
    std::vector<double> &lmp_rows = start(width);
    for (int64_t k = 0; k < pair_->layer_local; ++k) copy_row(rows, k, lmp_rows, k, width);
    pair_->comm->forward_comm(pair_, width);
    for (int64_t k = pair_->layer_local; k < pair_->layer_nodes; ++k)
      copy_row(lmp_rows, pair_->layer_slot[k], rows, k, width);
    pair_->halo_rows = nullptr;
  }
  // ghost nodes -> the LAMMPS row of their carrying ghost copy (every other row 0); LAMMPS sums
  // ghost rows into their owners; local nodes += what their atoms received, ghost nodes <- 0
  void reverse(double *rows, int width) override
  {
    std::vector<double> &lmp_rows = start(width);
    for (int64_t k = pair_->layer_local; k < pair_->layer_nodes; ++k)
      copy_row(rows, k, lmp_rows, pair_->layer_slot[k], width);
    pair_->comm->reverse_comm(pair_, width);
    for (int64_t k = 0; k < pair_->layer_local; ++k)
      for (int c = 0; c < width; ++c) rows[k * width + c] += lmp_rows[k * width + c];
    std::fill(rows + pair_->layer_local * width, rows + pair_->layer_nodes * width, 0.0);
    pair_->halo_rows = nullptr;
  }

 private:
  PairUMLIP *pair_;
  std::vector<double> lmp_rows_;    // one row per slot (mapped LAMMPS atom), LAMMPS order

  std::vector<double> &start(int width)
  {
    const int nall = pair_->atom->nlocal + pair_->atom->nghost;
    const size_t slots = pair_->all_mapped ? nall : pair_->mapped.size();
    lmp_rows_.assign(slots * width, 0.0);
    pair_->halo_rows = lmp_rows_.data();
    pair_->halo_width = width;
    return lmp_rows_;
  }
  template <class From, class To>
  static void copy_row(const From &from, int64_t i, To &to, int64_t j, int width)
  {
    std::copy_n(&from[i * width], width, &to[j * width]);
  }
};

PairUMLIP::PairUMLIP(LAMMPS *lmp) : Pair(lmp)
{
  single_enable = 0;
  restartinfo = 0;
  one_coeff = 1;
  manybody_flag = 1;
  no_virial_fdotr_compute = 1;    // the virial is tallied from the edge gradients
  centroidstressflag = CENTROID_NOTAVAIL;

  nextra = NSTATS;    // read with compute pair umlip
  pvector = new double[nextra];
  for (int k = 0; k < nextra; ++k) pvector[k] = 0.0;

  device = "cpu";
  nthreads = 0;
  mode_request = MODE_AUTO;
  mode = MODE_GRAPH;
  decide_mode = false;
  report_graph = false;
  prune = true;
  recompute = -1;
  drive_mean = false;
  devi_freq = 100;
  devi_fp = nullptr;
  devi_threshold = 0.0;
  devi_stop = false;
  devi_warned_step = -1;
  devi_max = devi_min = devi_avg = devi_e = 0.0;
  devi_v[0] = devi_v[1] = devi_v[2] = 0.0;
  all_mapped = true;
  nlocal_mapped = 0;
  stat_halo_bytes = t_halo = 0.0;
  layer_nodes = layer_local = 0;
  halo_rows = nullptr;
  halo_width = 0;
  comm_forward = comm_reverse = 0;
  cutoff = 0.0;
  num_layers = 0;
  eunit = lunit = 1.0;
  rebuild_due = true;
  nlocal_at_build = nghost_at_build = -1;
  n_calls = n_builds = 0;
  t_compute = t_model = 0.0;
  stat_nodes = stat_foreign = stat_edges = 0.0;
  auto_largest = 0.0;
}

PairUMLIP::~PairUMLIP()
{
  if (devi_fp) fclose(devi_fp);
  delete[] pvector;
  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
  }
}

void PairUMLIP::allocate()
{
  allocated = 1;
  int n = atom->ntypes + 1;
  memory->create(setflag, n, n, "pair:setflag");
  for (int i = 1; i < n; i++)
    for (int j = i; j < n; j++) setflag[i][j] = 0;
  memory->create(cutsq, n, n, "pair:cutsq");
}

/* ----------------------------------------------------------------------
   the model works in eV and Å; eunit and lunit convert to the user's units, from LAMMPS's own
   constants (the energy factor as deepmd-kit derives it). Set here only.
------------------------------------------------------------------------- */

void PairUMLIP::set_units()
{
  const char *style = update->unit_style;
  if (strcmp(style, "metal") != 0 && strcmp(style, "real") != 0 && strcmp(style, "si") != 0)
    error->all(FLERR, "Pair style umlip supports units metal, real and si, not units {}", style);
  eunit = force->boltz / BOLTZ_METAL;    // eV -> eV, kcal/mol, J
  lunit = force->angstrom;               // Å -> Å, Å, m
}

/* ----------------------------------------------------------------------
   pair_style umlip <model-file-or-name> [device cpu|cuda|cuda:N] [dtype float32|float64]
                    [threads N] [ghost auto|graph|replicate|layer] [prune yes|no]
                    [recompute auto|yes|no]
------------------------------------------------------------------------- */

void PairUMLIP::settings(int narg, char **arg)
{
  if (narg < 1) utils::missing_cmd_args(FLERR, "pair_style umlip", error);
  set_units();

  model_arg = arg[0];
  committee_args.clear();
  drive_mean = false;
  devi_file.clear();
  devi_freq = 100;
  devi_threshold = 0.0;
  devi_stop = false;
  const std::vector<std::string> keywords = {
      "device", "dtype", "threads", "ghost", "prune", "recompute", "committee", "drive",
      "out_file", "out_freq", "uncertainty_threshold"};
  auto is_keyword = [&](const char *word) {
    return std::find(keywords.begin(), keywords.end(), word) != keywords.end();
  };
  int iarg = 1;
  while (iarg < narg) {
    std::string key = arg[iarg];
    if (key == "committee") {
      // the other models: files or names up to the next keyword
      for (++iarg; iarg < narg && !is_keyword(arg[iarg]); ++iarg)
        committee_args.emplace_back(arg[iarg]);
      if (committee_args.empty())
        error->all(FLERR, "Pair style umlip committee needs one or more model files or names "
                   "after it");
      continue;
    }
    if (key == "uncertainty_threshold") {
      if (iarg + 3 > narg) utils::missing_cmd_args(FLERR, "pair_style umlip " + key, error);
      devi_threshold = utils::numeric(FLERR, arg[iarg + 1], false, lmp);
      const std::string action = arg[iarg + 2];
      if (!(devi_threshold > 0.0) || (action != "warn" && action != "stop"))
        error->all(FLERR, "Pair style umlip uncertainty_threshold needs a force > 0 and warn "
                   "or stop, not {} {}", arg[iarg + 1], action);
      devi_stop = action == "stop";
      iarg += 3;
      continue;
    }
    if (iarg + 2 > narg) utils::missing_cmd_args(FLERR, "pair_style umlip " + key, error);
    std::string val = arg[iarg + 1];
    if (key == "device") {
      if (val != "cpu" && val.rfind("cuda", 0) != 0)
        error->all(FLERR, "Pair style umlip device must be cpu, cuda or cuda:N, not {}", val);
      device = val;
    } else if (key == "dtype") {
      if (val != "float32" && val != "float64")
        error->all(FLERR, "Pair style umlip dtype must be float32 or float64, not {}", val);
      dtype = val;
    } else if (key == "threads") {
      nthreads = utils::inumeric(FLERR, val, false, lmp);
      if (nthreads < 1) error->all(FLERR, "Pair style umlip threads must be >= 1, not {}", val);
    } else if (key == "ghost") {
      if (val == "auto")
        mode_request = MODE_AUTO;
      else if (val == "graph")
        mode_request = MODE_GRAPH;
      else if (val == "replicate")
        mode_request = MODE_REPLICATE;
      else if (val == "layer")
        mode_request = MODE_LAYER;
      else
        error->all(FLERR, "Pair style umlip ghost must be auto, graph, replicate or layer, not {}",
                   val);
    } else if (key == "prune") {
      prune = utils::logical(FLERR, val, false, lmp) == 1;
    } else if (key == "recompute") {
      recompute = val == "auto" ? -1 : utils::logical(FLERR, val, false, lmp);
    } else if (key == "drive") {
      if (val != "first" && val != "mean")
        error->all(FLERR, "Pair style umlip drive must be first or mean, not {}", val);
      drive_mean = val == "mean";
    } else if (key == "out_file") {
      devi_file = val;
    } else if (key == "out_freq") {
      devi_freq = utils::inumeric(FLERR, val, false, lmp);
      if (devi_freq < 1) error->all(FLERR, "Pair style umlip out_freq must be >= 1, not {}", val);
    } else {
      error->all(FLERR, "Unknown pair_style umlip keyword: {}", key);
    }
    iarg += 2;
  }

  if (nthreads == 0) {
    const char *env = std::getenv("OMP_NUM_THREADS");
    nthreads = (env && std::atoi(env) > 0) ? std::atoi(env) : 1;
  }

  if (committee_args.empty() && (drive_mean || !devi_file.empty() || devi_threshold > 0.0))
    error->all(FLERR, "Pair style umlip: drive, out_file and uncertainty_threshold need a "
               "committee (pair_style umlip m0 committee m1 m2 ...)");
  model_path = resolve_model(model_arg);
  committee_paths.clear();
  for (const auto &a : committee_args) committee_paths.push_back(resolve_model(a));
  load_model();
}

/* ----------------------------------------------------------------------
   a model file is used as is; anything else is a model name, resolved (rank 0 only) by
   `python -m umlip resolve NAME`, which exports it once into the umlip cache. Protocol: on
   success it prints the file's path on stdout and exits 0; on failure it exits non-zero with
   one line "umlip: <what to do>" as the last line of stderr. Its stderr (progress of a first
   export) is passed on to the screen and log as it arrives; stdout goes to a temporary file.
------------------------------------------------------------------------- */

std::string PairUMLIP::resolve_model(const std::string &arg)
{
  struct stat st;
  if (stat(arg.c_str(), &st) == 0) return arg;

  int ok = 0;
  std::string out;    // the path on success, else the error line
  if (comm->me == 0) {
    const char *py_env = std::getenv("UMLIP_PYTHON");
    std::string python = py_env ? py_env : UMLIP_PYTHON;
    if (!py_env && stat(python.c_str(), &st) != 0) python = "python3";
    std::string tmpl = (std::filesystem::temp_directory_path() / "umlip-resolve-XXXXXX").string();
    const int fd = mkstemp(tmpl.data());
    if (fd < 0) {
      out = fmt::format("cannot create a temporary file in {}", tmpl);
    } else {
      close(fd);
      const std::string cmd = fmt::format("{} -m umlip resolve {} 2>&1 >{}", python,
                                          shell_quote(arg), shell_quote(tmpl));
      utils::logmesg(lmp, "umlip: '{}' is not a file; resolving it as a model name: {}\n", arg,
                     cmd);
      FILE *p = popen(cmd.c_str(), "r");
      if (!p) {
        out = "cannot run " + python;
      } else {
        // pass stderr on line by line, holding back the last line (the error line on failure)
        std::string line, last;
        char buf[4096];
        while (fgets(buf, sizeof(buf), p)) {
          line += buf;
          if (line.back() != '\n') continue;
          if (!last.empty()) utils::logmesg(lmp, last);
          last = line;
          line.clear();
        }
        if (!line.empty()) {
          if (!last.empty()) utils::logmesg(lmp, last);
          last = line + "\n";
        }
        const int status = pclose(p);
        ok = (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0) ? 1 : 0;
        if (ok) {
          if (!last.empty()) utils::logmesg(lmp, last);
          std::ifstream f(tmpl);
          std::getline(f, out);
          while (!out.empty() && (out.back() == '\r' || out.back() == ' ')) out.pop_back();
          if (out.empty() || stat(out.c_str(), &st) != 0) {
            ok = 0;
            out = fmt::format("{} -m umlip resolve printed no model file ('{}')", python, out);
          }
        } else {
          while (!last.empty() && (last.back() == '\n' || last.back() == '\r')) last.pop_back();
          if (last.rfind("umlip: ", 0) == 0) last = last.substr(7);
          out = last.empty() ? fmt::format("{} -m umlip resolve failed (status {})", python,
                                           status)
                             : last;
        }
      }
      unlink(tmpl.c_str());
    }
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, world);
  int len = static_cast<int>(out.size());
  MPI_Bcast(&len, 1, MPI_INT, 0, world);
  out.resize(len);
  MPI_Bcast(out.data(), len, MPI_CHAR, 0, world);
  if (!ok)
    error->all(FLERR,
               "Pair style umlip: '{}' is not a model file, and umlip could not resolve it as a "
               "model name: {}",
               arg, out);
  return out;
}

void PairUMLIP::load_model()
{
  std::string msg;
  int ok = 1;
  umlip::ModelOptions opt_used;
  try {
    umlip::ModelOptions &opt = opt_used;
    opt.device = device;
    opt.dtype = dtype;
    opt.num_threads = nthreads;
    opt.recompute = recompute;
    if (device == "cuda") {
      // one GPU per node-local rank, round robin
      MPI_Comm local;
      int local_rank = 0;
      MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, comm->me, MPI_INFO_NULL, &local);
      MPI_Comm_rank(local, &local_rank);
      MPI_Comm_free(&local);
      opt.local_rank = local_rank;
    }
    model = std::make_unique<umlip::Model>(model_path, opt);
  } catch (const std::exception &e) {
    ok = 0;
    msg = e.what();
  }
  int any_ok = 0;
  MPI_Allreduce(&ok, &any_ok, 1, MPI_INT, MPI_MAX, world);
  if (!any_ok) error->all(FLERR, "Pair style umlip cannot load model: {}", msg);
  if (!ok) error->one(FLERR, "Pair style umlip cannot load model on rank {}: {}", comm->me, msg);

  const auto &info = model->info();
  cutoff = info.cutoff;
  num_layers = info.num_layers;
  if (comm->me == 0) {
    std::string elems;
    for (int z : info.atomic_numbers) {
      if (elems.size() > 60) {
        elems += " ...";
        break;
      }
      elems += (elems.empty() ? "" : " ") + umlip::element_symbol(z);
    }
    utils::logmesg(lmp,
                   "umlip: model '{}' from {} {} ({})\n"
                   "umlip:   file {}\n"
                   "umlip:   content hash {}\n"
                   "umlip:   cutoff {} A, {} message-passing layers, {} elements: {}\n"
                   "umlip:   dtype {}, device {}, {} torch thread(s) per rank\n"
                   "umlip:   {}; layer-wise recomputation {}\n"
                   "umlip:   {}\n",
                   info.name, info.family, info.family_version, info.contract_version,
                   model_path, info.content_hash, cutoff, num_layers,
                   info.atomic_numbers.size(), elems, model->dtype(), model->device(), nthreads,
                   model->layered()
                       ? fmt::format("layered file ({} stages, halo width up to {})",
                                     info.stages.size(), model->max_exchange_width())
                       : std::string("whole-model file (no layered form)"),
                   yes_no_auto(recompute), umlip::build_info());
  }
  load_committee(opt_used);
}

/* ----------------------------------------------------------------------
   pair_coeff * * <element or NULL for type 1> <element or NULL for type 2> ...
   (LAMMPS itself requires at least two arguments and, with one_coeff set, "* *"). NULL leaves
   a type to another pair style (hybrid, hybrid/overlay): atoms of NULL types are not part of
   the model's graph at all.
------------------------------------------------------------------------- */

void PairUMLIP::coeff(int narg, char **arg)
{
  if (!allocated) allocate();
  const int ntypes = atom->ntypes;
  if (narg != 2 + ntypes)
    error->all(FLERR,
               "Incorrect args for pair coefficients: pair_coeff * * for pair style umlip needs "
               "one element symbol (or NULL) per atom type ({} types), got {}",
               ntypes, narg - 2);
  type_species.assign(ntypes + 1, -1);
  type_z.assign(ntypes + 1, 0);
  member_type_species.assign(members.size(), std::vector<int64_t>(ntypes + 1, -1));
  all_mapped = true;
  for (int t = 1; t <= ntypes; ++t) {
    if (strcmp(arg[t + 1], "NULL") == 0) {
      all_mapped = false;
      continue;
    }
    try {
      type_z[t] = umlip::atomic_number(arg[t + 1]);
      type_species[t] = model->species_of(type_z[t]);
      for (size_t k = 0; k < members.size(); ++k)
        member_type_species[k][t] = members[k]->species_of(type_z[t]);
    } catch (const std::exception &e) {
      error->all(FLERR, "Pair style umlip: pair_coeff for atom type {}: {}", t, e.what());
    }
  }
  int count = 0;
  for (int i = 1; i <= ntypes; i++)
    for (int j = i; j <= ntypes; j++) {
      setflag[i][j] = (type_species[i] >= 0 && type_species[j] >= 0) ? 1 : 0;
      count += setflag[i][j];
    }
  if (count == 0)
    error->all(FLERR, "Pair style umlip: pair_coeff maps every atom type to NULL; give an "
               "element for at least one type");
}

/* ----------------------------------------------------------------------
   with NULL types: the atoms the model sees (mapped types only), local ones first
------------------------------------------------------------------------- */

void PairUMLIP::select_mapped()
{
  if (all_mapped) return;
  const int nlocal = atom->nlocal;
  const int nall = nlocal + atom->nghost;
  const int *type = atom->type;
  mapped.clear();
  atom_slot.assign(nall, -1);
  for (int a = 0; a < nall; ++a) {
    if (a == nlocal) nlocal_mapped = static_cast<int>(mapped.size());
    if (type_species[type[a]] < 0) continue;
    atom_slot[a] = static_cast<int>(mapped.size());
    mapped.push_back(a);
  }
  if (nall == nlocal) nlocal_mapped = static_cast<int>(mapped.size());
}

const double *PairUMLIP::mapped_positions(const double *xa)
{
  if (all_mapped) return xa;
  x_mapped.resize(3 * mapped.size());
  for (size_t k = 0; k < mapped.size(); ++k)
    std::copy_n(xa + 3 * static_cast<size_t>(mapped[k]), 3, &x_mapped[3 * k]);
  return x_mapped.data();
}

/* ---------------------------------------------------------------------- */

void PairUMLIP::init_style()
{
  set_units();
  if (atom->tag_enable == 0) error->all(FLERR, "Pair style umlip requires atom IDs");
  if (force->newton_pair == 0)
    error->all(FLERR, "Pair style umlip requires newton pair on (ghost-atom forces are "
                      "reverse-communicated)");
  if (comm->mode != 0) error->all(FLERR, "Pair style umlip requires comm_modify mode single");
  if (!model) error->all(FLERR, "Pair style umlip: no model loaded");

  // on several ranks the graph is directed (each node lists all its neighbours; periodic
  // self-images are folded), which needs contract 1.1+ semantics: edge (i, j) = i receives
  // from j. Older files run replicated. ghost layer needs a layered file (contract 1.2).
  const bool directed_ok = model->info().contract_minor >= 1;
  std::string not_layered = model->layered() ? "" : model_path;    // the first such file
  int width = model->max_exchange_width();
  for (size_t k = 0; k < members.size(); ++k) {
    if (not_layered.empty() && !members[k]->layered()) not_layered = committee_paths[k];
    width = std::max(width, members[k]->max_exchange_width());
  }
  const bool layered = not_layered.empty();
  if (comm->nprocs > 1 && mode_request == MODE_GRAPH && !directed_ok)
    error->all(FLERR, "Pair style umlip: model file {} uses model contract {}, which does not "
               "define the message direction that ghost graph needs on several MPI ranks; "
               "re-export it with this umlip or use ghost replicate", model_path,
               model->info().contract_version);
  if (mode_request == MODE_LAYER && !layered)
    error->all(FLERR, "Pair style umlip: ghost layer needs a layered model file, and {} has no "
               "layered form (contract {}); re-export it with this umlip (umlip export) or use "
               "ghost graph", not_layered, model->info().contract_version);
  if (comm->nprocs == 1)
    mode = (mode_request == MODE_AUTO) ? MODE_GRAPH : mode_request;
  else if (mode_request == MODE_AUTO)
    mode = layered ? MODE_LAYER : (directed_ok ? MODE_GRAPH : MODE_REPLICATE);
  else
    mode = mode_request;
  decide_mode = mode_request == MODE_AUTO && comm->nprocs > 1 && directed_ok;
  report_graph = (mode == MODE_GRAPH || mode == MODE_LAYER) && comm->nprocs > 1;

  // graph mode requests no LAMMPS neighbour list: its candidate pairs (cutoff + skin) come
  // from the engine's cell list over local atoms and foreign ghosts only (a LAMMPS list would
  // also search from every ghost of the L x cutoff shell), and are rebuilt whenever LAMMPS
  // rebuilds its lists, i.e. whenever atoms or ghosts are re-assigned. Layer mode uses a full
  // LAMMPS list of the local atoms (its ghosts are all within one cutoff + skin).
  const double skin = neighbor->skin;    // user length unit
  const double cut = cutoff * lunit;     // user length unit
  // graph mode on several ranks: foreign ghosts must reach L x cutoff (on one rank there are
  // none: all ghosts are images); layer and replicate need one cutoff
  const bool need_shell = comm->nprocs > 1 && mode == MODE_GRAPH;
  const double needed = need_shell ? num_layers * cut + skin : cut + skin;
  if (comm->cutghostuser < needed) comm->cutghostuser = needed;
  // the largest halo exchange (layer mode) and the committee's per-model forces (3 values per
  // model and atom, summed onto owners) size LAMMPS's communication buffers (comm->init())
  if (mode == MODE_LAYER) neighbor->add_request(this, NeighConst::REQ_FULL);
  comm_forward = mode == MODE_LAYER ? width : 0;
  comm_reverse = std::max(comm_forward, nmodels() > 1 ? 3 * nmodels() : 0);
  if (comm->me == 0) {
    const char *len = strcmp(update->unit_style, "si") == 0 ? "m" : "A";
    utils::logmesg(lmp, "umlip: communication cutoff {:.4} {} ({}; set automatically)\n",
                   comm->cutghostuser, len,
                   need_shell ? fmt::format("{} layers x cutoff {} + skin {}", num_layers, cut,
                                            skin)
                              : fmt::format("cutoff {} + skin {}", cut, skin));
  }
  if (!decide_mode) log_mode();
  try {
    graph = std::make_unique<umlip::GhostGraph>(cutoff, skin / lunit, num_layers);
  } catch (const std::exception &e) {
    error->all(FLERR, "Pair style umlip: {}", e.what());
  }
  rebuild_due = true;
  umlip::set_num_threads(nthreads);
}

double PairUMLIP::init_one(int /*i*/, int /*j*/)
{
  return cutoff * lunit;
}

void PairUMLIP::log_mode()
{
  if (comm->me != 0) return;
  const char *what = mode == MODE_GRAPH
      ? (comm->nprocs == 1 ? "graph (periodic images folded onto local atoms, as in ASE)"
                           : "graph (local atoms + foreign ghost atoms carrying messages)")
      : mode == MODE_LAYER
      ? "layer (ghosts within one cutoff; node features exchanged between the model's stages)"
      : "replicate (every rank evaluates the whole periodic system)";
  utils::logmesg(lmp, "umlip: ghost mode {}\n", what);
}

/* ----------------------------------------------------------------------
   positions of all atoms (local + ghost) in Å, as the engine wants them
------------------------------------------------------------------------- */

const double *PairUMLIP::positions_angstrom(int nall)
{
  if (nall == 0) return nullptr;
  const double *x = &atom->x[0][0];
  if (lunit == 1.0) return x;
  x_angstrom.resize(3 * static_cast<size_t>(nall));
  for (size_t k = 0; k < x_angstrom.size(); ++k) x_angstrom[k] = x[k] / lunit;
  return x_angstrom.data();
}

/* ----------------------------------------------------------------------
   the graph at the current positions; the candidate pairs are rebuilt first if compute() found
   a rebuild due
------------------------------------------------------------------------- */

void PairUMLIP::update_graph(const double *xa)
{
  const int nlocal = atom->nlocal;
  const int nall = nlocal + atom->nghost;
  if (rebuild_due) {
    rebuild_due = false;
    nlocal_at_build = nlocal;
    nghost_at_build = atom->nghost;
    ++n_builds;
    select_mapped();
    const int n = all_mapped ? nall : static_cast<int>(mapped.size());
    ids.resize(n);
    for (int k = 0; k < n; ++k) ids[k] = atom->tag[atom_of(k)];
    try {
      graph->rebuild(mapped_positions(xa), ids.data(), all_mapped ? nlocal : nlocal_mapped, n);
    } catch (const std::exception &e) {
      error->one(FLERR, Error::NOLASTLINE, "Pair style umlip: {} (numbers are atom IDs)",
                 e.what());
    }
  }
  graph->update(mapped_positions(xa), prune);
}

/* ----------------------------------------------------------------------
   auto mode on several ranks: a graph larger than the whole system means the ghost shell
   dwarfs the system, and evaluating the whole system on every rank is cheaper.
   Collective: every rank calls it at the same point (first compute of a run).
------------------------------------------------------------------------- */

void PairUMLIP::choose_mode()
{
  double mine = static_cast<double>(atom->nlocal + atom->nghost);
  if (mode == MODE_GRAPH) {
    update_graph(positions_angstrom(atom->nlocal + atom->nghost));
    mine = static_cast<double>(graph->n_nodes());
  }
  double largest = 0.0;
  MPI_Allreduce(&mine, &largest, 1, MPI_DOUBLE, MPI_MAX, world);
  auto_largest = largest;
  const char *was = mode == MODE_LAYER ? "layer" : "graph";
  if (largest > static_cast<double>(atom->natoms)) mode = MODE_REPLICATE;
  if (comm->me == 0)
    utils::logmesg(lmp, "umlip: ghost auto: largest {} graph {} nodes for {} atoms in the "
                   "system: {}\n", was, static_cast<bigint>(largest), atom->natoms,
                   mode == MODE_REPLICATE ? "replicating is cheaper" : "keeping it");
  log_mode();
  decide_mode = false;
  report_graph = mode != MODE_REPLICATE;
}

/* ----------------------------------------------------------------------
   graph statistics over all ranks (collective): the cost of the ghost shell
------------------------------------------------------------------------- */

void PairUMLIP::log_graph()
{
  double mine[4] = {static_cast<double>(atom->nlocal), static_cast<double>(atom->nghost),
                    stat_foreign, stat_edges};
  double sum[4];
  MPI_Allreduce(mine, sum, 4, MPI_DOUBLE, MPI_SUM, world);
  if (comm->me == 0 && sum[0] > 0)
    utils::logmesg(lmp,
                   "umlip: graph over {} ranks: {} local atoms, {} LAMMPS ghosts, {} foreign "
                   "ghost nodes kept ({:.3} per local atom), {} edges\n",
                   comm->nprocs, static_cast<bigint>(sum[0]), static_cast<bigint>(sum[1]),
                   static_cast<bigint>(sum[2]), sum[2] / sum[0], static_cast<bigint>(sum[3]));
  report_graph = false;
}

/* ---------------------------------------------------------------------- */

void PairUMLIP::compute(int eflag, int vflag)
{
  const double t0 = platform::walltime();
  ev_init(eflag, vflag);
  if (umlip::get_num_threads() != nthreads) umlip::set_num_threads(nthreads);
  // LAMMPS re-assigns atoms and ghosts (exchange, borders, sorting) only when it rebuilds its
  // neighbour lists (neighbor->ago == 0: a build since the last neighbor->decide()), and it
  // rebuilds before any atom moves more than half the skin, box changes included: that keeps
  // the candidates (cutoff + skin) valid in between. The counts guard against a command that
  // changes atoms without a rebuild.
  if (neighbor->ago == 0 || atom->nlocal != nlocal_at_build || atom->nghost != nghost_at_build)
    rebuild_due = true;
  if (decide_mode) choose_mode();
  if (mode == MODE_REPLICATE)
    compute_replicated();
  else if (mode == MODE_LAYER)
    compute_layer();
  else
    compute_graph();
  if (nmodels() > 1) committee_deviation();
  ++n_calls;
  t_compute += platform::walltime() - t0;
  if (eflag_global) publish_stats();
}

/* ----------------------------------------------------------------------
   pvector for compute pair umlip, which sums it over ranks: per-rank counts are this rank's
   share, global values are on rank 0 only (collective; eflag_global is the same on all ranks,
   and compute pair reads pvector only on steps that tallied the energy)
------------------------------------------------------------------------- */

void PairUMLIP::publish_stats()
{
  double mine[4] = {stat_nodes, t_compute, t_model, t_halo}, most[4];
  MPI_Allreduce(mine, most, 4, MPI_DOUBLE, MPI_MAX, world);
  const double most_halo = most[3];
  const double root = comm->me == 0 ? 1.0 : 0.0;
  pvector[STAT_MODE] = root * (mode == MODE_GRAPH ? 1.0 : (mode == MODE_REPLICATE ? 2.0 : 3.0));
  pvector[STAT_LOCAL] = atom->nlocal;
  pvector[STAT_FOREIGN] = stat_foreign;
  pvector[STAT_EDGES] = stat_edges;
  pvector[STAT_LARGEST] = root * most[0];
  pvector[STAT_CALLS] = root * static_cast<double>(n_calls);
  pvector[STAT_PAIR_SECONDS] = root * most[1];
  pvector[STAT_MODEL_SECONDS] = root * most[2];
  pvector[STAT_BUILDS] = root * static_cast<double>(n_builds);
  pvector[STAT_AUTO_LARGEST] = root * auto_largest;
  pvector[STAT_HALO_BYTES] = stat_halo_bytes;
  pvector[STAT_HALO_SECONDS] = root * most_halo;
  pvector[STAT_DEVI_F_MAX] = root * devi_max;
  pvector[STAT_DEVI_F_MIN] = root * devi_min;
  pvector[STAT_DEVI_F_AVG] = root * devi_avg;
  pvector[STAT_DEVI_E] = root * devi_e;
}

/* ----------------------------------------------------------------------
   end of a run (collective): where the pair style's time went, the slowest rank's view
------------------------------------------------------------------------- */

void PairUMLIP::finish()
{
  double mine[3] = {t_compute, t_model, t_halo}, most[3] = {0.0, 0.0, 0.0};
  MPI_Allreduce(mine, most, 3, MPI_DOUBLE, MPI_MAX, world);
  if (comm->me == 0 && n_calls > 0) {
    utils::logmesg(lmp,
                   "umlip: {} force calls: {:.6g} s in pair umlip, of which {:.6g} s in the "
                   "model call (forward + backward) and {:.6g} s ({:.2f}%) in graph building, "
                   "tallies and communication (slowest rank)\n",
                   n_calls, most[0], most[1], most[0] - most[1],
                   most[1] > 0 ? 100.0 * (most[0] - most[1]) / most[1] : 0.0);
    if (mode == MODE_LAYER)
      utils::logmesg(lmp, "umlip: halo exchanges between stages: {:.6g} s (slowest rank)\n",
                     most[2]);
  }
  n_calls = n_builds = 0;
  t_compute = t_model = t_halo = 0.0;
}

/* ---------------------------------------------------------------------- */

void PairUMLIP::compute_graph()
{
  const int nlocal_atoms = atom->nlocal;
  const int *type = atom->type;

  const double *xa = positions_angstrom(nlocal_atoms + atom->nghost);
  update_graph(xa);
  const int nlocal = all_mapped ? nlocal_atoms : nlocal_mapped;    // local atoms of the model
  const int64_t n_nodes = graph->n_nodes();
  const umlip::EdgeSet &edges = graph->edges();
  stat_nodes = static_cast<double>(n_nodes);
  stat_foreign = static_cast<double>(n_nodes > 0 ? n_nodes - nlocal : 0);
  stat_edges = static_cast<double>(edges.size());
  if (report_graph) log_graph();
  if (nlocal == 0) return;    // no local energy, hence no forces from this rank

  const std::vector<int64_t> &node_atoms = graph->node_atoms();
  node_pos.resize(3 * n_nodes);
  node_type.resize(n_nodes);
  for (int64_t k = 0; k < n_nodes; ++k) {
    const int64_t a = atom_of(node_atoms[k]);
    node_pos[3 * k] = xa[3 * a];
    node_pos[3 * k + 1] = xa[3 * a + 1];
    node_pos[3 * k + 2] = xa[3 * a + 2];
    node_type[k] = type[a];
  }
  if (nmodels() > 1) node_slot.assign(node_atoms.begin(), node_atoms.end());

  umlip::GraphInput g;
  g.n_nodes = n_nodes;
  g.n_local = nlocal;
  g.positions = node_pos.data();
  g.n_edges = static_cast<int64_t>(edges.size());
  g.edge_i = edges.i.data();
  g.edge_j = edges.j.data();
  g.edge_vec = edges.vec.data();

  umlip::Evaluation ev;
  try {
    ev = evaluate_models(g, node_type, nullptr, vflag_atom != 0);
  } catch (const std::exception &e) {
    error->one(FLERR, Error::NOLASTLINE, "Pair style umlip on step {}: {}", update->ntimestep,
               e.what());
  }

  tally_nodes(ev, node_atoms.data(), n_nodes, nlocal);
}

/* ----------------------------------------------------------------------
   graph and layer modes: an evaluation on graph nodes into LAMMPS's forces, energies and
   virials; node k is slot node_slot[k] (slot k if null), local nodes are slots 0..n_local-1
------------------------------------------------------------------------- */

void PairUMLIP::tally_nodes(const umlip::Evaluation &ev, const int64_t *node_slot,
                            int64_t n_nodes, int64_t n_local)
{
  double **f = atom->f;
  const double funit = eunit / lunit;
  for (int64_t k = 0; k < n_nodes; ++k) {
    const int a = atom_of(node_slot ? node_slot[k] : k);
    f[a][0] += funit * ev.forces[3 * k];
    f[a][1] += funit * ev.forces[3 * k + 1];
    f[a][2] += funit * ev.forces[3 * k + 2];
  }
  if (eflag_global) eng_vdwl += eunit * ev.energy;
  if (eflag_atom)
    for (int64_t i = 0; i < n_local; ++i) eatom[atom_of(i)] += eunit * ev.atom_energies[i];
  if (vflag_global) add_virial(virial, ev.virial, eunit);
  if (vflag_atom)
    for (int64_t k = 0; k < n_nodes; ++k)
      add_virial(vatom[atom_of(node_slot ? node_slot[k] : k)], &ev.atom_virial[9 * k], eunit);
}

/* ----------------------------------------------------------------------
   replicate mode: all ranks gather all atoms and evaluate the periodic system as ASE does;
   each keeps what belongs to its own atoms (energies, forces, per-atom virials)
------------------------------------------------------------------------- */

void PairUMLIP::compute_replicated()
{
  select_mapped();
  const int nlocal = atom->nlocal;
  const int nprocs = comm->nprocs;
  double **x = atom->x;
  double **f = atom->f;
  stat_nodes = stat_foreign = stat_edges = 0.0;

  std::vector<int> counts(nprocs), displs(nprocs), counts3(nprocs), displs3(nprocs);
  MPI_Allgather(const_cast<int *>(&nlocal), 1, MPI_INT, counts.data(), 1, MPI_INT, world);
  int ntotal = 0;
  for (int r = 0; r < nprocs; ++r) {
    displs[r] = ntotal;
    displs3[r] = 3 * ntotal;
    counts3[r] = 3 * counts[r];
    ntotal += counts[r];
  }
  std::vector<tagint> tags(ntotal);
  std::vector<int> types(ntotal);
  std::vector<double> pos(3 * static_cast<size_t>(ntotal));
  MPI_Allgatherv(atom->tag, nlocal, MPI_LMP_TAGINT, tags.data(), counts.data(), displs.data(),
                 MPI_LMP_TAGINT, world);
  MPI_Allgatherv(atom->type, nlocal, MPI_INT, types.data(), counts.data(), displs.data(), MPI_INT,
                 world);
  MPI_Allgatherv(nlocal ? &x[0][0] : nullptr, 3 * nlocal, MPI_DOUBLE, pos.data(), counts3.data(),
                 displs3.data(), MPI_DOUBLE, world);
  if (nlocal == 0) return;

  // every rank builds the same system in Å, ordered by atom ID, of the atoms of mapped types
  std::vector<int> order, slot(ntotal, -1);
  for (int k = 0; k < ntotal; ++k)
    if (type_z[types[k]] > 0) order.push_back(k);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return tags[a] < tags[b]; });
  const int nsys = static_cast<int>(order.size());
  std::vector<double> sys_pos(3 * static_cast<size_t>(nsys));
  std::vector<int> sys_z(nsys);
  for (int k = 0; k < nsys; ++k) {
    const int g = order[k];
    slot[g] = k;
    for (int m = 0; m < 3; ++m) sys_pos[3 * k + m] = pos[3 * g + m] / lunit;
    sys_z[k] = type_z[types[g]];
  }
  const double *h = domain->h;    // xprd, yprd, zprd, yz, xz, xy
  const double cell[9] = {h[0] / lunit, 0.0,          0.0,         h[5] / lunit, h[1] / lunit,
                          0.0,          h[4] / lunit, h[3] / lunit, h[2] / lunit};
  const bool pbc[3] = {domain->xperiodic != 0, domain->yperiodic != 0, domain->zperiodic != 0};
  umlip::System sys;
  sys.n = nsys;
  sys.positions = sys_pos.data();
  sys.numbers = sys_z.data();
  sys.cell = cell;
  sys.pbc = pbc;

  // every model on the system (a committee's neighbour lists are built per model here);
  // each rank's share of a model's energy and virial is that of its own atoms
  const int K = nmodels();
  const int me = comm->me;
  umlip::Evaluation ev;
  try {
    if (K > 1) {
      model_node_forces.assign(K, {});
      model_energy.assign(K, 0.0);
      model_virial.assign(9 * static_cast<size_t>(K), 0.0);
      node_slot.assign(nsys, -1);
      for (int i = 0; i < nlocal; ++i)
        if (slot[displs[me] + i] >= 0) node_slot[slot[displs[me] + i]] = slot_of(i);
    }
    for (int m = 0; m < K; ++m) {
      umlip::Evaluation em = umlip::compute(model_at(m), sys, vflag_either != 0 || K > 1);
      t_model += em.model_seconds;
      if (K > 1) {
        for (int i = 0; i < nlocal; ++i) {
          const int k = slot[displs[me] + i];
          if (k < 0) continue;
          model_energy[m] += em.atom_energies[k];
          for (int c = 0; c < 9; ++c) model_virial[9 * m + c] += em.atom_virial[9 * k + c];
        }
        model_node_forces[m] = em.forces;
      }
      if (m == 0) {
        ev = std::move(em);
      } else if (drive_mean) {
        for (size_t a = 0; a < ev.atom_energies.size(); ++a) ev.atom_energies[a] += em.atom_energies[a];
        for (size_t a = 0; a < ev.forces.size(); ++a) ev.forces[a] += em.forces[a];
        for (size_t a = 0; a < ev.atom_virial.size(); ++a) ev.atom_virial[a] += em.atom_virial[a];
      }
    }
    if (drive_mean && K > 1) {
      for (double &v : ev.atom_energies) v /= K;
      for (double &v : ev.forces) v /= K;
      for (double &v : ev.atom_virial) v /= K;
    }
  } catch (const std::exception &e) {
    error->one(FLERR, Error::NOLASTLINE, "Pair style umlip on step {}: {}", update->ntimestep,
               e.what());
  }
  stat_nodes = nsys;
  stat_edges = static_cast<double>(ev.n_edges);

  const double funit = eunit / lunit;
  for (int i = 0; i < nlocal; ++i) {
    const int k = slot[displs[me] + i];
    if (k < 0) continue;    // a NULL type
    f[i][0] += funit * ev.forces[3 * k];
    f[i][1] += funit * ev.forces[3 * k + 1];
    f[i][2] += funit * ev.forces[3 * k + 2];
    if (eflag_global) eng_vdwl += eunit * ev.atom_energies[k];
    if (eflag_atom) eatom[i] += eunit * ev.atom_energies[k];
    if (vflag_global) add_virial(virial, &ev.atom_virial[9 * k], eunit);
    if (vflag_atom) add_virial(vatom[i], &ev.atom_virial[9 * k], eunit);
  }
}

/* ----------------------------------------------------------------------
   layer mode: nodes are the local atoms, then one node per foreign atom that a local atom
   receives from within the cutoff (layer_slot: node -> slot of the LAMMPS atom that carries
   it); ghosts imaging local atoms are folded onto them, the copies of one foreign atom are one
   node (by ID). Edges go from each local atom to its neighbours (full list), and the engine
   exchanges node features through LayerHalo between stages. Collective: every rank
   evaluates, also with no atoms, so that every rank makes the same exchanges.
------------------------------------------------------------------------- */

void PairUMLIP::compute_layer()
{
  const int nall = atom->nlocal + atom->nghost;
  const int *type = atom->type;
  const tagint *tag = atom->tag;
  const bool by_id = atom->tag_enable != 0;
  const double *xa = positions_angstrom(nall);
  select_mapped();
  const int64_t n_slots = all_mapped ? nall : static_cast<int64_t>(mapped.size());
  layer_local = all_mapped ? atom->nlocal : nlocal_mapped;
  layer_slot.resize(layer_local);
  slot_node.assign(n_slots, -1);
  node_of_id.clear();
  for (int64_t s = 0; s < layer_local; ++s) {
    layer_slot[s] = s;
    slot_node[s] = s;
    if (by_id) node_of_id[tag[atom_of(s)]] = s;
  }
  auto node_of_slot = [&](int64_t s) {
    if (slot_node[s] >= 0) return slot_node[s];
    int64_t node = static_cast<int64_t>(layer_slot.size());
    if (by_id) {
      auto it = node_of_id.emplace(tag[atom_of(s)], node).first;
      node = it->second;
    }
    if (node == static_cast<int64_t>(layer_slot.size())) layer_slot.push_back(s);
    return slot_node[s] = node;
  };

  edge_i.clear();
  edge_j.clear();
  edge_vec.clear();
  const double cutsq_a = cutoff * cutoff;
  for (int ii = 0; ii < list->inum; ++ii) {
    const int i = list->ilist[ii];
    const int si = slot_of(i);
    if (si < 0) continue;
    const int *jlist = list->firstneigh[i];
    for (int jj = 0; jj < list->numneigh[i]; ++jj) {
      const int j = jlist[jj] & NEIGHMASK;
      const int sj = slot_of(j);
      if (sj < 0) continue;
      const double d[3] = {xa[3 * j] - xa[3 * i], xa[3 * j + 1] - xa[3 * i + 1],
                           xa[3 * j + 2] - xa[3 * i + 2]};
      if (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] >= cutsq_a) continue;
      edge_i.push_back(si);
      edge_j.push_back(node_of_slot(sj));
      edge_vec.insert(edge_vec.end(), d, d + 3);
    }
  }
  layer_nodes = static_cast<int64_t>(layer_slot.size());
  node_type.resize(layer_nodes);
  node_pos.resize(3 * layer_nodes);
  for (int64_t k = 0; k < layer_nodes; ++k) {
    const int a = atom_of(layer_slot[k]);
    node_type[k] = type[a];
    std::copy_n(xa + 3 * static_cast<size_t>(a), 3, &node_pos[3 * k]);
  }
  if (nmodels() > 1) node_slot = layer_slot;
  stat_nodes = static_cast<double>(layer_nodes);
  stat_foreign = static_cast<double>(layer_nodes - layer_local);
  stat_edges = static_cast<double>(edge_i.size());
  if (report_graph) log_graph();

  umlip::GraphInput g;
  g.n_nodes = layer_nodes;
  g.n_local = layer_local;
  g.positions = node_pos.data();
  g.n_edges = static_cast<int64_t>(edge_i.size());
  g.edge_i = edge_i.data();
  g.edge_j = edge_j.data();
  g.edge_vec = edge_vec.data();

  if (!halo) halo = std::make_unique<LayerHalo>(this);
  umlip::Evaluation ev;
  try {
    ev = evaluate_models(g, node_type, halo.get(), vflag_atom != 0);
  } catch (const std::exception &e) {
    error->one(FLERR, Error::NOLASTLINE, "Pair style umlip on step {}: {}", update->ntimestep,
               e.what());
  }
  if (layer_local == 0) return;

  tally_nodes(ev, layer_slot.data(), layer_nodes, layer_local);
}

/* ----------------------------------------------------------------------
   halo exchange of node features (layer mode): halo_rows holds halo_width values per atom
------------------------------------------------------------------------- */

int PairUMLIP::pack_forward_comm(int n, int *list_, double *buf, int /*pbc_flag*/, int * /*pbc*/)
{
  const int w = halo_width;
  for (int k = 0; k < n; ++k) {
    const int slot = slot_of(list_[k]);
    double *out = buf + static_cast<size_t>(k) * w;
    if (slot < 0)
      std::fill_n(out, w, 0.0);
    else
      std::copy_n(halo_rows + static_cast<size_t>(slot) * w, w, out);
  }
  return n * w;
}

void PairUMLIP::unpack_forward_comm(int n, int first, double *buf)
{
  const int w = halo_width;
  for (int k = 0; k < n; ++k) {
    const int slot = slot_of(first + k);
    if (slot >= 0)
      std::copy_n(buf + static_cast<size_t>(k) * w, w, halo_rows + static_cast<size_t>(slot) * w);
  }
}

int PairUMLIP::pack_reverse_comm(int n, int first, double *buf)
{
  const int w = halo_width;
  for (int k = 0; k < n; ++k) {
    const int slot = slot_of(first + k);
    double *out = buf + static_cast<size_t>(k) * w;
    if (slot < 0)
      std::fill_n(out, w, 0.0);
    else
      std::copy_n(halo_rows + static_cast<size_t>(slot) * w, w, out);
  }
  return n * w;
}

void PairUMLIP::unpack_reverse_comm(int n, int *list_, double *buf)
{
  const int w = halo_width;
  for (int k = 0; k < n; ++k) {
    const int slot = slot_of(list_[k]);
    if (slot < 0) continue;
    double *row = halo_rows + static_cast<size_t>(slot) * w;
    const double *in = buf + static_cast<size_t>(k) * w;
    for (int c = 0; c < w; ++c) row[c] += in[c];
  }
}

/* ---------------------------------------------------------------------- */

double PairUMLIP::memory_usage()
{
  double bytes = Pair::memory_usage();
  if (graph) bytes += static_cast<double>(graph->memory_bytes());
  bytes += static_cast<double>(x_angstrom.capacity() + node_pos.capacity()) * 8.0;
  bytes += static_cast<double>(ids.capacity() + node_species.capacity()) * 8.0;
  return bytes;
}
