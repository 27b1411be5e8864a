/* ----------------------------------------------------------------------
   pair style umlip with a committee of models (pair_style umlip m0 committee m1 m2 ...): every
   model is evaluated on the same graph; m0 (or the mean) drives the dynamics, and the
   disagreement of the models (the model deviation, with DeePMD-kit's conventions) is written to
   an out file, published through compute pair umlip and, per atom, through fix pair
   (name devi_f); a threshold on the largest per-atom force deviation warns or stops the run.
------------------------------------------------------------------------- */

#include "pair_umlip.h"

#include "atom.h"
#include "comm.h"
#include "error.h"
#include "update.h"

#include "umlip/deviation.hpp"
#include "umlip/elements.hpp"

#include <algorithm>
#include <cstring>
#include <exception>

using namespace LAMMPS_NS;

/* ----------------------------------------------------------------------
   the committee's other models, loaded with m0's options; they must cover the same elements
   (collective)
------------------------------------------------------------------------- */

void PairUMLIP::load_committee(const umlip::ModelOptions &opt)
{
  members.clear();
  std::string msg;
  int ok = 1;
  try {
    for (const auto &path : committee_paths)
      members.push_back(std::make_unique<umlip::Model>(path, opt));
  } catch (const std::exception &e) {
    ok = 0;
    msg = e.what();
  }
  int all_ok = 0;
  MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, world);
  if (!all_ok) {
    if (!ok) error->one(FLERR, "Pair style umlip cannot load committee model: {}", msg);
    error->all(FLERR, "Pair style umlip cannot load a committee model on another rank");
  }

  auto elements = [](const umlip::Model &m) {
    std::vector<int> z = m.info().atomic_numbers;
    std::sort(z.begin(), z.end());
    std::string text;
    for (int a : z) text += (text.empty() ? "" : " ") + umlip::element_symbol(a);
    return text;
  };
  const std::string mine = elements(*model);
  for (size_t k = 0; k < members.size(); ++k) {
    const umlip::ModelInfo &info = members[k]->info();
    if (elements(*members[k]) != mine)
      error->all(FLERR, "Pair style umlip: committee models must cover the same elements; {} "
                 "covers {}, but {} covers {}", model_path, mine, committee_paths[k],
                 elements(*members[k]));
    cutoff = std::max(cutoff, info.cutoff);
    num_layers = std::max(num_layers, info.num_layers);
    if (comm->me == 0)
      utils::logmesg(lmp, "umlip: committee model {}: '{}' from {} {} ({}), content hash {}, "
                     "cutoff {} A, {} layers\n", k + 1, info.name, info.family,
                     info.family_version, committee_paths[k], info.content_hash, info.cutoff,
                     info.num_layers);
  }
  if (comm->me == 0 && !members.empty())
    utils::logmesg(lmp, "umlip: committee of {} models; dynamics from {}; graph cutoff {} A "
                   "(the largest)\n", nmodels(), drive_mean ? "their mean" : "the first",
                   cutoff);
}

/* ----------------------------------------------------------------------
   every model on graph g (node_type: the LAMMPS type of each node); each model sees only the
   edges within its own cutoff. Keeps each model's node forces, energy and virial for the
   deviation; returns the evaluation that drives the dynamics (m0's or the mean). With a halo,
   every rank evaluates every model (collective exchanges).
------------------------------------------------------------------------- */

