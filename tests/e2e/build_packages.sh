#!/usr/bin/env bash
# Builds corral's .deb twice, each from a clean copy of the source tree: as it is, and
# with the version bumped by one (the upgrade test's "newer version"). Prints "v1 DIR"
# and "v2 DIR": the folders holding each .deb and .changes.
#
# Both are built with nocheck: the package's own test run is the unit, integration and
# fault suites that ./dev test has run on this same tree just before (a packager's plain
# dpkg-buildpackage still runs them). Both go through the ccache of ./dev's plain build,
# which is compiled with the package's flags (see ./dev): the first finds the objects
# that build made, and the second compiles only what the version changes (version.hpp's
# users). hash_dir is off, as in ./dev, so that the folders' names do not count. (Run
# by a user through sudo, the cache is root's, not the plain build's: the first build
# then compiles, as it did before.)
# usage: build_packages.sh SOURCE_DIR OUT_DIR
set -euo pipefail
source_dir=$1
out_dir=$2

copy_tree() {
  local target=$1
  mkdir -p "$target"
  if git -C "$source_dir" rev-parse --git-dir >/dev/null 2>&1; then
    # What git tracks plus new files it does not ignore: the tree as it would be
    # committed, without build folders.
    (cd "$source_dir" && git ls-files -z -co --exclude-standard |
       while IFS= read -r -d '' file; do [ -e "$file" ] && printf '%s\0' "$file"; done |
       tar --null -cf - -T -) | tar -xf - -C "$target"
  else
    tar -C "$source_dir" --exclude=./build --exclude='./build-*' --exclude='./obj-*' -cf - . | tar -xf - -C "$target"
  fi
}

# build NAME: builds the tree in $tree and moves what it made to $out_dir/NAME.
tree=$out_dir/tree
build() {
  local folder=$out_dir/$1
  mkdir -p "$folder"
  # xz -1 instead of -6 for the .debs: the debug symbols' package alone took tens of
  # seconds to compress, for packages that live as long as the test run.
  if ! (cd "$tree/corral" && DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" CCACHE_NOHASHDIR=1 \
        DPKG_DEB_COMPRESSOR_LEVEL=1 dpkg-buildpackage -us -uc -b) >"$folder/build.log" 2>&1; then
    echo "build_packages.sh: dpkg-buildpackage failed for $1; the end of $folder/build.log:" >&2
    tail -n 60 "$folder/build.log" >&2
    exit 1
  fi
  find "$tree" -maxdepth 1 -type f -exec mv -t "$folder" {} +
  rm -rf "$tree/corral"
}

if command -v ccache >/dev/null; then
  # Named here: debhelper (compat 13) gives every build step a HOME of its own inside the
  # tree, where ccache would start an empty cache that the next build deletes. As root
  # (CI, and ./dev test through sudo) this is root's cache: the plain build's when
  # ./dev test runs as root.
  CCACHE_DIR=${CCACHE_DIR:-$(ccache -k cache_dir)}
  export CCACHE_DIR
else
  echo "build_packages.sh: no ccache (Build-Depends): both builds compile everything" >&2
fi
version=$(dpkg-parsechangelog -l "$source_dir/debian/changelog" -S Version)
next=$(echo "$version" | awk -F. -v OFS=. '{ $NF = $NF + 1; print }')

copy_tree "$tree/corral"
build v1

copy_tree "$tree/corral"
(
  cd "$tree/corral"
  sed -i "s/version: '$version'/version: '$next'/" meson.build
  grep -q "version: '$next'" meson.build || { echo "build_packages.sh: no version '$version' in meson.build" >&2; exit 1; }
  {
    printf 'corral (%s) unstable; urgency=medium\n\n  * Test upgrade.\n\n' "$next"
    printf ' -- corral developers <corral@example.org>  %s\n\n' "$(date -R)"
    cat debian/changelog
  } > debian/changelog.new
  mv debian/changelog.new debian/changelog
)
build v2

echo "v1 $out_dir/v1 $version"
echo "v2 $out_dir/v2 $next"
