/* -*- c++ -*- ----------------------------------------------------------
   umlip: pair style for universal machine-learned interatomic potentials exported to the umlip
   model contract (SevenNet, MACE, ...). Loaded into LAMMPS as a plugin (umlipplugin.so).
------------------------------------------------------------------------- */

#ifndef LMP_PAIR_UMLIP_H
#define LMP_PAIR_UMLIP_H

#include "pair.h"

#include "umlip/graph.hpp"
#include "umlip/model.hpp"
#include "umlip/neighbor.hpp"

#include <memory>
#include <string>
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

 protected:
  enum Mode { MODE_AUTO, MODE_GRAPH, MODE_REPLICATE };

  std::unique_ptr<umlip::Model> model;
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
  double cutoff;             // model cutoff [Å]
  int num_layers;

  std::vector<int64_t> type_species;    // LAMMPS type (1-based) -> model species index
  std::vector<int> type_z;              // LAMMPS type (1-based) -> atomic number

  // graph mode: neighbour candidates within cutoff + skin, rebuilt when atoms are re-assigned
  // or move more than half the skin
  umlip::NeighborList candidates;
  std::vector<int64_t> node_of;      // atom index -> graph node (self-image ghosts -> owner)
  std::vector<int64_t> atom_of;      // graph node -> atom index
  int64_t n_graph_nodes;             // local atoms + foreign ghosts
  std::vector<double> x_at_build;    // positions when candidates were built
  std::vector<tagint> tag_at_build;  // atom IDs by index when candidates were built
  int nlocal_at_build, nghost_at_build;
  double candidate_cut;

  // time since the last finish(): force calls, in compute(), in the model's TorchScript call
  bigint n_calls;
  double t_compute, t_model;

  // per-step scratch
  umlip::EdgeSet edges;
  std::vector<double> node_pos;
  std::vector<int64_t> node_species;

  void allocate();
  std::string resolve_model(const std::string &arg);
  void load_model();
  bool candidates_stale(double **x, int nall) const;
  void build_candidates(double **x, int nlocal, int nall);
  std::vector<int64_t> graph_nodes(double **x);
  void choose_mode();
  void log_graph(int64_t kept_nodes);
  void compute_graph();
  void compute_replicated();
  void log_mode();
};

}    // namespace LAMMPS_NS

#endif
