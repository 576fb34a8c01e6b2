// Reference conversions of the 256-element super-block formats (q4_k q5_k q6_k q8_k).
#include "quant/families.h"

namespace hearth::quant {

bool kquant_row_converters(DType type, RowConverters* out) { return false; }

}  // namespace hearth::quant
