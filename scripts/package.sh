#!/usr/bin/env bash
# package.sh: builds the Debian package of hikyaku, optimized (Release), into out/:
#   bash scripts/package.sh            -> out/hikyaku_VERSION_ARCH.deb
#   sudo dpkg -i out/hikyaku_*.deb     (README: "Install the Debian package")
# The package is made by CPack from the install rules (packaging/CMakeLists.txt), in its own
# build folder build-package/ (the compiler's output in build-package/build.log).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/install-deps.sh build
HIKYAKU_BUILD_LOG=$top/build-package/build.log \
  bash scripts/build.sh "$top/build-package" -DCMAKE_BUILD_TYPE=Release -DHIKYAKU_TESTS=OFF \
  -DCMAKE_INSTALL_PREFIX=/usr
mkdir -p out
cpack --config build-package/CPackConfig.cmake -B "$top/out" >>"$top/build-package/build.log" 2>&1 \
  || { echo "package: cpack failed; see $top/build-package/build.log" >&2; exit 1; }
rm -rf out/_CPack_Packages
ls out/hikyaku_*.deb
