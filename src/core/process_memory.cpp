#include "core/process_memory.h"

#include <sys/resource.h>
#include <unistd.h>
#if defined(__APPLE__)
#include <mach/mach.h>
#endif

#include <cstdio>
#include <cstring>

namespace hearth {
namespace {

// The value, in bytes, of a "Key:   1234 kB" line of a /proc status file; -1 if absent.
int64_t proc_kb_field(const char* path, const char* key) {
  FILE* f = std::fopen(path, "r");
  if (!f) return -1;
  char line[256];
  int64_t result = -1;
  const size_t key_len = std::strlen(key);
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, key, key_len) == 0 && line[key_len] == ':') {
      long long kb = 0;
      if (std::sscanf(line + key_len + 1, "%lld", &kb) == 1) result = static_cast<int64_t>(kb) * 1024;
      break;
    }
  }
  std::fclose(f);
  return result;
}

}  // namespace

ProcessMemory process_memory() {
  ProcessMemory m;
  m.resident = proc_kb_field("/proc/self/status", "VmRSS");
  m.peak_resident = proc_kb_field("/proc/self/status", "VmHWM");
  if (m.peak_resident < 0) {
    // No /proc (macOS): getrusage gives the peak (bytes there, KiB on Linux).
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
#ifdef __APPLE__
    m.peak_resident = static_cast<int64_t>(ru.ru_maxrss);
#else
    m.peak_resident = static_cast<int64_t>(ru.ru_maxrss) * 1024;
#endif
  }
#if defined(__APPLE__)
  if (m.resident < 0) {
    mach_task_basic_info_data_t info{};
    mach_msg_type_number_t count = MACH_TASK_BASIC_INFO_COUNT;
    if (task_info(mach_task_self(), MACH_TASK_BASIC_INFO, reinterpret_cast<task_info_t>(&info), &count) ==
        KERN_SUCCESS)
      m.resident = static_cast<int64_t>(info.resident_size);
  }
#endif
  if (m.resident < 0) m.resident = 0;
  return m;
}

SystemMemory system_memory() {
  SystemMemory m;
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) m.physical = static_cast<int64_t>(pages) * page;
  int64_t available = proc_kb_field("/proc/meminfo", "MemAvailable");
#if defined(__APPLE__)
  // No /proc: free plus inactive (reclaimable) pages, as Activity Monitor counts them.
  vm_statistics64_data_t vm{};
  mach_msg_type_number_t count = HOST_VM_INFO64_COUNT;
  if (available < 0 && page > 0 &&
      host_statistics64(mach_host_self(), HOST_VM_INFO64, reinterpret_cast<host_info64_t>(&vm), &count) ==
          KERN_SUCCESS)
    available = static_cast<int64_t>(vm.free_count + vm.inactive_count) * page;
#endif
  m.available = available > 0 ? available : 0;
  return m;
}

}  // namespace hearth
