/* ----------------------------------------------------------------------
   umlip pair style. The engine (libumlip) does neighbour search, model evaluation and the
   force/virial reduction; this file adapts LAMMPS atoms, ghosts and tallies to it.

   Two modes:
   - graph: the graph of this rank has its local atoms and the "foreign" ghost atoms (images of
     atoms owned by other ranks). Ghosts that are periodic images of this rank's own atoms are
     folded onto those atoms, the image offset kept in the edge vector - on one rank that is
     every ghost, and the graph is exactly what the ASE calculator builds. Foreign ghosts carry
     messages; only local energies are summed; their forces are reverse-communicated by LAMMPS
     (newton on). L message-passing layers need foreign ghosts up to L x cutoff (+ skin) away;
     the communication cutoff is set accordingly, and ghosts outside the receptive field of the
     local atoms, and edges that feed no needed feature, are pruned (exact).
   - replicate: every rank gathers all atoms (MPI_Allgatherv) and evaluates the whole periodic
     system exactly as the ASE calculator does, keeping the energies, forces and virials of its
     own atoms. Exact, with the memory of a serial run, but no parallel speed-up: the right
     choice when the L x cutoff ghost shell holds more atoms than the system (small cells and
     deep models such as SevenNet-0, 5 x 5 A).
   `ghost auto` uses graph on one rank; on more it compares, at the start of each run, the
   largest pruned graph of any rank with the number of atoms and takes the smaller.
------------------------------------------------------------------------- */

#include "pair_umlip.h"

#include "atom.h"
#include "comm.h"
#include "domain.h"
#include "error.h"
#include "force.h"
#include "memory.h"
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
#include <sys/stat.h>
#include <unordered_map>

#ifndef UMLIP_PYTHON
#define UMLIP_PYTHON "python3"
#endif

using namespace LAMMPS_NS;

/* ---------------------------------------------------------------------- */

PairUMLIP::PairUMLIP(LAMMPS *lmp) : Pair(lmp)
{
  single_enable = 0;
  restartinfo = 0;
  one_coeff = 1;
  manybody_flag = 1;
  no_virial_fdotr_compute = 1;    // the virial is tallied from the edge gradients
  centroidstressflag = CENTROID_NOTAVAIL;

  device = "cpu";
  nthreads = 0;
  mode_request = MODE_AUTO;
  mode = MODE_GRAPH;
  decide_mode = false;
  report_graph = false;
  prune = true;
  cutoff = 0.0;
  num_layers = 0;
  n_graph_nodes = 0;
  nlocal_at_build = nghost_at_build = -1;
  candidate_cut = 0.0;
  n_calls = 0;
  t_compute = t_model = 0.0;
}

PairUMLIP::~PairUMLIP()
{
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
   pair_style umlip <model-file-or-name> [device cpu|cuda|cuda:N] [dtype float32|float64]
                    [threads N] [ghost auto|graph|replicate] [prune yes|no]
------------------------------------------------------------------------- */

void PairUMLIP::settings(int narg, char **arg)
{
  if (narg < 1) utils::missing_cmd_args(FLERR, "pair_style umlip", error);
  if (strcmp(update->unit_style, "metal") != 0)
    error->all(FLERR, "Pair style umlip requires 'units metal' (models work in eV and Å), not units {}",
               update->unit_style);

  model_arg = arg[0];
  int iarg = 1;
  while (iarg < narg) {
    std::string key = arg[iarg];
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
      else
        error->all(FLERR, "Pair style umlip ghost must be auto, graph or replicate, not {}", val);
    } else if (key == "prune") {
      prune = utils::logical(FLERR, val, false, lmp) == 1;
    } else {
      error->all(FLERR, "Unknown pair_style umlip keyword: {}", key);
    }
    iarg += 2;
  }

  if (nthreads == 0) {
    const char *env = std::getenv("OMP_NUM_THREADS");
    nthreads = (env && std::atoi(env) > 0) ? std::atoi(env) : 1;
  }

  model_path = resolve_model(model_arg);
  load_model();
}

