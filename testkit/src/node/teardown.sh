# Tears down one real-host test node from its lease file ($1), whoever calls: the node's
# Drop, its watchdog when the test process died, or the next boot finding a leftover.
# Lease: one line "OWNER_PID NSPAWN_PID INIT_PID NETNS WORKDIR" ("-" for not yet known).
lease="$1"
[ -f "$lease" ] || exit 0
read -r _owner nspawn init netns workdir <"$lease" || exit 0

# A pid is ours only while it still runs the program we started (pids are reused). An
# exited nspawn stays a zombie until the test process reaps it, after this script: dead.
is() {
    [ "$1" != "-" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] &&
        ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}
gone() { ! is "$nspawn" systemd-nspawn && ! is "$init" systemd; }

# SIGTERM asks nspawn for an orderly poweroff of the container; then force it.
if is "$nspawn" systemd-nspawn; then kill -TERM "$nspawn" 2>/dev/null; fi
i=0; while ! gone && [ "$i" -lt 200 ]; do sleep 0.1; i=$((i+1)); done
# Killing the container's init ends every process in its pid namespace.
if is "$init" systemd; then kill -KILL "$init" 2>/dev/null; fi
if is "$nspawn" systemd-nspawn; then kill -KILL "$nspawn" 2>/dev/null; fi
i=0; while ! gone && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i+1)); done

[ "$netns" != "-" ] && ip netns del "$netns" 2>/dev/null
if [ "$workdir" != "-" ] && [ -d "$workdir" ]; then
    # The node's own cgroups, and the ones its systemd made inside them, deepest first.
    if [ -f "$workdir/cgroups" ]; then
        while read -r dir; do
            [ -d "$dir" ] && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
        done <"$workdir/cgroups"
    fi
    if mountpoint -q "$workdir/root"; then umount "$workdir/root" || umount -l "$workdir/root"; fi
    # Never delete through a live overlay: its lower dir is the shared cached rootfs.
    mountpoint -q "$workdir/root" || rm -rf "$workdir"
fi
rm -f "$lease"