umlip::Evaluation PairUMLIP::evaluate_models(const umlip::GraphInput &g,
                                             const std::vector<int> &node_type,
                                             umlip::HaloExchange *halo, bool atom_virial)
{
  const int K = nmodels();
  umlip::Evaluation drive;
  if (K > 1) {
    model_node_forces.assign(K, {});
    model_energy.assign(K, 0.0);
    model_virial.assign(9 * static_cast<size_t>(K), 0.0);
  }
  stat_halo_bytes = 0.0;
  for (int m = 0; m < K; ++m) {
    umlip::Model &mo = model_at(m);
    const std::vector<int64_t> &species = species_map(m);
    node_species.resize(g.n_nodes);
    for (int64_t k = 0; k < g.n_nodes; ++k) node_species[k] = species[node_type[k]];
    umlip::GraphInput gm = g;
    gm.species = node_species.data();
    const double rc = mo.info().cutoff;
    if (rc < cutoff) {    // a member with a shorter cutoff than the graph's
      edge_i_k.clear();
      edge_j_k.clear();
      edge_vec_k.clear();
      for (int64_t e = 0; e < g.n_edges; ++e) {
        const double *d = g.edge_vec + 3 * e;
        if (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] >= rc * rc) continue;
        edge_i_k.push_back(g.edge_i[e]);
        edge_j_k.push_back(g.edge_j[e]);
        edge_vec_k.insert(edge_vec_k.end(), d, d + 3);
      }
      gm.n_edges = static_cast<int64_t>(edge_i_k.size());
      gm.edge_i = edge_i_k.data();
      gm.edge_j = edge_j_k.data();
      gm.edge_vec = edge_vec_k.data();
    }
    umlip::Evaluation ev = mo.evaluate(gm, atom_virial, halo);
    t_model += ev.model_seconds;
    t_halo += ev.halo_seconds;
    stat_halo_bytes += 8.0 * static_cast<double>(ev.halo_doubles);
    if (K > 1) {
      model_node_forces[m] = ev.forces;
      model_energy[m] = ev.energy;
      std::copy(ev.virial, ev.virial + 9, &model_virial[9 * static_cast<size_t>(m)]);
    }
    if (m == 0) {
      drive = std::move(ev);
    } else if (drive_mean) {
      drive.energy += ev.energy;
      for (size_t a = 0; a < drive.atom_energies.size(); ++a)
        drive.atom_energies[a] += ev.atom_energies[a];
      for (size_t a = 0; a < drive.forces.size(); ++a) drive.forces[a] += ev.forces[a];
      for (int c = 0; c < 9; ++c) drive.virial[c] += ev.virial[c];
      for (size_t a = 0; a < drive.atom_virial.size(); ++a)
        drive.atom_virial[a] += ev.atom_virial[a];
    }
  }
  if (drive_mean && K > 1) {
    const double w = 1.0 / K;
    drive.energy *= w;
    for (double &v : drive.atom_energies) v *= w;
    for (double &v : drive.forces) v *= w;
    for (double &v : drive.virial) v *= w;
    for (double &v : drive.atom_virial) v *= w;
  }
  return drive;
}

/* ----------------------------------------------------------------------
   the model deviation of this step (collective): each model's node forces summed onto the
   atoms that own them (a reverse communication of 3 x models values per atom), the per-atom
   force deviation of local atoms, and the global max/min/mean, energy and virial deviations
------------------------------------------------------------------------- */

