#!/usr/bin/env bash
# Regenerates Sources/OutpostWire/Generated from Schemas/proto/sovereign/v1/sovereign.proto.
#
# Needs Debian's protobuf-compiler (protoc) and protoc-gen-swift from swift-protobuf 1.39.0.
# Building the plugin takes about ten minutes on two cores, which is why the output is committed.
# Set PROTOC_GEN_SWIFT to an already built plugin to skip the build.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v protoc >/dev/null || { echo "install protoc: apt-get install -y protobuf-compiler" >&2; exit 1; }
plugin="${PROTOC_GEN_SWIFT:-}"
if [ -z "$plugin" ]; then
  swift package resolve
  swift build -c release --package-path .build/checkouts/swift-protobuf --product protoc-gen-swift
  plugin=".build/checkouts/swift-protobuf/.build/release/protoc-gen-swift"
fi

proto=Schemas/proto/sovereign/v1/sovereign.proto
out=Sources/OutpostWire/Generated
rm -rf "$out"
mkdir -p "$out"
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public --swift_out="$out" -I Schemas/proto "$proto"
# The stamp ties the generated code to the exact schema it came from; a test compares them.
sha256sum "$proto" | cut -d' ' -f1 > "$out/sovereign.proto.sha256"
echo "Generated $out from $proto"
