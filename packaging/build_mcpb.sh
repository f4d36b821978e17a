#!/usr/bin/env bash
# Builds the Claude Desktop extension bundle: dist/customer-success-mcp-<version>.mcpb
#
#   packaging/build_mcpb.sh [OUT_DIR]
#
# The bundle holds the project's source and pyproject.toml; Claude Desktop runs it with uv ("server.type":
# "uv"), which installs Python and the dependencies on the user's machine. The install dialog asks for the
# workspace folder (passed on as CS_MCP_DATA). Needs node/npm: the @anthropic-ai/mcpb CLI is installed into
# packaging/.mcpb-cli on first use.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
out="${1:-$root/dist}"
mcpb_version="2.1.2"
cli="$here/.mcpb-cli/node_modules/.bin/mcpb"

if [[ ! -x "$cli" ]]; then
  npm install --silent --no-audit --no-fund --prefix "$here/.mcpb-cli" "@anthropic-ai/mcpb@$mcpb_version" >&2
fi

version="$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' \
  "$root/pyproject.toml")"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

# What uv needs to build and run the package, nothing else (no tests, benchmarks, caches or venvs).
cp "$root/pyproject.toml" "$root/README.md" "$stage/"
mkdir -p "$stage/src"
(cd "$root/src" && find cs_mcp -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 \
  | xargs -0 -I{} install -D -m 0644 {} "$stage/src/{}")
cp "$root/src/cs_mcp/assets/icon-512.png" "$stage/icon.png"
python3 - "$here/manifest.json" "$stage/manifest.json" "$version" <<'PY'
import json, sys
manifest = json.load(open(sys.argv[1]))
manifest["version"] = sys.argv[3]
json.dump(manifest, open(sys.argv[2], "w"), indent=2)
PY

"$cli" validate "$stage/manifest.json" >&2
mkdir -p "$out"
bundle="$out/customer-success-mcp-$version.mcpb"
"$cli" pack "$stage" "$bundle" >&2
echo "$bundle"
