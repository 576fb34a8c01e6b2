# Cross-compiling Hearth for 64-bit ARM Linux with Debian's g++-aarch64-linux-gnu.
# Test programs run under qemu-aarch64 (Debian qemu-user), which CMake and ctest
# use as the emulator; libraries come from Debian's arm64 packages (multiarch),
# installed by `scripts/setup.sh --aarch64`, which also runs:
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# Headers and arm64 libraries from the multiarch tree; programs from the host.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# The programs run on the multiarch arm64 libraries under / (libc6:arm64 and
# the rest): the cross toolchain's own copy of glibc in /usr/aarch64-linux-gnu
# may be an older build, and its loader with the newer libc.so.6 (which qemu
# finds under / for the libraries the cross tree lacks) hangs in pthread_create.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/)
# pkg-config (cpp-httplib) reads the arm64 .pc files, not the host's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
