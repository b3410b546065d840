#!/usr/bin/env bash
# The GPU figures in one command, for a machine with a GPU and a Vulkan (or Metal/DX12) driver:
# builds with the `wgpu` feature, runs the wgpu test suite, then prints
#   - the side-by-side table of `examples/layer_costs` with the layer on wgpu (the fast path,
#     column (a), stays on the CPU), and
#   - the cost of one training step of the hybrid model with the linear and WRN heads on wgpu.
#
#   benches/gpu.sh                 # REPEATS=10 BATCH=128 by default
#   REPEATS=20 BATCH=256 benches/gpu.sh
#
# A cold build compiles the GPU compiler stack (about 40 minutes on 2 cores, a few on 16).
#
# On a GPU machine without Rust or without crates.io, build the three programs elsewhere (same
# architecture) and point GPU_BIN at them; the script then runs them as they are:
#
#   cargo build --release --features full,wgpu --example layer_costs --example train_step
#   cargo test --release --features full,wgpu --test burn_wgpu --no-run   # prints the test binary
#   mkdir gpu-bin && cp target/release/examples/{layer_costs,train_step} gpu-bin/ \
#       && cp target/release/deps/burn_wgpu-<hash> gpu-bin/burn_wgpu
#   GPU_BIN=gpu-bin benches/gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
REPEATS="${REPEATS:-10}"
BATCH="${BATCH:-128}"

echo "=== machine"
(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true) 2>/dev/null
echo "CPU cores: $(nproc)"
# wgpu opens the Vulkan loader at run time: without it every wgpu run fails with "no adapter".
has_vulkan_loader() {
    ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' && return 0
    local dir dirs
    IFS=: read -ra dirs <<<"${LD_LIBRARY_PATH:-}"
    for dir in "${dirs[@]}"; do [ -e "$dir/libvulkan.so.1" ] && return 0; done
    return 1
}
if ! has_vulkan_loader; then
    echo "warning: no Vulkan loader (libvulkan.so.1) found: install libvulkan1, or put a copy in a"
    echo "folder named by LD_LIBRARY_PATH; VK_LOADER_DEBUG=error shows why a driver is refused"
fi

if [ -n "${GPU_BIN:-}" ]; then
    bin="$GPU_BIN"
    echo "=== prebuilt binaries in $bin"
    echo "=== wgpu test suite"
    "$bin/burn_wgpu" --nocapture
else
    bin="$CARGO_TARGET_DIR/release/examples"
    rustc --version
    echo "=== build (release, features wgpu)"
    cargo build --release --features full,wgpu --example layer_costs --example train_step
    echo "=== wgpu test suite"
    cargo test --release --features full,wgpu --test burn_wgpu -- --nocapture
fi

echo "=== layer costs: CPU fast path (a) against the layer on wgpu (b, c, d)"
"$bin/layer_costs" --device wgpu --batch "$BATCH" --repeats "$REPEATS"

echo "=== the same on the CPU (flex), for comparison"
"$bin/layer_costs" --device flex --batch "$BATCH" --repeats "$REPEATS"

echo "=== one training step of the hybrid model on wgpu (1x28x28, J=2, L=8)"
"$bin/train_step" --device wgpu --batch "$BATCH" --channels 1 --size 28 --step-only \
    --head linear,wrn --steps "$REPEATS"
