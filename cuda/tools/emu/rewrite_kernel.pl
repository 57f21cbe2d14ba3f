#!/usr/bin/perl -0p
# The only rewrite of cuda/kernels/*.cu for the CPU emulation (emulate_kernels.sh and
# emulate_backend.sh run it as `perl -0p rewrite_kernel.pl KERNEL.cu`):
#   `kernel<<<cfg>>>(args)` becomes `emu::launch(kernel, emu::Cfg{cfg}, args)`, and
#   each `__shared__ T name[...];` is followed by `emu::note_shared(&name, sizeof name);`, so the
#   emulation can poison the block's shared memory before every block (emu/cuda_runtime.h);
#   `reinterpret_cast<T>(` and `static_cast<T*>(` become emu::aligned_reinterpret_cast /
#   aligned_static_cast, which check that a pointer is aligned for the type it is cast to.
s/(\w+(?:<[^<>]*>)?)<<<(.*?)>>>\(/emu::launch($1, emu::Cfg{$2}, /gs;
s/(__shared__\s+(?:__align__\(\d+\)\s+)?[\w:]+(?:<[^<>;]*>)?\s+(\w+)\s*(?:\[[^\];]*\]\s*)*;)/$1 emu::note_shared(&$2, sizeof $2);/g;
s/\breinterpret_cast</emu::aligned_reinterpret_cast</g;
s/\bstatic_cast<([^<>;]*\*)>\(/emu::aligned_static_cast<$1>(/g;
