// What the operating system says about memory: this process's resident and
// peak resident size, and the machine's physical and available RAM. The one
// place that reads /proc (Linux) or asks the system otherwise.
#pragma once

#include <cstdint>

namespace hearth {

struct ProcessMemory {
  int64_t resident = 0;       // bytes now (VmRSS)
  int64_t peak_resident = 0;  // high-water mark since start (VmHWM)
};
ProcessMemory process_memory();

struct SystemMemory {
  int64_t physical = 0;   // installed RAM
  int64_t available = 0;  // what can be used without swapping (MemAvailable); 0 if unknown
};
SystemMemory system_memory();

}  // namespace hearth
