#!/usr/bin/env bash
# A checkout of <git-ref> to benchmark this one against (npm run bench with BENCH_BASELINE):
# a git worktree of this repository in [dir] (default /tmp/execution-gateway-baseline),
# created or moved to the ref, with its own node_modules from `npm ci`.
#
#   bench/baseline.sh main                      → prints BENCH_BASELINE=/tmp/execution-gateway-baseline
#   env "$(bench/baseline.sh main)" npm run bench
#
# Progress goes to stderr; the last line on stdout is the one to use.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 || $1 == -* ]]; then
  echo "usage: bench/baseline.sh <git-ref> [dir]   (dir defaults to /tmp/execution-gateway-baseline)" >&2
  exit 2
fi
ref=$1
dir=$(realpath -m "${2:-/tmp/execution-gateway-baseline}")
repo=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)
commit=$(git -C "$repo" rev-parse --verify --quiet "$ref^{commit}") || {
  echo "bench/baseline.sh: $ref is not a commit in $repo" >&2
  exit 1
}

# Forget worktrees whose directories are gone (e.g. /tmp emptied by a reboot).
git -C "$repo" worktree prune
if git -C "$repo" worktree list --porcelain | grep -Fxq "worktree $dir"; then
  if [[ -n $(git -C "$dir" status --porcelain --untracked-files=no) ]]; then
    echo "bench/baseline.sh: $dir has local changes; commit or discard them first" >&2
    exit 1
  fi
  echo "refreshing $dir to $ref ($(git -C "$repo" rev-parse --short "$commit"))" >&2
  git -C "$dir" checkout --quiet --detach "$commit"
elif [[ -e $dir ]]; then
  echo "bench/baseline.sh: $dir exists and is not a worktree of $repo; choose another dir" >&2
  exit 1
else
  echo "creating a worktree of $ref ($(git -C "$repo" rev-parse --short "$commit")) in $dir" >&2
  git -C "$repo" worktree add --quiet --detach "$dir" "$commit"
fi

(cd "$dir" && npm ci --no-audit --no-fund) >&2
echo "BENCH_BASELINE=$dir"
