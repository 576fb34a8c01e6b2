#!/usr/bin/env bash
# Quick start: set everything up, then ask the default model one question.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec build/bin/hearth run --chat -n 96 -p "${1:-In two sentences, why is the sky blue?}"