/* ----------------------------------------------------------------------
   a model file is used as is; anything else is a model name that the umlip Python package
   exports once into its cache (rank 0 only), e.g. 7net-0
------------------------------------------------------------------------- */

std::string PairUMLIP::resolve_model(const std::string &arg)
{
  struct stat st;
  if (stat(arg.c_str(), &st) == 0) return arg;

  int rc = 0;
  std::string out;
  if (comm->me == 0) {
    const char *py_env = std::getenv("UMLIP_PYTHON");
    std::string python = py_env ? py_env : UMLIP_PYTHON;
    if (!py_env && stat(python.c_str(), &st) != 0) python = "python3";
    std::string quoted = "'";
    for (char c : arg) quoted += (c == '\'') ? std::string("'\\''") : std::string(1, c);
    quoted += "'";
    std::string cmd = python + " -m umlip resolve " + quoted + " 2>&1";
    utils::logmesg(lmp, "umlip: '{}' is not a file; resolving it as a model name: {}\n", arg, cmd);
    FILE *p = popen(cmd.c_str(), "r");
    if (!p) {
      rc = 1;
      out = "cannot run " + python;
    } else {
      char buf[4096];
      while (fgets(buf, sizeof(buf), p)) out += buf;
      int status = pclose(p);
      rc = (status == 0) ? 0 : 1;
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    if (rc == 0) {
      auto nl = out.rfind('\n');
      if (nl != std::string::npos) out = out.substr(nl + 1);
    }
  }
  MPI_Bcast(&rc, 1, MPI_INT, 0, world);
  int len = static_cast<int>(out.size());
  MPI_Bcast(&len, 1, MPI_INT, 0, world);
  out.resize(len);
  MPI_Bcast(out.data(), len, MPI_CHAR, 0, world);
  if (rc != 0)
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
  try {
    umlip::ModelOptions opt;
    opt.device = device;
    opt.dtype = dtype;
    opt.num_threads = nthreads;
    if (device == "cuda") {
      // one GPU per node-local rank, round robin
      MPI_Comm local;
      int local_rank = 0;
      MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, comm->me, MPI_INFO_NULL, &local);
      MPI_Comm_rank(local, &local_rank);
      MPI_Comm_free(&local);
      opt.device = "cuda:auto:" + std::to_string(local_rank);
    }
    model = std::make_unique<umlip::Model>(model_path, opt);
  } catch (const std::exception &e) {
    ok = 0;
    msg = e.what();
  }
  int all_ok = 0, any_ok = 0;
  MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, world);
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
                   "umlip:   {}\n",
                   info.name, info.family, info.family_version, info.contract_version,
                   model_path, info.content_hash, cutoff, num_layers,
                   info.atomic_numbers.size(), elems, model->dtype(), model->device(), nthreads,
                   umlip::build_info());
  }
}

/* ----------------------------------------------------------------------
   pair_coeff * * <element for type 1> <element for type 2> ...
------------------------------------------------------------------------- */

void PairUMLIP::coeff(int narg, char **arg)
{
  if (!allocated) allocate();
  const int ntypes = atom->ntypes;
  if (narg < 2) utils::missing_cmd_args(FLERR, "pair_coeff", error);
  if (strcmp(arg[0], "*") != 0 || strcmp(arg[1], "*") != 0)
    error->all(FLERR, "Pair style umlip requires 'pair_coeff * * <element per atom type>'");
  if (narg != 2 + ntypes)
    error->all(FLERR,
               "Incorrect args for pair coefficients: pair_coeff * * for pair style umlip needs "
               "one element symbol per atom type ({} types), got {}",
               ntypes, narg - 2);
  type_species.assign(ntypes + 1, -1);
  type_z.assign(ntypes + 1, 0);
  for (int t = 1; t <= ntypes; ++t) {
    try {
      type_z[t] = umlip::atomic_number(arg[t + 1]);
      type_species[t] = model->species_of(type_z[t]);
    } catch (const std::exception &e) {
      error->all(FLERR, "Pair style umlip: pair_coeff for atom type {}: {}", t, e.what());
    }
  }
  for (int i = 1; i <= ntypes; i++)
    for (int j = i; j <= ntypes; j++) setflag[i][j] = 1;
}

