#!/usr/bin/env bash
# box.sh - a throwaway systemd "box" for corral's end-to-end tests.
#
# The test machines do not run systemd as PID 1 (they are containers themselves),
# but corral is meant to run under systemd (socket activation, sd_notify, unit
# restarts). This script boots a real systemd inside systemd-nspawn, on a root
# folder that borrows the host's own /etc, /usr and /var through overlayfs: the
# box sees every package installed on the host (including a freshly built
# corral), while everything it writes lands in upper folders under WORKDIR and
# the host is never changed. Booting takes about half a second (measured on the
# 2-core CI machine: 0.4-0.55 s alone, 1.1-1.4 s with four boxes booting at once).
#
# Needs: root, systemd-container and dbus installed on the host (`box.sh deps`),
# a kernel with overlayfs and a cgroup2 hierarchy (pure or hybrid layout).
#
# Usage (as root):
#   box.sh up WORKDIR
#       Prepare WORKDIR (must not exist, or be empty), boot the box, wait (at most
#       $BOX_BOOT_TIMEOUT s, default 30) until its systemd reports "running" or
#       "degraded" (failed units are then listed on stderr), print ONE line on
#       stdout: the host PID of the box's PID 1, and exit 0 leaving the box up.
#       WORKDIR/nspawn.pid holds the PID of systemd-nspawn, WORKDIR/init.pid the
#       PID of the box's PID 1, WORKDIR/console.log the box's console.
#       If the box does not come up: non-zero exit, the reason and the end of
#       console.log on stderr, the box stopped; WORKDIR is kept for post-mortem
#       (call `down` to remove it).
#   box.sh exec WORKDIR CMD [ARGS...]
#       Run CMD inside the box (in all its namespaces, via nsenter) with a clean
#       environment: PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8.
#       stdin/stdout/stderr and the exit status are CMD's own. Exit status 125
#       means box.sh itself failed (e.g. the box is not running).
#   box.sh install-file WORKDIR HOSTPATH BOXPATH [MODE]
#       Copy a host file into the box at the absolute path BOXPATH (parent folders
#       are created), atomically (temp file + rename), owned by root, with octal
#       MODE (default: the host file's mode).
#   box.sh down WORKDIR
#       Power the box off (bounded wait, then force), unmount anything left under
#       WORKDIR, remove the box's cgroups and WORKDIR. Idempotent: exits 0 when
#       the box is already down or WORKDIR is already gone.
#   box.sh deps
#       apt-get install what the box needs if missing (systemd-container, dbus).
#
# Environment:
#   BOX_BOOT_TIMEOUT  seconds `up` waits for the box's systemd (default 30)
#   BOX_STOP_TIMEOUT  seconds `down` waits for a clean poweroff before it forces
#                     the box down (default 15)
#   BOX_MASK          extra unit names to mask inside the box (space separated)
#
# The box has its own network namespace with only loopback (--private-network):
# whatever a test starts inside can only talk to 127.0.0.1/::1 of the box.
#
# WORKDIR must be an absolute or relative path without whitespace or ':' (the
# --overlay= syntax uses ':'), on a file system that can hold an overlayfs upper
# layer (ext4, xfs, tmpfs: yes; overlayfs itself: no), and not below /etc, /usr
# or /var (an upper layer inside its own lower layer is refused by the kernel).

set -euo pipefail

readonly BOX_PATH_ENV='/usr/sbin:/usr/bin:/sbin:/bin'
readonly BOOT_TIMEOUT="${BOX_BOOT_TIMEOUT:-30}"
readonly STOP_TIMEOUT="${BOX_STOP_TIMEOUT:-15}"
readonly MARKER=.corral-box        # marks a folder made by `up`: `down` deletes only those
readonly EXEC_FAILED=125           # `exec`: box.sh failed, not the command

