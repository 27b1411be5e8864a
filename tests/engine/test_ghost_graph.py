"""umlip.engine.GhostGraph (the graph of atoms given with explicit ghost atoms, as LAMMPS gives
them) against independent references built in numpy, without any model:

- one subdomain holding the whole periodic system, its ghost atoms the explicit periodic images
  within cutoff + skin: the folded graph is the periodic neighbour list
  (umlip.engine.neighbor_list, itself tested against ASE), edge by edge and vector by vector;
- half the system owned, the other half foreign ghosts (a second MPI rank): every owned atom
  lists exactly its periodic neighbours, and pruning keeps exactly the nodes within num_layers
  message hops of an owned atom (a breadth-first search in numpy) and drops the edges into
  nodes num_layers hops away;
- candidate reuse: after moves smaller than skin / 2 the graph equals a fresh build.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from umlip import engine

TOL = 1e-12    # Å: edge vectors are differences of the same float64 numbers


def random_system(seed, n, cell, min_dist=1.0):
    """n atoms at random in a periodic cell (rows = lattice vectors), no two closer than
    min_dist through any image; positions wrapped into the cell."""
    rng = np.random.default_rng(seed)
    frac = []
    while len(frac) < n:
        f = rng.random(3)
        if all(np.linalg.norm(((f - g + 0.5) % 1.0 - 0.5) @ cell) > min_dist for g in frac):
            frac.append(f)
    return np.array(frac) @ cell


def subdomain(pos, cell, lo, hi, shell):
    """What LAMMPS gives one rank: the atoms whose fractional coordinates lie in [lo, hi)
    (owned, in index order), then as ghosts every periodic image and every other atom whose
    fractional coordinates lie within `shell` (perpendicular distance) of that box.
    Returns positions, atom IDs (index + 1), n_local, and (atom index, image S) per ghost."""
    inv = np.linalg.inv(cell)
    frac = pos @ inv
    vol = abs(np.linalg.det(cell))
    heights = np.array([vol / np.linalg.norm(np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3]))
                        for k in range(3)])
    margin = shell / heights
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    owned = np.all((frac >= lo) & (frac < hi), axis=1)
    local = np.flatnonzero(owned)
    reach = [range(-int(np.ceil(m)) - 1, int(np.ceil(m)) + 2) for m in margin]
    ghosts = []
    for S in itertools.product(*reach):
        f = frac + np.array(S, float)
        inside = np.all((f >= lo - margin) & (f < hi + margin), axis=1)
        for a in np.flatnonzero(inside):
            if S == (0, 0, 0) and owned[a]:
                continue
            ghosts.append((int(a), np.array(S)))
    x = np.vstack([pos[local]] + [pos[a] + S @ cell for a, S in ghosts]) if ghosts else pos[local]
    ids = np.concatenate([local + 1, np.array([a + 1 for a, _ in ghosts], dtype=np.int64)])
    return x, ids.astype(np.int64), len(local), ghosts


def image_keys(i_atoms, j_atoms, vec, pos, cell):
    """(i, j, S) of each edge, S the integer image with vec = pos[j] - pos[i] + S @ cell;
    also the largest deviation of S from an integer (0 if every vector is a periodic one)."""
    s = (vec - (pos[j_atoms] - pos[i_atoms])) @ np.linalg.inv(cell)
    S = np.rint(s).astype(int)
    keys = [(int(a), int(b), tuple(t)) for a, b, t in zip(i_atoms, j_atoms, S.tolist())]
    return keys, float(np.max(np.abs(s - S), initial=0.0))


def reference_edges(pos, cell, cutoff):
    i, j, S = engine.neighbor_list(pos, cell, np.array([True] * 3), cutoff)
    vec = pos[j] - pos[i] + S @ cell
    return {(int(a), int(b), tuple(t)): v for a, b, t, v in zip(i, j, S.tolist(), vec)}


CELLS = {
    "triclinic": np.array([[7.3, 0.0, 0.0], [1.9, 6.8, 0.0], [-1.1, 1.3, 7.6]]),
    "thinner than cutoff": np.array([[2.9, 0.0, 0.0], [0.7, 3.1, 0.0], [0.4, -0.6, 3.3]]),
}


@pytest.mark.parametrize("name", list(CELLS))
def test_one_subdomain_is_the_periodic_graph(name):
    cell = CELLS[name]
    cutoff, skin = 3.1, 0.6
    n = 40 if name == "triclinic" else 2
    pos = random_system(11, n, cell)
    x, ids, n_local, ghosts = subdomain(pos, cell, (0, 0, 0), (1, 1, 1), cutoff + skin)
    assert n_local == n and len(ghosts) > n
    g = engine.GhostGraph(cutoff, skin, 3)
    g.rebuild(x, ids, n_local)
    g.update(x, prune=True)
    assert g.n_foreign == 0    # every ghost is an image of an owned atom: all folded
    assert np.array_equal(g.node_atoms, np.arange(n))
    ei, vec = g.edge_index, g.edge_vec
    keys, off = image_keys(ei[0], ei[1], vec, pos, cell)
    ref = reference_edges(pos, cell, cutoff)
    assert off < 1e-9, f"an edge vector is not a periodic image vector (off by {off})"
    assert len(set(keys)) == len(keys), "duplicate edges"
    assert set(keys) == set(ref), (f"{len(set(keys) - set(ref))} extra, "
                                   f"{len(set(ref) - set(keys))} missing edges")
    err = max(np.max(np.abs(v - ref[k])) for k, v in zip(keys, vec))
    assert err <= TOL, f"edge vectors differ by up to {err:.3e} Å"


def hops_to_local(n_nodes, n_local, edge_index, num_layers):
    """Message hops from each node to the nearest owned node (edge (i, j): i receives from j,
    so a message path runs backwards from a receiver to its senders); num_layers + 1 = far."""
    far = num_layers + 1
    hop = np.full(n_nodes, far)
    hop[:n_local] = 0
    frontier = list(range(n_local))
    senders = [[] for _ in range(n_nodes)]
    for i, j in zip(*edge_index):
        senders[i].append(j)
    for h in range(1, num_layers + 1):
        nxt = []
        for a in frontier:
            for b in senders[a]:
                if hop[b] == far:
                    hop[b] = h
                    nxt.append(b)
        frontier = nxt
    return hop


@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_foreign_ghosts_and_pruning(num_layers):
    cell = np.array([[11.0, 0.0, 0.0], [0.8, 9.5, 0.0], [-0.6, 0.9, 9.0]])
    cutoff, skin = 2.7, 0.4
    pos = random_system(5, 70, cell, min_dist=1.3)
    x, ids, n_local, ghosts = subdomain(pos, cell, (0, 0, 0), (0.5, 1, 1),
                                        num_layers * cutoff + skin)
    owned = ids[:n_local] - 1
    g = engine.GhostGraph(cutoff, skin, num_layers)
    g.rebuild(x, ids, n_local)
    assert g.n_foreign > 0

    # unpruned: every owned atom receives from exactly its periodic neighbours
    g.update(x, prune=False)
    nodes = g.node_atoms
    assert np.array_equal(nodes[:n_local], np.arange(n_local))
    ei, vec = g.edge_index, g.edge_vec
    atom_i, atom_j = ids[nodes[ei[0]]] - 1, ids[nodes[ei[1]]] - 1
    keys, off = image_keys(atom_i, atom_j, vec, pos, cell)
    assert off < 1e-9, f"an edge vector is not a periodic image vector (off by {off})"
    ref = reference_edges(pos, cell, cutoff)
    owned_set = set(owned.tolist())
    ours = {}
    for k, v, i_node in zip(keys, vec, ei[0]):
        if i_node < n_local:
            ours.setdefault(k, []).append(v)
    want = {k: v for k, v in ref.items() if k[0] in owned_set}
    assert set(ours) == set(want), (f"{len(set(ours) - set(want))} extra, "
                                    f"{len(set(want) - set(ours))} missing edges of owned atoms")
    assert all(len(v) == 1 for v in ours.values()), "an owned atom lists a neighbour twice"
    err = max(np.max(np.abs(ours[k][0] - want[k])) for k in want)
    assert err <= TOL, f"edge vectors differ by up to {err:.3e} Å"

    # pruned: exactly the nodes within num_layers hops, and no edges into nodes num_layers away
    hop = hops_to_local(len(nodes), n_local, ei, num_layers)
    keep = np.flatnonzero(hop <= num_layers)
    keep_edge = hop[ei[0]] < num_layers
    assert len(keep) < len(nodes) and not keep_edge.all(), "nothing to prune: weak test"
    g.update(x, prune=True)
    assert np.array_equal(g.node_atoms, nodes[keep]), "kept nodes differ from the BFS"
    pi, pvec = g.edge_index, g.edge_vec
    got = sorted(zip(g.node_atoms[pi[0]].tolist(), g.node_atoms[pi[1]].tolist(),
                     np.round(pvec, 9).tolist()))
    exp = sorted(zip(nodes[ei[0][keep_edge]].tolist(), nodes[ei[1][keep_edge]].tolist(),
                     np.round(vec[keep_edge], 9).tolist()))
    assert got == exp, f"{len(got)} pruned edges, {len(exp)} expected"
    assert len(pi[0]) < len(ei[0])


def test_candidates_reused_after_small_moves():
    cell = CELLS["triclinic"]
    cutoff, skin = 3.1, 1.0
    pos0 = random_system(3, 40, cell, min_dist=1.6)
    x0, ids, n_local, ghosts = subdomain(pos0, cell, (0, 0, 0), (0.5, 1, 1), 2 * cutoff + skin)
    rng = np.random.default_rng(4)
    d = rng.normal(size=pos0.shape)
    d *= (0.49 * skin / 2) * rng.random((len(d), 1)) / np.linalg.norm(d, axis=1)[:, None]
    pos1 = pos0 + d
    # the same atoms in the same order, moved: owned atoms and every ghost copy alike
    x1 = np.vstack([pos1[ids[:n_local] - 1]] + [pos1[a] + S @ cell for a, S in ghosts])

    reused = engine.GhostGraph(cutoff, skin, 2)
    reused.rebuild(x0, ids, n_local)
    reused.update(x0)
    before = set(map(tuple, reused.edge_index.T.tolist()))
    reused.update(x1)
    fresh = engine.GhostGraph(cutoff, skin, 2)
    fresh.rebuild(x1, ids, n_local)
    fresh.update(x1)
    after = set(map(tuple, fresh.edge_index.T.tolist()))
    assert before != after, "no edge crossed the cutoff: weak test"
    assert np.array_equal(reused.node_atoms, fresh.node_atoms)
    a = sorted(zip(*reused.edge_index.tolist(), np.round(reused.edge_vec, 12).tolist()))
    b = sorted(zip(*fresh.edge_index.tolist(), np.round(fresh.edge_vec, 12).tolist()))
    assert a == b, f"{len(a)} edges reused, {len(b)} from a fresh build"


def test_no_owned_atoms_and_no_atoms():
    g = engine.GhostGraph(3.0, 0.5, 2)
    x = np.array([[0.0, 0, 0], [1.5, 0, 0]])
    g.rebuild(x, np.array([7, 8]), 0)     # a rank that owns nothing but sees ghosts
    g.update(x)
    assert g.n_foreign == 2 and len(g.node_atoms) == 0 and g.edge_index.shape == (2, 0)
    g.rebuild(np.zeros((0, 3)), np.zeros(0, dtype=np.int64), 0)
    g.update(np.zeros((0, 3)))
    assert len(g.node_atoms) == 0


@pytest.mark.parametrize("bad,match", [
    (dict(duplicate=True), "atoms 3 and 9 are at the same position"),
    (dict(n_local=5), "n_local must be between 0 and the number of atoms"),
    (dict(ids_shape=True), "ids must have shape"),
])
def test_bad_input(bad, match):
    x = np.array([[0.0, 0, 0], [1.5, 0, 0], [0, 2.0, 0]])
    ids = np.array([3, 5, 9])
    if bad.get("duplicate"):
        x[2] = x[0]
    if bad.get("ids_shape"):
        ids = ids[:2]
    g = engine.GhostGraph(3.0, 0.5, 2)
    with pytest.raises(ValueError, match=match):
        g.rebuild(x, ids, bad.get("n_local", 2))


def test_update_checks_the_atom_count():
    g = engine.GhostGraph(3.0, 0.5, 2)
    g.rebuild(np.zeros((2, 3)) + [[0, 0, 0], [1, 0, 0]], np.array([1, 2]), 2)
    with pytest.raises(ValueError, match=r"positions must have shape \(2, 3\)"):
        g.update(np.zeros((3, 3)))