/* ---------------------------------------------------------------------- */

void PairUMLIP::init_style()
{
  if (strcmp(update->unit_style, "metal") != 0)
    error->all(FLERR, "Pair style umlip requires 'units metal', not units {}",
               update->unit_style);
  if (atom->tag_enable == 0) error->all(FLERR, "Pair style umlip requires atom IDs");
  if (force->newton_pair == 0)
    error->all(FLERR, "Pair style umlip requires newton pair on (ghost-atom forces are "
                      "reverse-communicated)");
  if (comm->mode != 0) error->all(FLERR, "Pair style umlip requires comm_modify mode single");
  if (!model) error->all(FLERR, "Pair style umlip: no model loaded");

  // on several ranks the graph is directed (each node lists all its neighbours; periodic
  // self-images are folded), which needs contract 1.1+ semantics: edge (i, j) = i receives
  // from j. Older files run replicated.
  const bool directed_ok = model->info().contract_minor >= 1;
  if (comm->nprocs > 1 && mode_request == MODE_GRAPH && !directed_ok)
    error->all(FLERR, "Pair style umlip: model file {} uses model contract {}, which does not "
               "define the message direction that ghost graph needs on several MPI ranks; "
               "re-export it with this umlip or use ghost replicate", model_path,
               model->info().contract_version);
  if (comm->nprocs == 1)
    mode = (mode_request == MODE_REPLICATE) ? MODE_REPLICATE : MODE_GRAPH;
  else if (mode_request == MODE_AUTO && !directed_ok)
    mode = MODE_REPLICATE;
  else
    mode = (mode_request == MODE_AUTO) ? MODE_GRAPH : mode_request;
  decide_mode = mode_request == MODE_AUTO && comm->nprocs > 1 && directed_ok;
  report_graph = mode == MODE_GRAPH && comm->nprocs > 1;

  const double skin = neighbor->skin;
  candidate_cut = cutoff + skin;
  // foreign ghosts must reach L x cutoff; on one rank there are none (all ghosts are images)
  const bool need_shell = comm->nprocs > 1 && mode_request != MODE_REPLICATE;
  const double needed = need_shell ? num_layers * cutoff + skin : cutoff + skin;
  if (comm->cutghostuser < needed) comm->cutghostuser = needed;
  if (comm->me == 0)
    utils::logmesg(lmp, "umlip: communication cutoff {:.4} A ({}; set automatically)\n",
                   comm->cutghostuser,
                   need_shell ? fmt::format("{} layers x cutoff {} + skin {}", num_layers, cutoff,
                                            skin)
                              : fmt::format("cutoff {} + skin {}", cutoff, skin));
  if (!decide_mode) log_mode();
  nlocal_at_build = nghost_at_build = -1;    // force a candidate rebuild
  umlip::set_num_threads(nthreads);
}

double PairUMLIP::init_one(int /*i*/, int /*j*/)
{
  return cutoff;
}

void PairUMLIP::log_mode()
{
  if (comm->me != 0) return;
  const char *what = mode == MODE_GRAPH
      ? (comm->nprocs == 1 ? "graph (periodic images folded onto local atoms, as in ASE)"
                           : "graph (local atoms + foreign ghost atoms carrying messages)")
      : "replicate (every rank evaluates the whole periodic system)";
  utils::logmesg(lmp, "umlip: ghost mode {}\n", what);
}

/* ---------------------------------------------------------------------- */

bool PairUMLIP::candidates_stale(double **x, int nall) const
{
  if (atom->nlocal != nlocal_at_build || atom->nghost != nghost_at_build) return true;
  if (nall == 0) return false;
  // atoms re-assigned or re-ordered (exchange, borders, sorting, deletion): rebuild
  const tagint *tag = atom->tag;
  for (int a = 0; a < nall; ++a)
    if (tag[a] != tag_at_build[a]) return true;
  // any atom moved more than half the skin since the build (ghosts included, so box changes
  // under NPT are covered): rebuild
  const double lim2 = 0.25 * (candidate_cut - cutoff) * (candidate_cut - cutoff);
  const double *x0 = x_at_build.data();
  const double *x1 = &x[0][0];
  for (int a = 0; a < 3 * nall; a += 3) {
    const double d0 = x1[a] - x0[a], d1 = x1[a + 1] - x0[a + 1], d2 = x1[a + 2] - x0[a + 2];
    if (d0 * d0 + d1 * d1 + d2 * d2 > lim2) return true;
  }
  return false;
}

