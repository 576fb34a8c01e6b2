// Reference conversions of the 32-element block formats (q4_0 q4_1 q5_0 q5_1 q8_0 q8_1).
#include "quant/families.h"

namespace hearth::quant {

bool legacy_row_converters(DType type, RowConverters* out) { return false; }

}  // namespace hearth::quant
