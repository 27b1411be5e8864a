// pybind11 module umlip._engine (imported through umlip.engine): the Python front door to the
// engine. Thin by design: array conversion, the GIL, and exceptions. Everything else lives in
// the engine.
#include "umlip/deviation.hpp"
#include "umlip/elements.hpp"
#include "umlip/ghost_graph.hpp"
#include "umlip/model.hpp"
#include "umlip/neighbor.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

namespace py = pybind11;
using namespace umlip;

namespace {

using DArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using IArray = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
using ZArray = py::array_t<int, py::array::c_style | py::array::forcecast>;
using BArray = py::array_t<bool, py::array::c_style | py::array::forcecast>;

void require_shape(const py::array &a, std::vector<py::ssize_t> shape, const char *name)
{
  bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
  for (size_t k = 0; ok && k < shape.size(); ++k)
    if (shape[k] >= 0 && a.shape(k) != shape[k]) ok = false;
  if (!ok) {
    std::string want = "(";
    for (size_t k = 0; k < shape.size(); ++k)
      want += (k ? ", " : "") + (shape[k] < 0 ? std::string("N") : std::to_string(shape[k]));
    want += ")";
    std::string got = "(";
    for (py::ssize_t k = 0; k < a.ndim(); ++k)
      got += (k ? ", " : "") + std::to_string(a.shape(k));
    got += ")";
    throw std::invalid_argument(std::string(name) + " must have shape " + want + ", got " + got);
  }
}

py::dict to_dict(const Evaluation &ev, int64_t n_nodes, int64_t n_local, bool atom_virial)
{
  py::dict d;
  d["energy"] = ev.energy;
  DArray energies(std::vector<py::ssize_t>{static_cast<py::ssize_t>(n_local)});
  std::copy(ev.atom_energies.begin(), ev.atom_energies.end(), energies.mutable_data());
  d["energies"] = energies;
  DArray forces(std::vector<py::ssize_t>{static_cast<py::ssize_t>(n_nodes), 3});
  std::copy(ev.forces.begin(), ev.forces.end(), forces.mutable_data());
  d["forces"] = forces;
  DArray virial(std::vector<py::ssize_t>{3, 3});
  std::copy(ev.virial, ev.virial + 9, virial.mutable_data());
  d["virial"] = virial;
  if (atom_virial) {
    DArray av(std::vector<py::ssize_t>{static_cast<py::ssize_t>(n_nodes), 3, 3});
    std::copy(ev.atom_virial.begin(), ev.atom_virial.end(), av.mutable_data());
    d["atom_virial"] = av;
  }
  d["n_edges"] = ev.n_edges;
  d["staged"] = ev.staged;
  d["recomputed"] = ev.recomputed;
  d["blocks"] = ev.blocks;
  d["halo_doubles"] = ev.halo_doubles;
  return d;
}

}    // namespace

