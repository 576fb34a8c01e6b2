// How the public ops of ops.h choose between their scalar references and their
// Highway vector paths (private to the CPU backend).
#pragma once

namespace hearth::cpu::detail {

// True when the public ops must run their ref:: versions: HEARTH_ISA=scalar, or
// set_ops_path("ref"). The first call also caps Highway's targets at HEARTH_ISA.
bool use_ref_ops();

}  // namespace hearth::cpu::detail
