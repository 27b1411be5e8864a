/* -*- c++ -*- ----------------------------------------------------------
   umlip: pair style for universal machine-learned interatomic potentials exported to the umlip
   model contract (SevenNet, MACE, ...). Loaded into LAMMPS as a plugin (umlipplugin.so).
------------------------------------------------------------------------- */

#ifndef LMP_PAIR_UMLIP_H
#define LMP_PAIR_UMLIP_H

#include "pair.h"

#include "umlip/ghost_graph.hpp"
#include "umlip/model.hpp"

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace LAMMPS_NS {

class PairUMLIP : public Pair {
 public:
  PairUMLIP(class LAMMPS *);
  ~PairUMLIP() override;

  void compute(int, int) override;
  void settings(int, char **) override;
  void coeff(int, char **) override;
  void init_style() override;
  double init_one(int, int) override;
  void finish() override;
  double memory_usage() override;
  int pack_forward_comm(int, int *, double *, int, int *) override;
  void unpack_forward_comm(int, int, double *) override;
  int pack_reverse_comm(int, int, double *) override;
  void unpack_reverse_comm(int, int *, double *) override;
  void *extract_peratom(const char *, int &) override;

 protected:
  enum Mode { MODE_AUTO, MODE_GRAPH, MODE_REPLICATE, MODE_LAYER };
  // entries of pvector (compute pair umlip), documented in docs/pair_umlip.rst
  enum Stat {
    STAT_MODE,
    STAT_LOCAL,
    STAT_FOREIGN,
    STAT_EDGES,
    STAT_LARGEST,
    STAT_CALLS,
    STAT_PAIR_SECONDS,
    STAT_MODEL_SECONDS,
    STAT_BUILDS,
    STAT_AUTO_LARGEST,
    STAT_HALO_BYTES,
    STAT_HALO_SECONDS,
    STAT_DEVI_F_MAX,
    STAT_DEVI_F_MIN,
    STAT_DEVI_F_AVG,
    STAT_DEVI_E,
    NSTATS
  };

  std::unique_ptr<umlip::Model> model;    // the first model (m0)
  std::string model_arg;     // as given to pair_style (file or name)
  std::string model_path;    // resolved file
  std::string device;
  std::string dtype;
  int nthreads;              // torch intra-op threads per rank
  int mode_request;          // Mode
  int mode;                  // MODE_GRAPH or MODE_REPLICATE
  bool decide_mode;          // auto on >1 rank: choose at the next compute (collective)
  bool report_graph;         // log graph statistics at the next compute (collective)
  bool prune;                // drop ghosts outside the receptive field
  int recompute;             // layer-wise recomputation: 1 yes, 0 no, -1 auto (engine default)
  double cutoff;             // model cutoff [Å]
  int num_layers;
  double eunit;              // the user's energy unit per eV
  double lunit;              // the user's length unit per Å

  std::vector<int64_t> type_species;    // LAMMPS type (1-based) -> model species index, -1 NULL
  std::vector<int> type_z;              // LAMMPS type (1-based) -> atomic number, 0 NULL
  bool all_mapped;                      // no type is NULL in pair_coeff

  // with NULL types: the atoms of mapped types (local ones first, then ghosts, in LAMMPS
  // order) are the atoms the model sees; atom_slot is the inverse (-1 for unmapped atoms)
  std::vector<int> mapped;
  std::vector<int> atom_slot;
  int nlocal_mapped;
  std::vector<double> x_mapped;
  std::vector<tagint> tags_scratch;

  // graph mode: candidates rebuilt when LAMMPS rebuilt its neighbour lists (atoms re-assigned)
  std::unique_ptr<umlip::GhostGraph> graph;
  bool rebuild_due;          // rebuild the candidates at the next update_graph()
  int nlocal_at_build, nghost_at_build;

  // this run (reset by finish()): force calls, candidate builds, seconds in compute() and in
  // the model's TorchScript call
  bigint n_calls, n_builds;
  double t_compute, t_model;
  // the last compute(): graph nodes, foreign ghost nodes kept, edges on this rank
  double stat_nodes, stat_foreign, stat_edges;
  double auto_largest;    // largest graph `ghost auto` compared with the system (0: no choice)
  // ghost layer: bytes this rank passed through halo exchanges in the last compute(), and the
  // seconds spent in them over this run
  double stat_halo_bytes, t_halo;

  // the rows the current halo exchange or committee communication works on (one row of
  // halo_width per slot, LAMMPS atom order), and the ghost-layer adapter the engine calls
  // between stages
  double *halo_rows;
  int halo_width;
  class LayerHalo;
  std::unique_ptr<LayerHalo> halo;
  std::vector<int64_t> edge_i, edge_j;
  std::vector<double> edge_vec;

  // committee (pair_style umlip m0 committee m1 m2 ...): the other models, their files and
  // type maps; what drives the dynamics; the model deviation and its output
  std::vector<std::string> committee_args, committee_paths;
  std::vector<std::unique_ptr<umlip::Model>> members;
  std::vector<std::vector<int64_t>> member_type_species;
  bool drive_mean;           // dynamics from the committee mean instead of m0
  std::string devi_file;     // out_file ("" = none)
  int devi_freq;             // out_freq [steps]
  FILE *devi_fp;
  double devi_threshold;     // uncertainty_threshold on the max force deviation, user units
  bool devi_stop;            // stop (else warn) when it is crossed
  bigint devi_warned_step;
  // this compute(): each model's forces on the graph's nodes and the slot of each node (-1:
  // not counted here), each model's energy and virial on this rank [eV]
  std::vector<std::vector<double>> model_node_forces;
  std::vector<int64_t> node_slot;
  std::vector<double> model_energy, model_virial;
  std::vector<double> devi_rows, devi_sigma, devi_f;    // devi_f: per atom, user force units
  double devi_max, devi_min, devi_avg, devi_e, devi_v[3];

  int nmodels() const { return 1 + static_cast<int>(members.size()); }
  umlip::Model &model_at(int k) { return k == 0 ? *model : *members[k - 1]; }
  const std::vector<int64_t> &species_map(int k)
  {
    return k == 0 ? type_species : member_type_species[k - 1];
  }

  // per-step scratch
  std::vector<double> x_angstrom;
  std::vector<int64_t> ids;
  std::vector<double> node_pos;
  std::vector<int64_t> node_species;
  std::vector<int> node_type;
  std::vector<int64_t> edge_i_k, edge_j_k;
  std::vector<double> edge_vec_k;

  void allocate();
  void set_units();
  std::string resolve_model(const std::string &arg);
  void load_model();
  const double *positions_angstrom(int nall);
  void select_mapped();
  const double *mapped_positions(const double *xa);
  int atom_of(int64_t slot) const { return all_mapped ? static_cast<int>(slot) : mapped[slot]; }
  int slot_of(int a) const { return all_mapped ? a : atom_slot[a]; }
  int64_t layer_nodes, layer_local;    // the graph of the current compute_layer()
  std::vector<int64_t> layer_slot;     // its node -> slot of the LAMMPS atom carrying it
  std::vector<int64_t> slot_node;      // slot -> node (-1: none)
  std::unordered_map<tagint, int64_t> node_of_id;    // atom ID -> node
  void update_graph(const double *xa);
  void choose_mode();
  void log_graph();
  void compute_graph();
  void compute_replicated();
  void compute_layer();
  void tally_nodes(const umlip::Evaluation &ev, const int64_t *node_slot, int64_t n_nodes,
                   int64_t n_local);
  umlip::Evaluation evaluate_models(const umlip::GraphInput &g, const std::vector<int> &node_type,
                                    umlip::HaloExchange *halo, bool atom_virial);
  void committee_deviation();
  void write_deviation();
  void load_committee(const umlip::ModelOptions &opt);
  void log_mode();
  void publish_stats();
};

}    // namespace LAMMPS_NS

#endif
