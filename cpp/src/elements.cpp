#include "umlip/elements.hpp"

#include <stdexcept>

namespace umlip {

namespace {
// Index = atomic number; index 0 is the placeholder "X" (no element).
const char *const kSymbols[] = {
    "X", "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na",
    "Mg", "Al", "Si", "P", "S", "Cl", "Ar", "K", "Ca", "Sc", "Ti", "V",
    "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As", "Se", "Br",
    "Kr", "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag",
    "Cd", "In", "Sn", "Sb", "Te", "I", "Xe", "Cs", "Ba", "La", "Ce", "Pr",
    "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu",
    "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi",
    "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U", "Np", "Pu", "Am",
    "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db", "Sg", "Bh",
    "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og",
};
constexpr int kNumSymbols = static_cast<int>(sizeof(kSymbols) / sizeof(kSymbols[0]));
}    // namespace

int max_atomic_number() { return kNumSymbols - 1; }

std::string element_symbol(int z)
{
  if (z < 1 || z >= kNumSymbols) return "Z=" + std::to_string(z);
  return kSymbols[z];
}

int atomic_number(const std::string &symbol)
{
  for (int z = 1; z < kNumSymbols; ++z)
    if (symbol == kSymbols[z]) return z;
  throw std::invalid_argument("unknown chemical element '" + symbol +
                              "' (use a symbol such as Cu, H, O with the usual capitalisation)");
}

}    // namespace umlip
