#!/usr/bin/env bash
# ExecStartPre of kubelet on the kind node: kind's kubelet configuration uses cgroupRoot=/kubelet and runs kubelet
# in kubelet.slice. On cgroup v2 both need their controllers enabled from the root down (possible only now that
# systemd has moved every process out of the root cgroup); on cgroup v1, systemd's named hierarchy needs /kubelet.
set -euo pipefail
cg=/sys/fs/cgroup
if [[ -f $cg/cgroup.controllers ]]; then
  enable_controllers() { # $1: a cgroup directory; delegates every controller it has to its children
    local wanted
    wanted=$(sed -e 's/^/+/' -e 's/ / +/g' "$1/cgroup.controllers")
    [[ -z $wanted || $wanted == + ]] || echo "$wanted" >"$1/cgroup.subtree_control"
  }
  enable_controllers "$cg"
  for group in kubelet kubelet.slice; do
    mkdir -p "$cg/$group"
    enable_controllers "$cg/$group"
  done
elif [[ -d $cg/systemd ]]; then
  mkdir -p "$cg/systemd/kubelet"
fi
