#!/usr/bin/env bash
# Builds corral's .deb twice, each from a clean copy of the source tree: as it is (with
# the unit and integration tests, as a package build runs them), and with the version
# bumped by one (the upgrade test's "newer version"; built with nocheck, the code is
# the same). Prints "v1 DIR" and "v2 DIR": the folders holding each .deb and .changes.
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

build() {
  local folder=$1
  shift
  if ! (cd "$folder/corral" && env "$@" dpkg-buildpackage -us -uc -b) >"$folder/build.log" 2>&1; then
    echo "build_packages.sh: dpkg-buildpackage failed in $folder; the failed tests, then the end of $folder/build.log:" >&2
    # The package's own test run prints every test's output: its failures first.
    grep -B 3 -A 25 -E '^\[  FAILED  \]|: Failure$' "$folder/build.log" | grep -v -E ' (info|debug) ' | head -n 150 >&2
    tail -n 60 "$folder/build.log" >&2
    exit 1
  fi
}

version=$(dpkg-parsechangelog -l "$source_dir/debian/changelog" -S Version)
next=$(echo "$version" | awk -F. -v OFS=. '{ $NF = $NF + 1; print }')

copy_tree "$out_dir/v1/corral"
build "$out_dir/v1" DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-}"

copy_tree "$out_dir/v2/corral"
(
  cd "$out_dir/v2/corral"
  sed -i "s/version: '$version'/version: '$next'/" meson.build
  grep -q "version: '$next'" meson.build || { echo "build_packages.sh: no version '$version' in meson.build" >&2; exit 1; }
  {
    printf 'corral (%s) unstable; urgency=medium\n\n  * Test upgrade.\n\n' "$next"
    printf ' -- corral developers <corral@example.org>  %s\n\n' "$(date -R)"
    cat debian/changelog
  } > debian/changelog.new
  mv debian/changelog.new debian/changelog
)
build "$out_dir/v2" DEB_BUILD_OPTIONS=nocheck

echo "v1 $out_dir/v1 $version"
echo "v2 $out_dir/v2 $next"