# Units the host has enabled (or that Debian enables by default) that are masked
# inside the box, i.e. linked to /dev/null in the box's /etc (the overlay's upper
# layer, never the host's /etc). Why each one:
#  - postgresql.service, postgresql@.service: enabled on the host; a real
#    PostgreSQL cluster would start in every box (2.2 s of a 2.4 s boot
#    measured) for nothing corral needs.
#  - apt-daily*.timer/.service: would run apt inside the box at a random time,
#    taking the dpkg lock while a test installs a .deb, and try the network.
#  - man-db, dpkg-db-backup, e2scrub_all, e2scrub_reap, fstrim: housekeeping
#    that could fire mid-test and only adds noise and load.
#  - systemd-timesyncd.service: would try NTP servers (the box must send traffic
#    to loopback only; Debian already skips it in containers, masked to be sure).
#  - console-getty.service, getty@tty1.service: a login prompt on the console
#    that nobody uses; it only adds noise to console.log.
#  - redis-server.service, prometheus.service: installed for the tests; the tests
#    that need them start their own, with the settings they choose.
#  - prometheus-node-exporter*, smartmontools, nvmf*: what prometheus's recommended
#    packages enable on a developer's machine; nothing corral needs.
readonly DEFAULT_MASKS='postgresql.service postgresql@.service
  apt-daily.timer apt-daily.service apt-daily-upgrade.timer apt-daily-upgrade.service
  man-db.timer man-db.service dpkg-db-backup.timer dpkg-db-backup.service
  e2scrub_all.timer e2scrub_all.service e2scrub_reap.service fstrim.timer fstrim.service
  systemd-timesyncd.service console-getty.service getty@tty1.service redis-server.service
  prometheus.service prometheus-node-exporter.service prometheus-node-exporter-apt.timer
  prometheus-node-exporter-ipmitool-sensor.timer prometheus-node-exporter-mellanox-hca-temp.timer
  prometheus-node-exporter-nvme.timer prometheus-node-exporter-smartmon.timer smartmontools.service
  nvmefc-boot-connections.service nvmf-autoconnect.service'

die() { echo "box.sh: $*" >&2; exit 1; }
log() { echo "box.sh: $*" >&2; }

usage() {
    sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0" >&2
    exit 2
}

# Seconds since boot with sub-second precision, for deadlines (immune to clock
# changes, unlike `date`).
now() { local up _; read -r up _ </proc/uptime; echo "$up"; }
# deadline_left DEADLINE: prints the seconds left (may be negative), as a float.
deadline_left() { awk -v d="$1" -v n="$(now)" 'BEGIN { printf "%.2f", d - n }'; }
deadline_passed() { awk -v d="$1" -v n="$(now)" 'BEGIN { exit !(n >= d) }'; }
deadline_in() { awk -v s="$1" -v n="$(now)" 'BEGIN { printf "%.2f", n + s }'; }

# A process counts as gone when /proc/PID is missing or it is a zombie. The
# zombie case matters: `up` exits and leaves nspawn as an orphan; if whatever
# adopts it (a subreaper, or a PID 1 that is not an init) does not reap it, it
# stays a zombie that `kill -0` still reports as alive.
alive() {
    local pid=$1 stat
    [[ -n $pid && -r /proc/$pid/stat ]] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }                  # comm may contain spaces: cut after ") "
    [[ ${stat%% *} != Z && ${stat%% *} != X ]]
}