void PairUMLIP::committee_deviation()
{
  const int K = nmodels();
  const int w = 3 * K;
  const int nlocal = atom->nlocal;
  const int nall = nlocal + atom->nghost;
  const int nslots = all_mapped ? nall : static_cast<int>(mapped.size());
  const int nlocal_slots = all_mapped ? nlocal : nlocal_mapped;
  devi_rows.assign(static_cast<size_t>(nslots) * w, 0.0);
  if (!model_node_forces.empty())
    for (int m = 0; m < K; ++m) {
      const std::vector<double> &f = model_node_forces[m];
      for (size_t k = 0; k < node_slot.size(); ++k) {
        const int64_t s = node_slot[k];
        if (s < 0) continue;
        for (int c = 0; c < 3; ++c) devi_rows[s * w + 3 * m + c] += f[3 * k + c];
      }
    }
  halo_rows = devi_rows.data();
  halo_width = w;
  comm->reverse_comm(this, w);
  halo_rows = nullptr;

  devi_sigma.assign(nlocal_slots, 0.0);
  umlip::force_deviation(devi_rows.data(), nlocal_slots, K, devi_sigma.data());
  const double funit = eunit / lunit;
  devi_f.assign(std::max(atom->nmax, 1), 0.0);
  double lo = 1e300, hi = 0.0, sum = 0.0;
  struct {
    double value;
    int id;
  } mine_max = {-1.0, 0}, top;
  for (int s = 0; s < nlocal_slots; ++s) {
    const double v = funit * devi_sigma[s];
    devi_f[atom_of(s)] = v;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += v;
    if (v > mine_max.value) mine_max = {v, static_cast<int>(atom->tag[atom_of(s)])};
  }
  double count = nlocal_slots, all_count = 0.0, all_sum = 0.0;
  MPI_Allreduce(&count, &all_count, 1, MPI_DOUBLE, MPI_SUM, world);
  MPI_Allreduce(&sum, &all_sum, 1, MPI_DOUBLE, MPI_SUM, world);
  MPI_Allreduce(&lo, &devi_min, 1, MPI_DOUBLE, MPI_MIN, world);
  MPI_Allreduce(&mine_max, &top, 1, MPI_DOUBLE_INT, MPI_MAXLOC, world);
  devi_max = std::max(top.value, 0.0);
  devi_avg = all_count > 0 ? all_sum / all_count : 0.0;
  if (all_count == 0) devi_min = 0.0;

  std::vector<double> energy(K, 0.0), virial(9 * static_cast<size_t>(K), 0.0);
  if (!model_energy.empty()) {
    energy = model_energy;
    virial = model_virial;
  }
  std::vector<double> energy_all(K), virial_all(9 * static_cast<size_t>(K));
  MPI_Allreduce(energy.data(), energy_all.data(), K, MPI_DOUBLE, MPI_SUM, world);
  MPI_Allreduce(virial.data(), virial_all.data(), 9 * K, MPI_DOUBLE, MPI_SUM, world);
  const double natoms = std::max(all_count, 1.0);
  devi_e = eunit * umlip::committee_std(energy_all.data(), K) / natoms;
  umlip::virial_deviation(virial_all.data(), K, natoms, &devi_v[0], &devi_v[1], &devi_v[2]);
  for (double &v : devi_v) v *= eunit;
  model_node_forces.clear();
  model_energy.clear();
  model_virial.clear();
  node_slot.clear();

  write_deviation();
  if (devi_threshold > 0.0 && devi_max > devi_threshold) {
    if (devi_stop)
      error->all(FLERR, "Pair style umlip: on step {} the force deviation of atom {} is {:.6g}, "
                 "above uncertainty_threshold {:.6g}: the models disagree, so the model is "
                 "outside what it was trained for; stopping", update->ntimestep, top.id,
                 devi_max, devi_threshold);
    if (comm->me == 0 && devi_warned_step != update->ntimestep)
      error->warning(FLERR, "Pair style umlip: on step {} the force deviation of atom {} is "
                     "{:.6g}, above uncertainty_threshold {:.6g}", update->ntimestep, top.id,
                     devi_max, devi_threshold);
    devi_warned_step = update->ntimestep;
  }
}

/* ----------------------------------------------------------------------
   out_file, every out_freq steps (rank 0): DeePMD-kit's model_devi columns, then devi_e
------------------------------------------------------------------------- */

void PairUMLIP::write_deviation()
{
  if (devi_file.empty() || comm->me != 0) return;
  if (update->ntimestep % devi_freq != 0) return;
  if (!devi_fp) {
    devi_fp = fopen(devi_file.c_str(), "w");
    if (!devi_fp)
      error->one(FLERR, "Pair style umlip cannot open out_file {}: {}", devi_file,
                 utils::getsyserror());
    fmt::print(devi_fp, "#{:>11} {:>18} {:>18} {:>18} {:>18} {:>18} {:>18} {:>18}\n", "step",
               "max_devi_v", "min_devi_v", "avg_devi_v", "max_devi_f", "min_devi_f",
               "avg_devi_f", "devi_e");
  }
  fmt::print(devi_fp, "{:>12} {:18.10e} {:18.10e} {:18.10e} {:18.10e} {:18.10e} {:18.10e} "
             "{:18.10e}\n", update->ntimestep, devi_v[0], devi_v[1], devi_v[2], devi_max,
             devi_min, devi_avg, devi_e);
  fflush(devi_fp);
}

/* ----------------------------------------------------------------------
   per-atom values for fix pair: devi_f, the force deviation of each local atom (user units)
------------------------------------------------------------------------- */

void *PairUMLIP::extract_peratom(const char *name, int &ncol)
{
  if (strcmp(name, "devi_f") != 0 || members.empty()) return nullptr;
  ncol = 0;
  if (devi_f.size() < static_cast<size_t>(std::max(atom->nmax, 1)))
    devi_f.resize(std::max(atom->nmax, 1), 0.0);
  return devi_f.data();
}
