#!/bin/sh
# The package version from `git describe`: TAG for a tagged commit, TAG+N.gHASH
# N commits after it, 0.0.0+gitN.gHASH before the first tag (N commits in all);
# a leading "v" dropped, ".dirty" when the tree has uncommitted changes.
set -eu
described=$(git describe --tags --long --dirty --always)
dirty=""
case "$described" in *-dirty) dirty=".dirty"; described=${described%-dirty} ;; esac
case "$described" in
*-*-g*)
    tag=${described%-*-g*}
    rest=${described#"$tag"-}
    count=${rest%%-*}
    hash=${rest#*-}
    tag=${tag#v}
    if [ "$count" = 0 ] && [ -z "$dirty" ]; then echo "$tag"; else echo "$tag+$count.$hash$dirty"; fi
    ;;
*)
    echo "0.0.0+git$(git rev-list --count HEAD).g$described$dirty"
    ;;
esac
