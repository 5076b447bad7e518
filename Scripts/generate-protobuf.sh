#!/usr/bin/env bash
# Regenerates Sources/OutpostWire/Generated from Schemas/proto/sovereign/v1/sovereign.proto and
# writes the stamp (the schema's SHA-256) that OutpostWireTests compares with the schema.
#
# Needs Debian's protobuf-compiler (protoc) and protoc-gen-swift from swift-protobuf 1.39.0, the
# version Package.swift pins. Building the plugin takes about ten minutes on two cores, which is
# why the output is committed. Set PROTOC_GEN_SWIFT to an already built plugin to skip the build.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v protoc >/dev/null || { echo "install protoc: apt-get install -y protobuf-compiler" >&2; exit 1; }
plugin="${PROTOC_GEN_SWIFT:-}"
if [ -z "$plugin" ]; then
  checkout=.build/checkouts/swift-protobuf
  [ -d "$checkout" ] || swift package resolve
  swift build -c release --package-path "$checkout" --product protoc-gen-swift
  plugin="$checkout/.build/release/protoc-gen-swift"
fi
[ -x "$plugin" ] || { echo "not an executable plugin: $plugin" >&2; exit 1; }

proto=Schemas/proto/sovereign/v1/sovereign.proto
out=Sources/OutpostWire/Generated
rm -rf "$out"
mkdir -p "$out"
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public --swift_out="$out" -I Schemas/proto "$proto"
# The stamp ties the generated code to the exact schema it came from.
sha256sum "$proto" | cut -d' ' -f1 > "$out/sovereign.proto.sha256"
echo "Generated $out from $proto"
