# Sourced by ./build, ./test and ./run. Installs the Debian packages the product and its tests
# need, only when one is missing (idempotent; needs root, as on CI and dev machines here).

# Packages the server needs at run time (runc machines, OpenSSH, ext4 images).
DEDALUS_RUNTIME_PACKAGES=(openssh-client openssh-server runc tini debootstrap e2fsprogs util-linux mount iproute2 rsync)
# Toolchain for the NativeAOT build of the CLI.
DEDALUS_BUILD_PACKAGES=(clang zlib1g-dev)
# Extra packages the tests use as oracles or peers.
DEDALUS_TEST_PACKAGES=(sqlite3 procps psmisc)

ensure_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing Debian packages: ${missing[*]}; run as root or install them with apt-get" >&2
    return 1
  fi
  echo "==> installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "error: the .NET SDK is not on PATH; install the .NET 10 SDK (see global.json)" >&2
    return 1
  fi
}
