#!/usr/bin/env bash
# The GPU figures in one command, for a machine with a GPU and a Vulkan (or Metal/DX12) driver:
# builds with the `wgpu` feature, runs the wgpu test suites (the layer against kymatio and finite
# differences, the device executor's FFT, cascade and spectra against the host, training and
# checkpoints moved between wgpu and flex; each prints its adapter and its launch counts), then
# prints
#   - the side-by-side table of `examples/layer_costs` with the layer on wgpu (the fixed
#     transform, column (a), stays on the CPU), and the same table on flex for comparison,
#   - the peak GPU memory of the learnable step per case (nvidia-smi),
#   - the cost of one training step of the hybrid model with the linear and WRN heads on wgpu, and
#   - kymatio 0.3.0's torch frontend on the same GPU (benches/kymatio_torch_gpu.py).
#
#   benches/gpu.sh                 # REPEATS=10 BATCH=128 by default
#   REPEATS=20 BATCH=256 benches/gpu.sh
#
# A cold build compiles the GPU compiler stack (about 40 minutes on 2 cores, a few on 16).
#
# On a GPU machine without Rust or without crates.io, build the programs elsewhere (same
# architecture) and point GPU_BIN at them; the script then runs them as they are:
#
#   cargo build --release --features full,wgpu --example layer_costs --example train_step
#   cargo test --release --features full,wgpu --no-run --test burn_wgpu --test gpu_fft \
#       --test gpu_cascade --test gpu_spectra --test gpu_training   # prints the test binaries
#   mkdir gpu-bin && cp target/release/examples/{layer_costs,train_step} gpu-bin/
#   cp target/release/deps/burn_wgpu-<hash> gpu-bin/burn_wgpu       # and likewise gpu_fft, ...
#   GPU_BIN=gpu-bin benches/gpu.sh
#
# A machine without the Vulkan loader (a container with only the NVIDIA driver): fetch Debian's
# loader and GL dispatch packages on a machine with apt, carry them over, and unpack them first:
#
#   apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2  # elsewhere
#   for deb in vulkan-debs/*.deb; do dpkg -x "$deb" /; done && ldconfig                # here
#
# If the loader then finds no driver, name NVIDIA's ICD file (the script does so when it exists):
#   VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
REPEATS="${REPEATS:-10}"
BATCH="${BATCH:-128}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

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
    echo "warning: no Vulkan loader (libvulkan.so.1) found: install libvulkan1 (see the header of"
    echo "this script), or put a copy in a folder named by LD_LIBRARY_PATH; VK_LOADER_DEBUG=error"
    echo "shows why a driver is refused"
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -e "$nvidia_icd" ]; then
    export VK_DRIVER_FILES="$nvidia_icd"
fi

suites=(burn_wgpu gpu_fft gpu_cascade gpu_spectra gpu_training)
if [ -n "${GPU_BIN:-}" ]; then
    bin="$GPU_BIN"
    echo "=== prebuilt binaries in $bin"
    for suite in "${suites[@]}"; do
        echo "=== wgpu suite: $suite"
        "$bin/$suite" --nocapture
    done
else
    bin="$CARGO_TARGET_DIR/release/examples"
    rustc --version
    echo "=== build (release, features full,wgpu)"
    cargo build --release --features full,wgpu --example layer_costs --example train_step
    echo "=== wgpu suites: ${suites[*]}"
    cargo test --release --features full,wgpu $(printf -- '--test %s ' "${suites[@]}") -- --nocapture
fi

echo "=== layer costs: CPU fixed transform (a) against the layer on wgpu (b, c, d)"
"$bin/layer_costs" --device wgpu --batch "$BATCH" --repeats "$REPEATS"

# Peak GPU memory of the learnable step, case by case: nvidia-smi's memory.used of the whole
# device, sampled every 100 ms while one process runs only that case's mode (c), minus the
# reading before it starts.
if command -v nvidia-smi >/dev/null 2>&1; then
    echo "=== peak GPU memory of the learnable step (c), per case (nvidia-smi memory.used, 100 ms samples, minus idle)"
    for case in 1x28x28 3x32x32 1x64x64 1x128x128; do
        idle=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -n 1)
        samples=$(mktemp)
        nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 >"$samples" &
        sampler=$!
        "$bin/layer_costs" --device wgpu --batch "$BATCH" --repeats "$REPEATS" --case "$case" \
            --mode c >/dev/null
        kill "$sampler"
        peak=$(sort -n "$samples" | tail -n 1)
        echo "$case: peak $peak MiB, idle $idle MiB, learnable step $((peak - idle)) MiB"
        rm -f "$samples"
    done
fi

echo "=== the same on the CPU (flex), for comparison"
"$bin/layer_costs" --device flex --batch "$BATCH" --repeats "$REPEATS"

echo "=== one training step of the hybrid model on wgpu (1x28x28, J=2, L=8)"
"$bin/train_step" --device wgpu --batch "$BATCH" --channels 1 --size 28 --step-only \
    --head linear,wrn --steps "$REPEATS"

# kymatio 0.3.0's torch frontend on the same GPU (its fixed forward, the reference for (b)).
# Needs torch with CUDA and kymatio: on a machine without network, carry the wheels
# (`pip download --no-deps -d wheels kymatio==0.3.0 appdirs configparser`) and set
# KYMATIO_WHEELS=wheels; they are installed into a temporary folder, nothing else is touched.
PYTHON="${PYTHON:-python3}"
if [ -n "${KYMATIO_WHEELS:-}" ] && ! "$PYTHON" -c "import kymatio" 2>/dev/null; then
    site=$(mktemp -d)
    "$PYTHON" -m pip install --quiet --no-index --no-deps --target "$site" "$KYMATIO_WHEELS"/*.whl
    export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
if "$PYTHON" -c "import torch, kymatio; assert torch.cuda.is_available()" 2>/dev/null; then
    echo "=== kymatio 0.3.0's torch frontend on CUDA (fixed forward, batch $BATCH)"
    "$PYTHON" benches/kymatio_torch_gpu.py --device cuda --batch "$BATCH" --repeats "$REPEATS"
else
    echo "=== kymatio's torch frontend: skipped (needs torch with CUDA and kymatio 0.3.0; see above)"
fi