/* ----------------------------------------------------------------------
   graph nodes: local atoms first, then foreign ghosts; a ghost whose atom ID is owned by this
   rank is a periodic image of a local atom and maps onto it. Candidate pairs are searched from
   local atoms and foreign ghosts only (an image's pairs are its owner's).
------------------------------------------------------------------------- */

void PairUMLIP::build_candidates(double **x, int nlocal, int nall)
{
  nlocal_at_build = atom->nlocal;
  nghost_at_build = atom->nghost;
  x_at_build.assign(nall ? &x[0][0] : nullptr, nall ? &x[0][0] + 3 * nall : nullptr);
  tag_at_build.assign(atom->tag, atom->tag + nall);
  candidates = umlip::NeighborList();
  node_of.assign(nall, -1);
  atom_of.clear();
  n_graph_nodes = 0;
  if (nall == 0) return;

  const tagint *tag = atom->tag;
  std::unordered_map<tagint, int> local_of;
  local_of.reserve(2 * static_cast<size_t>(nlocal));
  for (int i = 0; i < nlocal; ++i) {
    local_of[tag[i]] = i;
    node_of[i] = i;
    atom_of.push_back(i);
  }
  std::vector<uint8_t> center(nall, 0);
  for (int i = 0; i < nlocal; ++i) center[i] = 1;
  for (int a = nlocal; a < nall; ++a) {
    auto it = local_of.find(tag[a]);
    if (it != local_of.end()) {
      node_of[a] = it->second;    // image of a local atom
    } else {
      node_of[a] = static_cast<int64_t>(atom_of.size());
      atom_of.push_back(a);
      center[a] = 1;
    }
  }
  n_graph_nodes = static_cast<int64_t>(atom_of.size());

  std::vector<int64_t> ids(nall);
  for (int a = 0; a < nall; ++a) ids[a] = tag[a];
  static const double zero_cell[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
  static const bool no_pbc[3] = {false, false, false};
  umlip::NeighborOptions opt;
  opt.center_mask = center.data();
  opt.labels = ids.data();
  try {
    candidates = umlip::neighbor_list(&x[0][0], nall, zero_cell, no_pbc, candidate_cut, opt);
  } catch (const std::exception &e) {
    error->one(FLERR, "Pair style umlip: {} (numbers are atom IDs)", e.what());
  }
}

/* ----------------------------------------------------------------------
   edges at the current positions; returns the kept graph nodes (pruned)
------------------------------------------------------------------------- */

std::vector<int64_t> PairUMLIP::graph_nodes(double **x)
{
  const int nlocal = atom->nlocal;
  const int nall = nlocal + atom->nghost;
  if (candidates_stale(x, nall)) build_candidates(x, nlocal, nall);
  std::vector<int64_t> kept;
  if (nlocal == 0) return kept;
  umlip::select_edges(candidates, &x[0][0], cutoff, node_of.data(), edges);
  if (prune && n_graph_nodes > nlocal) {
    kept = umlip::prune_receptive_field(n_graph_nodes, nlocal, num_layers, edges);
  } else {
    kept.resize(n_graph_nodes);
    for (int64_t k = 0; k < n_graph_nodes; ++k) kept[k] = k;
  }
  return kept;
}

/* ----------------------------------------------------------------------
   auto mode on several ranks: a graph larger than the whole system means the ghost shell
   dwarfs the system, and evaluating the whole system on every rank is cheaper.
   Collective: every rank calls it at the same point (first compute of a run).
------------------------------------------------------------------------- */

void PairUMLIP::choose_mode()
{
  const double mine = static_cast<double>(graph_nodes(atom->x).size());
  double largest = 0.0;
  MPI_Allreduce(&mine, &largest, 1, MPI_DOUBLE, MPI_MAX, world);
  mode = (largest > static_cast<double>(atom->natoms)) ? MODE_REPLICATE : MODE_GRAPH;
  if (comm->me == 0)
    utils::logmesg(lmp, "umlip: ghost auto: largest graph {} nodes for {} atoms in the system\n",
                   static_cast<bigint>(largest), atom->natoms);
  log_mode();
  decide_mode = false;
  report_graph = mode == MODE_GRAPH;
}

/* ----------------------------------------------------------------------
   graph statistics over all ranks (collective): the cost of the ghost shell
------------------------------------------------------------------------- */

void PairUMLIP::log_graph(int64_t kept_nodes)
{
  double mine[4] = {static_cast<double>(atom->nlocal), static_cast<double>(atom->nghost),
                    static_cast<double>(kept_nodes - atom->nlocal),
                    static_cast<double>(edges.size())};
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
  if (decide_mode) choose_mode();
  if (mode == MODE_REPLICATE)
    compute_replicated();
  else
    compute_graph();
  ++n_calls;
  t_compute += platform::walltime() - t0;
}

/* ----------------------------------------------------------------------
   end of a run (collective): where the pair style's time went, the slowest rank's view
------------------------------------------------------------------------- */

void PairUMLIP::finish()
{
  double mine[2] = {t_compute, t_model}, most[2] = {0.0, 0.0};
  MPI_Allreduce(mine, most, 2, MPI_DOUBLE, MPI_MAX, world);
  if (comm->me == 0 && n_calls > 0)
    utils::logmesg(lmp,
                   "umlip: {} force calls: {:.6g} s in pair umlip, of which {:.6g} s in the "
                   "model call (forward + backward) and {:.6g} s ({:.2f}%) in graph building, "
                   "tallies and communication (slowest rank)\n",
                   n_calls, most[0], most[1], most[0] - most[1],
                   most[1] > 0 ? 100.0 * (most[0] - most[1]) / most[1] : 0.0);
  n_calls = 0;
  t_compute = t_model = 0.0;
}

/* ---------------------------------------------------------------------- */

void PairUMLIP::compute_graph()
{
  const int nlocal = atom->nlocal;
  double **x = atom->x;
  double **f = atom->f;
  const int *type = atom->type;

  std::vector<int64_t> kept = graph_nodes(x);
  if (report_graph) log_graph(static_cast<int64_t>(kept.size()));
  if (nlocal == 0) return;    // no local energy, hence no forces from this rank

  const int64_t n_nodes = static_cast<int64_t>(kept.size());
  node_pos.resize(3 * n_nodes);
  node_species.resize(n_nodes);
  for (int64_t k = 0; k < n_nodes; ++k) {
    const int64_t a = atom_of[kept[k]];
    node_pos[3 * k] = x[a][0];
    node_pos[3 * k + 1] = x[a][1];
    node_pos[3 * k + 2] = x[a][2];
    node_species[k] = type_species[type[a]];
  }

  umlip::GraphInput g;
  g.n_nodes = n_nodes;
  g.n_local = nlocal;
  g.positions = node_pos.data();
  g.species = node_species.data();
  g.n_edges = static_cast<int64_t>(edges.size());
  g.edge_i = edges.i.data();
  g.edge_j = edges.j.data();
  g.edge_vec = edges.vec.data();

  umlip::Evaluation ev;
  try {
    ev = model->evaluate(g, vflag_atom != 0);
    t_model += ev.model_seconds;
  } catch (const std::exception &e) {
    error->one(FLERR, Error::NOLASTLINE, "Pair style umlip on step {}: {}", update->ntimestep,
               e.what());
  }

  for (int64_t k = 0; k < n_nodes; ++k) {
    const int64_t a = atom_of[kept[k]];
    f[a][0] += ev.forces[3 * k];
    f[a][1] += ev.forces[3 * k + 1];
    f[a][2] += ev.forces[3 * k + 2];
  }
  if (eflag_global) eng_vdwl += ev.energy;
  if (eflag_atom)
    for (int i = 0; i < nlocal; ++i) eatom[i] += ev.atom_energies[i];
  if (vflag_global) {
    // engine: row-major 3x3; LAMMPS: xx, yy, zz, xy, xz, yz
    virial[0] += ev.virial[0];
    virial[1] += ev.virial[4];
    virial[2] += ev.virial[8];
    virial[3] += ev.virial[1];
    virial[4] += ev.virial[2];
    virial[5] += ev.virial[5];
  }
  if (vflag_atom) {
    for (int64_t k = 0; k < n_nodes; ++k) {
      const int64_t a = atom_of[kept[k]];
      const double *w = &ev.atom_virial[9 * k];
      vatom[a][0] += w[0];
      vatom[a][1] += w[4];
      vatom[a][2] += w[8];
      vatom[a][3] += w[1];
      vatom[a][4] += w[2];
      vatom[a][5] += w[5];
    }
  }
}

/* ----------------------------------------------------------------------
   replicate mode: all ranks gather all atoms and evaluate the periodic system as ASE does;
   each keeps what belongs to its own atoms (energies, forces, per-atom virials)
------------------------------------------------------------------------- */

void PairUMLIP::compute_replicated()
{
  const int nlocal = atom->nlocal;
  const int nprocs = comm->nprocs;
  double **x = atom->x;
  double **f = atom->f;

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

  // every rank builds the same system, ordered by atom ID
  std::vector<int> order(ntotal), slot(ntotal);
  for (int k = 0; k < ntotal; ++k) order[k] = k;
  std::sort(order.begin(), order.end(), [&](int a, int b) { return tags[a] < tags[b]; });
  std::vector<double> sys_pos(3 * static_cast<size_t>(ntotal));
  std::vector<int> sys_z(ntotal);
  for (int k = 0; k < ntotal; ++k) {
    const int g = order[k];
    slot[g] = k;
    for (int m = 0; m < 3; ++m) sys_pos[3 * k + m] = pos[3 * g + m];
    sys_z[k] = type_z[types[g]];
  }
  const double *h = domain->h;    // xprd, yprd, zprd, yz, xz, xy
  const double cell[9] = {h[0], 0.0, 0.0, h[5], h[1], 0.0, h[4], h[3], h[2]};
  const bool pbc[3] = {domain->xperiodic != 0, domain->yperiodic != 0, domain->zperiodic != 0};
  umlip::System sys;
  sys.n = ntotal;
  sys.positions = sys_pos.data();
  sys.numbers = sys_z.data();
  sys.cell = cell;
  sys.pbc = pbc;

  umlip::Evaluation ev;
  try {
    ev = umlip::compute(*model, sys, vflag_either != 0);
    t_model += ev.model_seconds;
  } catch (const std::exception &e) {
    error->one(FLERR, Error::NOLASTLINE, "Pair style umlip on step {}: {}", update->ntimestep,
               e.what());
  }

  const int me = comm->me;
  for (int i = 0; i < nlocal; ++i) {
    const int k = slot[displs[me] + i];
    f[i][0] += ev.forces[3 * k];
    f[i][1] += ev.forces[3 * k + 1];
    f[i][2] += ev.forces[3 * k + 2];
    if (eflag_global) eng_vdwl += ev.atom_energies[k];
    if (eflag_atom) eatom[i] += ev.atom_energies[k];
    if (vflag_either) {
      const double *w = &ev.atom_virial[9 * k];
      const double v6[6] = {w[0], w[4], w[8], w[1], w[2], w[5]};
      for (int m = 0; m < 6; ++m) {
        if (vflag_global) virial[m] += v6[m];
        if (vflag_atom) vatom[i][m] += v6[m];
      }
    }
  }
}

/* ---------------------------------------------------------------------- */

double PairUMLIP::memory_usage()
{
  double bytes = Pair::memory_usage();
  bytes += static_cast<double>(candidates.i.capacity() + candidates.j.capacity()) * 8.0;
  bytes += static_cast<double>(candidates.shift.capacity()) * 4.0;
  bytes += static_cast<double>(x_at_build.capacity() + edges.vec.capacity()) * 8.0;
  bytes += static_cast<double>(edges.i.capacity() + edges.j.capacity()) * 8.0;
  return bytes;
}