# Resolve WORKDIR to an absolute path and refuse paths that would break things.
resolve_workdir() {
    local w
    [[ -n ${1:-} ]] || usage
    w=$(realpath -m -- "$1")
    [[ $w != / ]] || die "WORKDIR must not be /"
    [[ $w != *[[:space:]:\\]* ]] || die "WORKDIR must not contain whitespace, ':' or '\\': $w"
    # Below /etc, /usr or /var the upper layer would sit inside its own lower
    # layer (the kernel refuses such overlays); /proc, /sys, /dev are no place
    # for it (except the tmpfs /dev/shm).
    case "$w/" in
        /dev/shm/?*) ;;
        /etc/* | /usr/* | /var/* | /proc/* | /sys/* | /dev/*)
            die "WORKDIR must not be below /etc, /usr, /var, /proc, /sys or /dev: $w" ;;
    esac
    echo "$w"
}

need_root() { [[ $EUID -eq 0 ]] || die "must run as root (systemd-nspawn, overlayfs, cgroups)"; }

check_tools() {
    local missing=() t
    for t in systemd-nspawn nsenter setsid setpriv dbus-daemon timeout realpath awk; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    ((${#missing[@]} == 0)) ||
        die "missing: ${missing[*]}; run '$0 deps' (apt-get install -y systemd-container dbus)"
}

cmd_deps() {
    need_root
    local pkgs=()
    command -v systemd-nspawn >/dev/null 2>&1 || pkgs+=(systemd-container)
    # dbus: the box boots the host's /usr, so the host must have dbus-daemon for
    # the box's systemd to get a system bus (logind, systemctl over D-Bus).
    command -v dbus-daemon >/dev/null 2>&1 || pkgs+=(dbus)
    command -v nsenter >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1 || pkgs+=(util-linux)
    ((${#pkgs[@]} == 0)) && { log "dependencies present"; return 0; }
    log "installing ${pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkgs[@]}" >&2 || {
        apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkgs[@]}" >&2
    }
}

# ----------------------------------------------------------------------------
# cgroups
#
# systemd-nspawn --keep-unit runs the box in the cgroup the launching process is
# in, and creates "supervisor" and "payload" children there. Without a cgroup of
# its own, every box would use the same <current cgroup>/payload, so two boxes
# would clash and leftovers would pile up at the root. So the launching
# subshell first moves itself into a fresh cgroup named after the box.
#
# Hosts differ:
#  - systemd is PID 1 on the host (/run/systemd/system exists): let it make a
#    scope (systemd-run --scope), the documented way to use --keep-unit.
#    (Not exercised on the CI machines, which have no systemd PID 1.)
#  - no systemd PID 1, "hybrid" layout (the CI machines: cgroup v1 controllers
#    under /sys/fs/cgroup, cgroup2 at /sys/fs/cgroup/unified, and a v1
#    name=systemd hierarchy at /sys/fs/cgroup/systemd): nspawn treats the
#    cgroup2 hierarchy as systemd's and mirrors the same path into name=systemd,
#    so the new cgroup is made at the same path in both.
#  - no systemd PID 1, pure cgroup2 (/sys/fs/cgroup is cgroup2): one hierarchy.
# The new cgroup is a child of the cgroup we are in (on the CI machines: the
# root), so it stays inside whatever was delegated to us.
# With SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 the box's systemd gets a pure cgroup2
# /sys/fs/cgroup (its own cgroup namespace rooted at <box cgroup>/payload), even
# on the hybrid host. On the hybrid host only the controllers not bound to v1
# are available in cgroup2 (here: none but hugetlb), so CPU/memory limits of
# units inside the box are not enforced; accounting and process tracking work.
# ----------------------------------------------------------------------------
cgroup2_mount() {
    if [[ $(stat -fc %T /sys/fs/cgroup 2>/dev/null) == cgroup2fs ]]; then
        echo /sys/fs/cgroup
    elif [[ $(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs ]]; then
        echo /sys/fs/cgroup/unified
    else
        die "no cgroup2 hierarchy mounted (neither /sys/fs/cgroup nor /sys/fs/cgroup/unified); the box's systemd needs one"
    fi
}

# Prints the cgroup folders to create for box NAME, one per line.
plan_cgroups() {
    local name=$1 mnt rel
    mnt=$(cgroup2_mount)
    rel=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
    [[ -n $rel ]] || die "cannot find our cgroup2 path in /proc/self/cgroup"
    rel=${rel%/}
    echo "$mnt$rel/$name"
    # Hybrid host: mirror into the v1 name=systemd hierarchy (nspawn does the same
    # for its payload/supervisor children, at the same path).
    if [[ $mnt == /sys/fs/cgroup/unified && -d /sys/fs/cgroup/systemd ]] &&
        [[ $(stat -fc %T /sys/fs/cgroup/systemd 2>/dev/null) == cgroupfs ]]; then
        echo "/sys/fs/cgroup/systemd$rel/$name"
    fi
}

# Kill everything left in the box's cgroup2 tree (last resort) and remove the
# cgroup folders listed in WORKDIR/cgroups, deepest first (systemd in the box
# may have left its slices behind).
remove_cgroups() {
    local w=$1 cg deadline
    [[ -f $w/cgroups ]] || return 0
    while read -r cg; do
        [[ -n $cg && -d $cg ]] || continue
        if [[ -e $cg/cgroup.kill ]] && grep -q '^populated 1' "$cg/cgroup.events" 2>/dev/null; then
            log "killing processes left in $cg"
            echo 1 >"$cg/cgroup.kill" 2>/dev/null || true
            deadline=$(deadline_in 5)
            while grep -q '^populated 1' "$cg/cgroup.events" 2>/dev/null && ! deadline_passed "$deadline"; do
                sleep 0.05
            done
        fi
        find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
        [[ ! -d $cg ]] || log "warning: could not remove cgroup $cg"
    done <"$w/cgroups"
    rm -f "$w/cgroups"
}

# ----------------------------------------------------------------------------
# the root folder
# ----------------------------------------------------------------------------
prepare_workdir() {
    local w=$1 name=$2 l u
    local root=$w/root upper=$w/upper

    # Root folder: only what nspawn and the box's systemd need before the
    # overlays of /etc, /usr, /var are mounted on top of it.
    mkdir -p "$root" "$upper/etc" "$upper/usr" "$upper/var"
    # Merged-/usr symlinks, copied from the host (bin -> usr/bin, ...), so /bin/sh
    # and the dynamic loader (/lib64/ld-linux-x86-64.so.2) resolve into /usr.
    for l in bin sbin lib lib32 lib64 libx32; do
        if [[ -L /$l ]]; then
            ln -s "$(readlink "/$l")" "$root/$l"
        elif [[ -d /$l ]]; then
            die "host /$l is a real folder, not a merged-/usr symlink; this box layout needs merged /usr"
        fi
    done
    # Empty mount points (nspawn mounts /proc /sys /dev /run /tmp, the overlays
    # take /etc /usr /var) and the usual top-level folders.
    mkdir -p "$root"/{usr,var,etc,proc,sys,dev,run,home,mnt,opt,srv,tmp,root}
    chmod 1777 "$root/tmp"
    chmod 0700 "$root/root"
    # nspawn refuses a folder without os-release *before* it mounts the overlays;
    # this copy is hidden by the /etc overlay once the box runs.
    cp /usr/lib/os-release "$root/etc/os-release"

    # From here on, files go into the upper layers: the box's view of them
    # changes, the host's /etc /usr /var do not.

    # A fresh machine id: the host's would be shared by every box (journald and
    # nspawn complain: "Host and machine ids are equal ... refusing to link
    # journals"), and units/tests may key on it.
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$upper/etc/machine-id"
    echo >>"$upper/etc/machine-id"
    chmod 0444 "$upper/etc/machine-id"
    echo "$name" >"$upper/etc/hostname"

    # Mask units that would fail, cost boot time, or act on their own in the box
    # (see DEFAULT_MASKS for why each one).
    mkdir -p "$upper/etc/systemd/system"
    for u in $DEFAULT_MASKS ${BOX_MASK:-}; do
        ln -sfn /dev/null "$upper/etc/systemd/system/$u"
    done

    # Hide the host's /usr/sbin/policy-rc.d (Docker-style images ship one that
    # exits 101): it makes invoke-rc.d/deb-systemd-invoke refuse to start or
    # restart services from maintainer scripts, so a .deb installed in the box
    # would not start its service. An overlayfs "whiteout" (a 0/0 character
    # device in the upper layer) makes the file absent inside the box only.
    if [[ -e /usr/sbin/policy-rc.d ]]; then
        mkdir -p "$upper/usr/sbin"
        chmod --reference=/usr/sbin "$upper/usr/sbin"
        if ! mknod "$upper/usr/sbin/policy-rc.d" c 0 0 2>/dev/null; then
            # No CAP_MKNOD: fall back to a policy that allows every action.
            printf '#!/bin/sh\nexit 0\n' >"$upper/usr/sbin/policy-rc.d"
            chmod 0755 "$upper/usr/sbin/policy-rc.d"
        fi
    fi
}

# ----------------------------------------------------------------------------
# up
# ----------------------------------------------------------------------------
UP_OK=0
UP_WORKDIR=
UP_REASON=

up_cleanup() {
    local rc=$?
    ((UP_OK)) && return 0
    [[ -n $UP_WORKDIR && -f $UP_WORKDIR/$MARKER ]] || exit "$rc"
    ((rc != 0)) || rc=1
    {
        echo "box.sh: the box did not come up: ${UP_REASON:-unexpected error (exit $rc)}"
        if [[ -s $UP_WORKDIR/console.log ]]; then
            echo "box.sh: last lines of $UP_WORKDIR/console.log:"
            tail -n 40 "$UP_WORKDIR/console.log" | sed 's/^/  | /'
        fi
    } >&2
    stop_box "$UP_WORKDIR" || true
    remove_cgroups "$UP_WORKDIR" || true
    log "box stopped; $UP_WORKDIR kept for inspection (remove it with: $0 down $UP_WORKDIR)"
    exit "$rc"
}

# Prints the host PID of the box's PID 1 once nspawn has forked it and it has
# become systemd; fails if nspawn dies or the deadline passes.
find_init() {
    local nspawn=$1 deadline=$2 child nspid comm
    while :; do
        alive "$nspawn" || return 1
        for child in $(cat "/proc/$nspawn/task/$nspawn/children" 2>/dev/null || pgrep -P "$nspawn" || true); do
            # The box's PID 1 is the child whose PID in its own namespace is 1
            # (NSpid: <host pid> 1) and that has exec'd systemd; before the exec
            # it is still nspawn code setting up mounts, too early to nsenter.
            nspid=$(awk '$1 == "NSpid:" { print $NF }' "/proc/$child/status" 2>/dev/null) || continue
            comm=$(cat "/proc/$child/comm" 2>/dev/null) || continue
            if [[ $nspid == 1 && $comm == systemd ]]; then
                echo "$child"
                return 0
            fi
        done
        deadline_passed "$deadline" && return 2
        sleep 0.05
    done
}

cmd_up() {
    need_root
    check_tools
    local w name cg fstype deadline start nspawn init state left failed line
    w=$(resolve_workdir "${1:-}")
    [[ $# -eq 1 ]] || usage

    if [[ -e $w ]]; then
        [[ -d $w ]] || die "WORKDIR exists and is not a folder: $w"
        [[ -z $(ls -A "$w") ]] || die "WORKDIR is not empty (a box already there? run '$0 down $w'): $w"
    fi
    mkdir -p "$w"
    fstype=$(stat -fc %T "$w")
    [[ $fstype != overlayfs ]] ||
        die "WORKDIR is on overlayfs, which cannot hold an overlay upper layer; use e.g. a folder on ext4 or tmpfs"

    UP_WORKDIR=$w
    start=$(now)
    # A unique name: nspawn uses it for its lock and propagation folders under
    # /run/systemd/nspawn, the cgroup is named after it, and it is the hostname.
    name=corral-box-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
    echo "$name" >"$w/$MARKER"
    trap up_cleanup EXIT
    # bash runs the EXIT trap on `exit`, but not when a signal kills it: turn
    # the usual ones into an exit so an interrupted `up` stops the box too.
    trap 'UP_REASON="interrupted by SIGINT"; exit 130' INT
    trap 'UP_REASON="interrupted by SIGTERM"; exit 143' TERM
    trap 'UP_REASON="interrupted by SIGHUP"; exit 129' HUP

    prepare_workdir "$w" "$name"

    local use_scope=0
    if [[ -d /run/systemd/system ]] && command -v systemd-run >/dev/null 2>&1; then
        use_scope=1
        : >"$w/cgroups"
    else
        plan_cgroups "$name" >"$w/cgroups"
        while read -r cg; do mkdir "$cg"; done <"$w/cgroups"
    fi

    local nspawn_args=(
        --directory="$w/root"
        --machine="$name"
        --boot
        # read-only, not passive: with --console=passive nspawn never reads the
        # console pty, so once ~14 KiB of console output pile up (boot and
        # shutdown status lines add up), every write to /dev/console blocks -
        # including PID 1's. read-only forwards the console to our stdout
        # (console.log) and ignores input.
        --console=read-only
        # No machined on this host; nothing to register with.
        --register=no
        # Stay in the cgroup we made (see the cgroups section); do not ask a
        # host systemd for a scope.
        --keep-unit
        # Own network namespace with only loopback: tests talk to 127.0.0.1
        # inside the box, nothing reaches any other address.
        --private-network
        # Never touch the host's /var/log/journal.
        --link-journal=no
        # Layer the host's trees: lower = host, upper = our folder. nspawn
        # makes the overlay's work dir itself, as a sibling of the upper dir
        # (WORKDIR/upper/.#etcXXXX), hence upper dirs live in a plain folder on
        # the same file system and are not mount points.
        --overlay="/etc:$w/upper/etc:/etc"
        --overlay="/usr:$w/upper/usr:/usr"
        --overlay="/var:$w/upper/var:/var"
    )

    # Launch in a subshell that first moves itself into the box's cgroup(s),
    # then execs nspawn, so $! is nspawn's PID.
    (
        trap - EXIT INT TERM HUP
        cd /
        if ((use_scope)); then
            launcher=(systemd-run --scope --quiet --collect --unit="$name")
        else
            launcher=()
            while read -r cg; do echo "$BASHPID" >"$cg/cgroup.procs"; done <"$w/cgroups"
        fi
        # Close every inherited fd above 2: nspawn lives on after `up` exits,
        # and a pipe it inherits (e.g. the test runner reading our stdout)
        # would never see EOF.
        for fd in "/proc/$BASHPID/fd"/*; do
            fd=${fd##*/}
            if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
        done
        # setsid: a new session, so a Ctrl-C or SIGHUP aimed at the caller's
        # terminal does not reach the box; the test decides when it goes down.
        # (setsid does not fork here: a background subshell of a non-interactive
        # shell is not a process group leader, so the PID stays nspawn's.)
        # SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1: pure cgroup2 inside the box even on
        # the hybrid host, as on any current distribution.
        exec env SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 setsid "${launcher[@]}" \
            systemd-nspawn "${nspawn_args[@]}"
    ) </dev/null >"$w/console.log" 2>&1 &
    nspawn=$!
    echo "$nspawn" >"$w/nspawn.pid"

    deadline=$(deadline_in "$BOOT_TIMEOUT")
    if ! init=$(find_init "$nspawn" "$deadline"); then
        if alive "$nspawn"; then
            UP_REASON="systemd in the box did not start within ${BOOT_TIMEOUT}s"
        else
            UP_REASON="systemd-nspawn exited early"
        fi
        exit 1
    fi
    echo "$init" >"$w/init.pid"

    # Wait for the box's systemd to finish booting: `systemctl
    # is-system-running --wait` blocks until startup is complete. It fails at
    # once ("offline") while PID 1's private socket does not exist yet, so it
    # is retried until the deadline; `timeout` inside the box bounds each wait.
    state=
    while :; do
        alive "$nspawn" || { UP_REASON="systemd-nspawn exited while the box was booting"; exit 1; }
        left=$(deadline_left "$deadline")
        awk -v l="$left" 'BEGIN { exit !(l > 0.05) }' || {
            UP_REASON="the box's systemd was not up within ${BOOT_TIMEOUT}s (last state: ${state:-none})"
            exit 1
        }
        state=$(timeout --kill-after=2 "$(awk -v l="$left" 'BEGIN { printf "%.2f", l + 1 }')" \
            nsenter -t "$init" -m -u -i -p -n -C -- env -i PATH="$BOX_PATH_ENV" \
            timeout "$left" systemctl is-system-running --wait 2>/dev/null) || true
        case $state in
            running | degraded) break ;;
            stopping | maintenance)
                UP_REASON="the box's systemd is in state '$state'"
                exit 1 ;;
            *) sleep 0.1 ;;  # offline/initializing/starting/empty: not ready yet
        esac
    done

    if [[ $state == degraded ]]; then
        failed=$(nsenter -t "$init" -m -u -i -p -n -C -- env -i PATH="$BOX_PATH_ENV" \
            systemctl --failed --no-legend --plain --no-pager 2>&1 || true)
        log "box is up but degraded; failed units:"
        while IFS= read -r line; do echo "  $line"; done <<<"$failed" >&2
    fi
    log "box $name up in $(awk -v s="$start" -v n="$(now)" 'BEGIN { printf "%.2f", n - s }')s (state: $state)"
    UP_OK=1
    trap - EXIT INT TERM HUP
    echo "$init"
}

