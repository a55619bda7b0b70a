# Sourced by ./build, ./test and ./run. Installs the Debian packages the product and its tests
# need, only when one is missing (idempotent; needs root, as on CI and dev machines here).

# Packages the server needs at run time (runc machines, OpenSSH, ext4 images, machine networking).
# nftables: the nft CLI for the machines' egress rules; dnsmasq-base: the machines' DNS forwarder, binary only
# (not dnsmasq, whose system service would bind port 53 on the host).
DEDALUS_RUNTIME_PACKAGES=(openssh-client openssh-server runc tini debootstrap e2fsprogs util-linux mount iproute2 rsync nftables dnsmasq-base)
# Toolchain for the NativeAOT build of the CLI.
DEDALUS_BUILD_PACKAGES=(clang zlib1g-dev)
# Extra packages the tests use as oracles or peers.
# libxml2-utils: xmllint, which scripts/test-summary.sh uses to read the TRX files.
# iperf3: the machine network throughput benchmark (its server runs in a test network namespace).
# postgresql-15: the PostgreSQL store's tests start their own cluster from its binaries (tests/Dedalus.Testing/Postgres).
# systemd: systemd-analyze, which checks deploy/systemd/dedalus-server.service (SystemdUnitTests; nothing is started).
# chromium, chromium-driver: the web console's browser tests (Selenium drives Debian's headless Chromium through
# /usr/bin/chromedriver; no browser or driver is ever downloaded).
DEDALUS_TEST_PACKAGES=(sqlite3 procps psmisc libxml2-utils iperf3 postgresql-15 systemd chromium chromium-driver)

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
  local log
  log=$(mktemp) || return 1
  # A failed update is not fatal by itself: the install below may still work from the current lists.
  dedalus_apt_get "$log" update -qq || echo "(apt-get update failed; trying the install anyway)" >>"$log"
  if ! dedalus_apt_get "$log" install -y -qq --no-install-recommends "${missing[@]}"; then
    local still=()
    for pkg in "${missing[@]}"; do
      dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || still+=("$pkg")
    done
    echo "error: could not install Debian packages: ${still[*]:-${missing[*]}}" >&2
    echo "  last lines of apt-get's output:" >&2
    tail -n 15 "$log" | sed 's/^/    /' >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

# dedalus_apt_get LOG ARGS...: apt-get ARGS, its output appended to LOG, waiting (bounded, default
# 300 s) when another apt-get or dpkg holds a lock instead of failing at once. DPkg::Lock::Timeout
# makes apt wait for the dpkg frontend lock; apt-get update (apt 2.6) still fails at once on
# /var/lib/apt/lists/lock, so a "Could not get lock" failure is retried until the same deadline.
dedalus_apt_get() {
  local log=$1
  shift
  local timeout=${DEDALUS_APT_LOCK_TIMEOUT:-300}
  local deadline=$((SECONDS + timeout))
  local out status said=0
  while :; do
    status=0
    out=$(LC_ALL=C apt-get -o DPkg::Lock::Timeout="$timeout" "$@" 2>&1) || status=$?
    if [ -n "$out" ]; then
      printf '%s\n' "$out" >>"$log"
    fi
    if [ "$status" -eq 0 ]; then
      return 0
    fi
    case $out in
      *"Could not get lock"*) ;;
      *) return "$status" ;;
    esac
    if [ "$SECONDS" -ge "$deadline" ]; then
      return "$status"
    fi
    if [ "$said" -eq 0 ]; then
      echo "==> another apt-get or dpkg holds its lock; waiting up to ${timeout}s" >&2
      said=1
    fi
    sleep 5
  done
}

ensure_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "error: the .NET SDK is not on PATH; install the .NET 10 SDK (see global.json)" >&2
    return 1
  fi
}

# Node.js and npm build the web console's assets (npm ci, then src/Dedalus.Server/Console/web/build.mjs, run by the
# server project's build). Debian's nodejs and npm when the machine has no npm at all; a machine whose Node.js came
# with its own npm (NodeSource's package) keeps it, since Debian's npm would fight that nodejs.
ensure_node() {
  if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    return 0
  fi
  ensure_packages nodejs npm
}
