#!/usr/bin/env bash
# Installs the Debian packages deltagen builds against and tests with.
# Swift itself (a 6.x toolchain on PATH) is not installed here; everything else is.
set -euo pipefail
packages=(
  ostree libostree-dev libglib2.0-dev liblzma-dev libdivsufsort-dev pkg-config  # build, stock CLI
  attr openssl python3 python3-yaml util-linux diffutils      # test repos, HTTP server, setpriv, workflow check
  libarchive-dev libcurl4                                     # ci-job: repo tarballs, FoundationNetworking
  tar bzip2 xz-utils                                          # tests: repo tarballs, the xz bomb
  time bc curl                                                # Scripts/bench.sh, pull-bytes.sh
  debootstrap                                                 # the trixie root of the current-client tests
)
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${packages[@]}" >/dev/null