# ----------------------------------------------------------------------------
# exec / install-file
# ----------------------------------------------------------------------------

# Prints the box's PID 1 after checking it is still the one `up` found (guards
# against a stale init.pid whose PID was reused).
box_init() {
    local w=$1 init nspawn
    [[ -f $w/$MARKER ]] || { echo "box.sh: no box in $w" >&2; return 1; }
    init=$(cat "$w/init.pid" 2>/dev/null) || { echo "box.sh: box in $w has no init.pid (not up)" >&2; return 1; }
    nspawn=$(cat "$w/nspawn.pid" 2>/dev/null) || true
    if ! alive "$init" || [[ $(cat "/proc/$init/comm" 2>/dev/null) != systemd ]] ||
        [[ $(awk '$1 == "PPid:" { print $2 }' "/proc/$init/status" 2>/dev/null) != "$nspawn" ]]; then
        echo "box.sh: the box in $w is not running" >&2
        return 1
    fi
    echo "$init"
}

# nsenter into all the box's namespaces: mount (its file systems; this also
# makes / the box's root and the cwd /), UTS (hostname), IPC, PID (its
# processes; nsenter forks so the command is a member), network (loopback only)
# and cgroup. Without the cgroup namespace, /proc/PID/cgroup read inside would
# give host paths (/corral-box-XXXX/payload/system.slice/...) that do not match
# the box's /sys/fs/cgroup, confusing ps -o cgroup, systemd-cgls and
# `systemctl status PID`; with it they read /system.slice/... as in a real
# system. The command itself stays in the caller's cgroup on the host (its own
# /proc/self/cgroup reads "0::/.."), and is still killed when the box stops,
# with the rest of the box's PID namespace.
# setpriv --pdeathsig TERM: nsenter forks the command and only waits for it;
# it does not pass signals on. Without this, a test that kills `box.sh exec`
# (e.g. on a timeout) would kill nsenter alone and leave CMD running in the box.
# With it, CMD gets SIGTERM when nsenter dies.
# env -i: nothing from the host's environment leaks in; the pager variables keep
# systemctl/journalctl from waiting on `less` when a developer runs this on a tty.
BOX_ENV=(setpriv --pdeathsig TERM -- env -i PATH="$BOX_PATH_ENV" HOME=/root USER=root LOGNAME=root LANG=C.UTF-8
    SYSTEMD_PAGER=cat PAGER=cat)