PYBIND11_MODULE(_engine, m)
{
  m.doc() = "umlip engine: model contract loading, neighbour search and evaluation";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const FileNotFound &e) {
      PyErr_SetString(PyExc_FileNotFoundError, e.what());
    }
  });

  // the one source of the contract version this engine implements (Python reads it here)
  m.attr("CONTRACT_VERSION") =
      std::to_string(kContractMajor) + "." + std::to_string(kContractMinor);

  py::class_<Model>(m, "Model", "A loaded umlip model file (see docs/model-contract.md).")
      .def(py::init([](const std::string &path, const std::string &device,
                       std::optional<std::string> dtype, int num_threads, bool verify_hash,
                       bool require_verified_dtype, int local_rank, int stages, int recompute,
                       int64_t recompute_min_edges, int64_t recompute_block_edges) {
             ModelOptions o;
             o.stages = stages;
             o.recompute = recompute;
             o.recompute_min_edges = recompute_min_edges;
             o.recompute_block_edges = recompute_block_edges;
             o.require_verified_dtype = require_verified_dtype;
             o.device = device;
             o.local_rank = local_rank;
             o.dtype = dtype.value_or("");
             o.num_threads = num_threads;
             o.verify_hash = verify_hash;
             py::gil_scoped_release release;
             return new Model(path, o);
           }),
           py::arg("path"), py::arg("device") = "cpu", py::arg("dtype") = py::none(),
           py::arg("num_threads") = 0, py::arg("verify_hash") = true,
           py::arg("require_verified_dtype") = true, py::arg("local_rank") = -1,
           py::arg("stages") = -1, py::arg("recompute") = -1,
           py::arg("recompute_min_edges") = ModelOptions().recompute_min_edges,
           py::arg("recompute_block_edges") = ModelOptions().recompute_block_edges)
      .def_property_readonly("layered", &Model::layered)
      .def_property_readonly("stages",
                             [](const Model &mo) {
                               py::list out;
                               for (const auto &s : mo.info().stages) {
                                 py::dict d;
                                 d["name"] = s.name;
                                 d["width"] = s.width;
                                 d["exchange"] = s.exchange;
                                 out.append(d);
                               }
                               return out;
                             })
      .def_property_readonly("path", [](const Model &mo) { return mo.info().path; })
      .def_property_readonly("name", [](const Model &mo) { return mo.info().name; })
      .def_property_readonly("family", [](const Model &mo) { return mo.info().family; })
      .def_property_readonly("family_version",
                             [](const Model &mo) { return mo.info().family_version; })
      .def_property_readonly("contract_version",
                             [](const Model &mo) { return mo.info().contract_version; })
      .def_property_readonly("atomic_numbers",
                             [](const Model &mo) { return mo.info().atomic_numbers; })
      .def_property_readonly("cutoff", [](const Model &mo) { return mo.info().cutoff; })
      .def_property_readonly("num_layers", [](const Model &mo) { return mo.info().num_layers; })
      .def_property_readonly("file_dtype", [](const Model &mo) { return mo.info().file_dtype; })
      .def_property_readonly("dtypes", [](const Model &mo) { return mo.info().dtypes; })
      .def_property_readonly("dtype", &Model::dtype)
      .def_property_readonly("device", &Model::device)
      .def_property_readonly("content_hash", [](const Model &mo) { return mo.info().content_hash; })
      .def_property_readonly("metadata_json",
                             [](const Model &mo) { return mo.info().metadata_json; })
      .def(
          "compute",
          [](Model &mo, DArray positions, ZArray numbers, DArray cell, BArray pbc,
             bool atom_virial) {
            require_shape(positions, {-1, 3}, "positions");
            const int64_t n = positions.shape(0);
            require_shape(numbers, {n}, "numbers");
            require_shape(cell, {3, 3}, "cell");
            require_shape(pbc, {3}, "pbc");
            System s;
            s.n = n;
            s.positions = positions.data();
            s.numbers = numbers.data();
            s.cell = cell.data();
            s.pbc = pbc.data();
            Evaluation ev;
            {
              py::gil_scoped_release release;
              ev = compute(mo, s, atom_virial);
            }
            return to_dict(ev, n, n, atom_virial);
          },
          py::arg("positions"), py::arg("numbers"), py::arg("cell"), py::arg("pbc"),
          py::arg("atom_virial") = false,
          "Energy [eV], per-atom energies [eV], forces [eV/Å] and virial [eV] of a system.")
      .def(
          "evaluate_graph",
          [](Model &mo, DArray positions, IArray species, IArray edge_index, DArray edge_vec,
             int64_t n_local, std::optional<DArray> cell, bool atom_virial,
             std::optional<IArray> ghost_owner) {
            require_shape(positions, {-1, 3}, "positions");
            const int64_t n = positions.shape(0);
            require_shape(species, {n}, "species");
            require_shape(edge_index, {2, -1}, "edge_index");
            const int64_t E = edge_index.shape(1);
            require_shape(edge_vec, {E, 3}, "edge_vec");
            if (cell) require_shape(*cell, {3, 3}, "cell");
            GraphInput g;
            g.n_nodes = n;
            g.n_local = n_local;
            g.positions = positions.data();
            g.species = species.data();
            g.n_edges = E;
            g.edge_i = edge_index.data();
            g.edge_j = edge_index.data() + E;
            g.edge_vec = edge_vec.data();
            g.cell = cell ? cell->data() : nullptr;
            std::unique_ptr<OwnerMapExchange> halo;
            if (ghost_owner) {
              require_shape(*ghost_owner, {n - n_local}, "ghost_owner");
              halo = std::make_unique<OwnerMapExchange>(
                  n_local, std::vector<int64_t>(ghost_owner->data(),
                                                ghost_owner->data() + (n - n_local)));
            }
            Evaluation ev;
            {
              py::gil_scoped_release release;
              ev = mo.evaluate(g, atom_virial, halo.get());
            }
            return to_dict(ev, n, n_local, atom_virial);
          },
          py::arg("positions"), py::arg("species"), py::arg("edge_index"), py::arg("edge_vec"),
          py::arg("n_local"), py::arg("cell") = py::none(), py::arg("atom_virial") = false,
          py::arg("ghost_owner") = py::none(),
          "Evaluate on an explicit graph (nodes n_local.. are ghosts that only carry messages). "
          "With ghost_owner (the owned node each ghost copies), a layered file runs stage by "
          "stage with the ghost rows exchanged between stages, as LAMMPS ghost layer does.")
      .def("species_of", [](const Model &mo, int z) { return mo.species_of(z); });

  m.def(
      "force_deviation",
      [](DArray forces) {
        require_shape(forces, {-1, -1, 3}, "forces");
        const int64_t n = forces.shape(0);
        const int K = static_cast<int>(forces.shape(1));
        if (K < 1) throw std::invalid_argument("forces must hold at least one model");
        DArray sigma(std::vector<py::ssize_t>{static_cast<py::ssize_t>(n)});
        force_deviation(forces.data(), n, K, sigma.mutable_data());
        return sigma;
      },
      py::arg("forces"),
      "Per-atom force deviation of a committee: forces (atoms, models, 3) -> (atoms,), "
      "sqrt(mean over models of |F - mean F|^2).");
  m.def(
      "virial_deviation",
      [](DArray virials, double natoms) {
        require_shape(virials, {-1, 3, 3}, "virials");
        const int K = static_cast<int>(virials.shape(0));
        if (K < 1) throw std::invalid_argument("virials must hold at least one model");
        double hi, lo, rms;
        virial_deviation(virials.data(), K, natoms, &hi, &lo, &rms);
        return py::make_tuple(hi, lo, rms);
      },
      py::arg("virials"), py::arg("natoms"),
      "(max, min, rms) over the 9 components of the committee standard deviation of the "
      "virial (models, 3, 3) divided by natoms.");
  m.def(
      "committee_std",
      [](DArray values) {
        require_shape(values, {-1}, "values");
        if (values.shape(0) < 1) throw std::invalid_argument("values must not be empty");
        return committee_std(values.data(), static_cast<int>(values.shape(0)));
      },
      py::arg("values"), "Population standard deviation of one value over the models.");

  m.def(
      "neighbor_list",
      [](DArray positions, DArray cell, BArray pbc, double cutoff) {
        require_shape(positions, {-1, 3}, "positions");
        require_shape(cell, {3, 3}, "cell");
        require_shape(pbc, {3}, "pbc");
        NeighborList nl;
        {
          py::gil_scoped_release release;
          nl = neighbor_list(positions.data(), positions.shape(0), cell.data(), pbc.data(), cutoff);
        }
        const auto E = static_cast<py::ssize_t>(nl.size());
        IArray i(std::vector<py::ssize_t>{E}), j(std::vector<py::ssize_t>{E});
        py::array_t<int32_t> S(std::vector<py::ssize_t>{E, 3});
        std::copy(nl.i.begin(), nl.i.end(), i.mutable_data());
        std::copy(nl.j.begin(), nl.j.end(), j.mutable_data());
        std::copy(nl.shift.begin(), nl.shift.end(), S.mutable_data());
        return py::make_tuple(i, j, S);
      },
      py::arg("positions"), py::arg("cell"), py::arg("pbc"), py::arg("cutoff"),
      "Full neighbour list (i, j, S) with r_ij = x_j - x_i + S @ cell, as ase's 'ijS'.");

  py::class_<GhostGraph>(m, "GhostGraph",
                         "The graph of atoms given with explicit ghost atoms (a LAMMPS "
                         "subdomain): self-image ghosts folded onto owned atoms, foreign ghosts "
                         "as nodes, candidate pairs within cutoff + skin, receptive-field pruning.")
      .def(py::init<double, double, int>(), py::arg("cutoff"), py::arg("skin"),
           py::arg("num_layers"))
      .def(
          "rebuild",
          [](GhostGraph &g, DArray positions, IArray ids, int64_t n_local) {
            require_shape(positions, {-1, 3}, "positions");
            const int64_t n = positions.shape(0);
            require_shape(ids, {n}, "ids");
            py::gil_scoped_release release;
            g.rebuild(positions.data(), ids.data(), n_local, n);
          },
          py::arg("positions"), py::arg("ids"), py::arg("n_local"),
          "New atoms: positions (N, 3), atom IDs (N,), the first n_local owned.")
      .def(
          "update",
          [](GhostGraph &g, DArray positions, bool prune) {
            require_shape(positions, {g.n_all(), 3}, "positions");
            py::gil_scoped_release release;
            g.update(positions.data(), prune);
          },
          py::arg("positions"), py::arg("prune") = true,
          "The graph at these positions (same atoms as at rebuild, moved < skin/2).")
      .def_property_readonly("n_local", &GhostGraph::n_local)
      .def_property_readonly("n_all", &GhostGraph::n_all)
      .def_property_readonly("n_foreign", &GhostGraph::n_foreign)
      .def_property_readonly("n_candidates",
                             [](const GhostGraph &g) { return g.candidates().size(); })
      .def_property_readonly("node_atoms",
                             [](const GhostGraph &g) {
                               const auto &a = g.node_atoms();
                               IArray out(std::vector<py::ssize_t>{
                                   static_cast<py::ssize_t>(a.size())});
                               std::copy(a.begin(), a.end(), out.mutable_data());
                               return out;
                             })
      .def_property_readonly("edge_index",
                             [](const GhostGraph &g) {
                               const EdgeSet &e = g.edges();
                               const auto E = static_cast<py::ssize_t>(e.size());
                               IArray out(std::vector<py::ssize_t>{2, E});
                               std::copy(e.i.begin(), e.i.end(), out.mutable_data());
                               std::copy(e.j.begin(), e.j.end(), out.mutable_data() + E);
                               return out;
                             })
      .def_property_readonly("edge_vec", [](const GhostGraph &g) {
        const EdgeSet &e = g.edges();
        DArray out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(e.size()), 3});
        std::copy(e.vec.begin(), e.vec.end(), out.mutable_data());
        return out;
      });

  m.def(
      "content_hash",
      [](const std::string &path, const std::vector<int> &atomic_numbers, double cutoff,
         int num_layers, const std::string &dtype, const std::vector<std::string> &dtypes) {
        py::gil_scoped_release release;
        return content_hash(path, atomic_numbers, cutoff, num_layers, dtype, dtypes);
      },
      py::arg("path"), py::arg("atomic_numbers"), py::arg("cutoff"), py::arg("num_layers"),
      py::arg("dtype"), py::arg("dtypes"),
      "Model-contract content hash of a TorchScript file with the given metadata fields.");
  m.def("set_num_threads", &set_num_threads, py::arg("n"));
  m.def("get_num_threads", &get_num_threads);
  m.def("build_info", &build_info);
  m.def("element_symbol", &element_symbol, py::arg("z"));
  m.def("atomic_number", &atomic_number, py::arg("symbol"));
}
