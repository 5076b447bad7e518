#!/usr/bin/env bash
# Installs the Debian packages Outpost needs when they are missing:
#   libsqlcipher-dev  SQLCipher (never the plain libsqlite3: same symbols)
#   libsodium-dev     libsodium
#   sqlcipher         the stock command-line tool, used by a test that opens a partition with it
set -euo pipefail
packages=(libsqlcipher-dev libsodium-dev sqlcipher)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
  echo "Outpost needs: ${missing[*]}. Install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