box_nsenter() {
    local init=$1
    shift
    nsenter -t "$init" -m -u -i -p -n -C -- "${BOX_ENV[@]}" "$@"
}

cmd_exec() {
    local w init
    (($# >= 2)) || usage
    [[ $EUID -eq 0 ]] || { echo "box.sh: must run as root" >&2; exit $EXEC_FAILED; }
    w=$(resolve_workdir "$1") || exit $EXEC_FAILED
    shift
    init=$(box_init "$w") || exit $EXEC_FAILED
    # exec: no shell left in between, so signals reach nsenter (which passes a
    # fatal signal of the command on as its own) and the exit status is CMD's.
    exec nsenter -t "$init" -m -u -i -p -n -C -- "${BOX_ENV[@]}" "$@"
}

cmd_install_file() {
    local w init host box mode
    (($# == 3 || $# == 4)) || usage
    need_root
    w=$(resolve_workdir "$1")
    host=$2 box=$3
    [[ -f $host && -r $host ]] || die "not a readable file: $host"
    [[ $box == /* ]] || die "BOXPATH must be absolute: $box"
    mode=${4:-$(stat -c %a "$host")}
    [[ $mode =~ ^[0-7]{3,4}$ ]] || die "MODE must be octal, like 0644: $mode"
    init=$(box_init "$w") || exit 1
    # Written through the box's own file system view, not into the overlay's
    # upper folder on the host: the kernel documents changes to an upper layer
    # behind a mounted overlay's back as undefined, and this way any path works
    # (/etc, /usr, but also the box's /tmp tmpfs or /root). A temp file plus
    # rename, so a unit or reader in the box never sees a half-written file.
    # shellcheck disable=SC2016 # $1, $2, $$ are expanded by the box's sh
    box_nsenter "$init" sh -c '
        set -e
        dest=$1 mode=$2
        mkdir -p "$(dirname "$dest")"
        tmp="$dest.box-install.$$"
        trap "rm -f \"\$tmp\"" EXIT
        cat >"$tmp"
        chown 0:0 "$tmp"
        chmod "$mode" "$tmp"
        mv -f "$tmp" "$dest"
        trap - EXIT
    ' sh "$box" "$mode" <"$host" || die "could not install $host as $box in the box"
}

# ----------------------------------------------------------------------------
# down
# ----------------------------------------------------------------------------

# Stop the box's nspawn if it is (still) running: a clean poweroff first, then
# nspawn's immediate termination, then SIGKILL; each wait is bounded.
stop_box() {
    local w=$1 nspawn deadline
    nspawn=$(cat "$w/nspawn.pid" 2>/dev/null) || return 0
    alive "$nspawn" || return 0
    # Only signal the PID if it still is our nspawn (not a reused PID).
    [[ $(cat "/proc/$nspawn/comm" 2>/dev/null) == systemd-nspawn ]] &&
        tr '\0' ' ' <"/proc/$nspawn/cmdline" 2>/dev/null | grep -q -- "--directory=$w/root " || return 0

    # 1st SIGTERM: nspawn asks the box's systemd to power off (SIGRTMIN+4).
    kill -TERM "$nspawn" 2>/dev/null || true
    deadline=$(deadline_in "$STOP_TIMEOUT")
    while alive "$nspawn" && ! deadline_passed "$deadline"; do sleep 0.05; done
    alive "$nspawn" || return 0

    # 2nd SIGTERM: nspawn kills the box at once.
    log "box did not power off within ${STOP_TIMEOUT}s; terminating it"
    kill -TERM "$nspawn" 2>/dev/null || true
    deadline=$(deadline_in 5)
    while alive "$nspawn" && ! deadline_passed "$deadline"; do sleep 0.05; done
    alive "$nspawn" || return 0

    log "systemd-nspawn $nspawn still alive; killing it"
    local init
    init=$(cat "$w/init.pid" 2>/dev/null) || true
    # SIGKILL to the box's PID 1 takes its whole PID namespace with it.
    if [[ -n $init ]] && alive "$init"; then kill -KILL "$init" 2>/dev/null || true; fi
    kill -KILL "$nspawn" 2>/dev/null || true
    deadline=$(deadline_in 5)
    while alive "$nspawn" && ! deadline_passed "$deadline"; do sleep 0.05; done
    ! alive "$nspawn" || log "warning: systemd-nspawn $nspawn survived SIGKILL"
}

# Unmount anything still mounted below WORKDIR in our mount namespace (nspawn
# mounts in a namespace of its own, so normally there is nothing; this covers
# a crashed nspawn or a test that mounted something itself). Deepest first.
unmount_below() {
    local w=$1 m
    awk -v w="$w" '$2 == w || index($2, w "/") == 1 { print $2 }' /proc/self/mounts |
        sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" || log "warning: cannot unmount $m"
    done
}

cmd_down() {
    need_root
    local w
    [[ $# -eq 1 ]] || usage
    w=$(resolve_workdir "$1")
    [[ -e $w ]] || return 0
    [[ -d $w ]] || die "not a folder: $w"
    if [[ ! -f $w/$MARKER ]]; then
        # An empty folder (e.g. made by the caller, `up` never got far): remove it.
        # Anything else was not made by `up`: refuse to delete it.
        rmdir "$w" 2>/dev/null || die "$w was not made by '$0 up' (no $MARKER); not removing it"
        return 0
    fi
    stop_box "$w"
    unmount_below "$w"
    remove_cgroups "$w"
    # --one-file-system: never follow into anything still mounted below.
    rm -rf --one-file-system -- "$w"
    [[ ! -e $w ]] || die "could not remove $w"
}

main() {
    (($# >= 1)) || usage
    local cmd=$1
    shift
    case $cmd in
        up) cmd_up "$@" ;;
        exec) cmd_exec "$@" ;;
        install-file) cmd_install_file "$@" ;;
        down) cmd_down "$@" ;;
        deps) cmd_deps "$@" ;;
        -h | --help | help) usage ;;
        *) usage ;;
    esac
}

main "$@"
