// Chemical element symbols <-> atomic numbers: the one table both front doors use.
#pragma once

#include <string>

namespace umlip {

// Symbol of element z ("Cu" for 29); "Z=<z>" outside 1..max_atomic_number().
std::string element_symbol(int z);

// Atomic number of a symbol ("Cu" -> 29); throws std::invalid_argument for an unknown symbol.
int atomic_number(const std::string &symbol);

int max_atomic_number();

}    // namespace umlip
