// Hearth's OpenCL C kernels (OpenCL C 1.2; half values go through
// vload_half/vstore_half, which every device has; double only where the device
// has cl_khr_fp64, HEARTH_FP64). The numerics are the CPU backend's, bit for bit:
// activations quantized per 32-element block with d = amax / 127 and
// q = nearest-even(x * 127 / amax); block matmuls summed in the order the CPU's
// kernel for that shape uses (core/sum_order.h); exp as the CPU's exp_f32; the
// RMS norm's sum of squares in the CPU's order; rope by the CPU's own cos and
// sin. The program is built with -cl-fp32-correctly-rounded-divide-sqrt, so a
// division or square root rounds as the CPU's does, and nothing is fused
// unless written as fma(). The f32 and f16 matmuls are the exception: they
// match the CPU to rounding, not to the bit.
#pragma OPENCL FP_CONTRACT OFF

#define QK 32

// ---- activation conversion (one work-item per 32-element block) ----

// q8_0 block: half d, 32 x int8 (34 bytes). q8_1: half d, half s, 32 x int8 (36 bytes).
static int quantize_block(const __global float* x, __global uchar* qs, float* d_out) {
  float amax = 0.0f;
  for (int j = 0; j < QK; ++j) amax = fmax(amax, fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  int sum = 0;
  for (int j = 0; j < QK; ++j) {
    const int q = convert_int(rint(x[j] * id));
    qs[j] = (uchar)(char)q;
    sum += q;
  }
  *d_out = d;
  return sum;
}

__kernel void quantize_q8_0(const __global float* x, ulong x_off, __global uchar* y, ulong n_blocks) {
  const ulong b = get_global_id(0);
  if (b >= n_blocks) return;
  __global uchar* block = y + b * 34;
  float d;
  quantize_block(x + x_off + b * QK, block + 2, &d);
  vstore_half_rte(d, 0, (__global half*)block);
}

__kernel void quantize_q8_1(const __global float* x, ulong x_off, __global uchar* y, ulong n_blocks) {
  const ulong b = get_global_id(0);
  if (b >= n_blocks) return;
  __global uchar* block = y + b * 36;
  float d;
  const int sum = quantize_block(x + x_off + b * QK, block + 4, &d);
  vstore_half_rte(d, 0, (__global half*)block);
  // s = d * sum(q) in f32, then rounded to half (the CPU's order).
  vstore_half_rte((float)sum * d, 1, (__global half*)block);
}

// f32 -> f16 activations for f16 weights (ties to even, as the CPU rounds).
__kernel void convert_f16(const __global float* x, ulong x_off, __global half* y, ulong n) {
  const ulong i = get_global_id(0);
  if (i < n) vstore_half_rte(x[x_off + i], i, y);
}

// ---- matrix products: y[t][r] = dot(weight row r, activation row t) ----
// One work-item per (weight row, token); global size (n_out, n_tokens).

static float load_d(const __global uchar* p) { return vload_half(0, (const __global half*)p); }

// The block formats' integer weights, element j (0..31) of the block at wb:
// byte j of the nibbles holds element j low and element j + 16 high.
static int weight_q8_0(const __global uchar* wb, int j) { return (int)((const __global char*)(wb + 2))[j]; }
static int weight_q4_0(const __global uchar* wb, int j) {
  const uint b = wb[2 + (j & 15)];
  return (int)(j < 16 ? b & 15u : b >> 4) - 8;
}
static int weight_q4_1(const __global uchar* wb, int j) {
  const uint b = wb[4 + (j & 15)];
  return (int)(j < 16 ? b & 15u : b >> 4);
}
static int weight_q5_0(const __global uchar* wb, int j) {
  const uint qh = (uint)wb[2] | (uint)wb[3] << 8 | (uint)wb[4] << 16 | (uint)wb[5] << 24;
  const uint b = wb[6 + (j & 15)];
  return (int)((j < 16 ? b & 15u : b >> 4) | ((qh >> j) & 1u) << 4) - 16;
}

// ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7)): the CPU's horizontal sum.
static float hsum8(const float* v) { return ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7])); }

// The summation orders of core/sum_order.h (the numbers are its SumOrder values).
#define ORDER_BLOCKS 1
#define ORDER_BLOCKS_FMA 2
#define ORDER_LANES8_PAIRS 3
#define ORDER_LANES8_SINGLE 4

// A block-format matmul: each work-item sums its (row, token) pair's blocks in
// the order the CPU's kernel for this shape uses, so that the float is the
// CPU's. Activations: a_head bytes of scales, then 32 int8 values.
#define BLOCK_MATMUL(name, w_bytes, a_bytes, a_head, weight, affine)                                             \
  __kernel void name(const __global uchar* w, const __global uchar* a, __global float* y, ulong y_off, ulong k,      \
                     ulong n_out, int order) {                                                                    \
    const ulong r = get_global_id(0), t = get_global_id(1);                                                       \
    if (r >= n_out) return;                                                                                       \
    const ulong nb = k / QK, whole = nb / 4 * 4;                                                                  \
    const __global uchar* wr = w + r * nb * w_bytes;                                                              \
    const __global uchar* ar = a + t * nb * a_bytes;                                                              \
    float sum = 0.0f, tail = 0.0f;                                                                                \
    float lanes_a[8] = {0, 0, 0, 0, 0, 0, 0, 0}, lanes_b[8] = {0, 0, 0, 0, 0, 0, 0, 0}, offs[4] = {0, 0, 0, 0};   \
    for (ulong b = 0; b < nb; ++b) {                                                                              \
      const __global uchar* wb = wr + b * w_bytes;                                                                \
      const __global uchar* ab = ar + b * a_bytes;                                                                \
      const __global char* aq = (const __global char*)(ab + a_head);                                              \
      int lane[8], idot = 0;                                                                                      \
      for (int m = 0; m < 8; ++m) {                                                                               \
        int l = 0;                                                                                                \
        for (int e = 4 * m; e < 4 * m + 4; ++e) l += weight(wb, e) * aq[e];                                       \
        lane[m] = l;                                                                                              \
        idot += l;                                                                                                \
      }                                                                                                           \
      const float dd = load_d(wb) * load_d(ab);                                                                   \
      const float mw = affine ? load_d(wb + 2) : 0.0f, sa = affine ? load_d(ab + 2) : 0.0f;                       \
      if (order == ORDER_BLOCKS) {                                                                                \
        float term = (float)idot * dd;                                                                            \
        if (affine) term = term + mw * sa;                                                                        \
        sum = sum + term;                                                                                         \
      } else if (order == ORDER_BLOCKS_FMA) {                                                                     \
        sum = fma((float)idot, dd, sum);                                                                          \
        if (affine) sum = fma(mw, sa, sum);                                                                       \
      } else if (order == ORDER_LANES8_PAIRS) {                                                                   \
        const bool in_group = b < whole;                                                                          \
        float* acc = in_group && (b & 1) ? lanes_b : lanes_a;                                                     \
        for (int m = 0; m < 8; ++m) acc[m] = fma(dd, (float)lane[m], acc[m]);                                     \
        if (affine) {                                                                                             \
          if (in_group) offs[b & 3] = fma(mw, sa, offs[b & 3]);                                                   \
          else tail = fma(mw, sa, tail);                                                                          \
        }                                                                                                         \
      } else {                                                                                                    \
        for (int m = 0; m < 8; ++m) lanes_a[m] = fma(dd, (float)lane[m], lanes_a[m]);                             \
        if (affine) offs[0] = fma(mw, sa, offs[0]);                                                               \
      }                                                                                                           \
    }                                                                                                             \
    if (order == ORDER_LANES8_PAIRS) {                                                                            \
      for (int m = 0; m < 8; ++m) lanes_a[m] = lanes_a[m] + lanes_b[m];                                           \
      sum = hsum8(lanes_a);                                                                                       \
      if (affine) sum = (sum + ((offs[0] + offs[2]) + (offs[1] + offs[3]))) + tail;                               \
    } else if (order == ORDER_LANES8_SINGLE) {                                                                    \
      sum = hsum8(lanes_a);                                                                                       \
      if (affine) sum = sum + offs[0];                                                                            \
    }                                                                                                             \
    y[y_off + t * n_out + r] = sum;                                                                               \
  }

BLOCK_MATMUL(matmul_q8_0, 34, 34, 2, weight_q8_0, 0)
BLOCK_MATMUL(matmul_q4_0, 18, 34, 2, weight_q4_0, 0)
BLOCK_MATMUL(matmul_q4_1, 20, 36, 4, weight_q4_1, 1)
BLOCK_MATMUL(matmul_q5_0, 22, 34, 2, weight_q5_0, 0)

__kernel void matmul_f32(const __global float* w, const __global float* x, ulong x_off, __global float* y,
                         ulong y_off, ulong k, ulong n_out) {
  const ulong r = get_global_id(0), t = get_global_id(1);
  if (r >= n_out) return;
  const __global float* wr = w + r * k;
  const __global float* xr = x + x_off + t * k;
  float sum = 0.0f;
  for (ulong i = 0; i < k; ++i) sum += wr[i] * xr[i];
  y[y_off + t * n_out + r] = sum;
}

__kernel void matmul_f16(const __global half* w, const __global half* a, __global float* y, ulong y_off, ulong k,
                         ulong n_out) {
  const ulong r = get_global_id(0), t = get_global_id(1);
  if (r >= n_out) return;
  const __global half* wr = w + r * k;
  const __global half* ar = a + t * k;
  float sum = 0.0f;
  for (ulong i = 0; i < k; ++i) sum += vload_half(i, wr) * vload_half(i, ar);
  y[y_off + t * n_out + r] = sum;
}

// ---- element-wise (one work-item per element) ----

// e^x exactly as the CPU's exp_f32 (backends/cpu/exp_f32.h): the same f32
// operations in the same order, none fused, so the same bits.
static float exp_f32(float x) {
  const float xc = fmin(fmax(x, -87.5f), 88.8f);
  const float k = rint(xc * 1.44269504088896341f);
  const float r = (xc - k * 0.693145751953125f) - k * 1.42860682030941723212e-6f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int ki = convert_int(k);
  const int k1 = ki >> 1;
  const float e = (p * as_float((k1 + 127) << 23)) * as_float((ki - k1 + 127) << 23);
  return isnan(x) ? x : x < -87.33654f ? 0.0f : e;
}

static float silu1(float x) { return x / (1.0f + exp_f32(-x)); }
// As the CPU's: x / (1 + e^(-2u)) with u = (c x)(1 + (a x) x).
static float gelu1(float x) {
  const float u = (0.79788456080286535587989211986876f * x) * (1.0f + (0.044715f * x) * x);
  return x / (1.0f + exp_f32(u * -2.0f));
}

// op: 0 add, 1 mul, 2 swiglu (silu(a) * b), 3 geglu (gelu(a) * b)
__kernel void binary(const __global float* x0, ulong a_off, const __global float* x1, ulong b_off, __global float* y,
                     ulong y_off, ulong n, int op) {
  const ulong i = get_global_id(0);
  if (i >= n) return;
  const float a = x0[a_off + i], b = x1[b_off + i];
  float r;
  switch (op) {
    case 0: r = a + b; break;
    case 1: r = a * b; break;
    case 2: r = silu1(a) * b; break;
    default: r = gelu1(a) * b; break;
  }
  y[y_off + i] = r;
}

__kernel void scale(const __global float* x, ulong x_off, __global float* y, ulong y_off, ulong n, float s) {
  const ulong i = get_global_id(0);
  if (i < n) y[y_off + i] = x[x_off + i] * s;
}

__kernel void add_bias(const __global float* x, ulong x_off, const __global float* bias, __global float* y,
                       ulong y_off, ulong n, ulong total) {
  const ulong i = get_global_id(0);
  if (i < total) y[y_off + i] = x[x_off + i] + bias[i % n];
}

// ---- rows (one work-item per row) ----

// y = (x * s) * w, s = 1 / sqrt(mean(x^2) + eps); has_weight 0: y = x * s. The
// squares (each rounded to f32) are summed as the CPU's sum_of_squares does
// (backends/cpu/norm.cpp): element i into running sum i % 8, then the CPU's
// hsum8, in double where the device has it (then the result is the CPU's).
#ifdef HEARTH_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double norm_sum_t;
#else
typedef float norm_sum_t;
#endif
__kernel void rms_norm(const __global float* x, ulong x_off, const __global float* w, int has_weight,
                       __global float* y, ulong y_off, ulong n, ulong n_rows, float eps) {
  const ulong row = get_global_id(0);
  if (row >= n_rows) return;
  const __global float* xr = x + x_off + row * n;
  __global float* yr = y + y_off + row * n;
  norm_sum_t s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (ulong i = 0; i < n; ++i) {
    const float sq = xr[i] * xr[i];
    s[i & 7] += (norm_sum_t)sq;
  }
  const norm_sum_t sum = ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
  const float mean = (float)(sum / (norm_sum_t)n);
  const float scale = 1.0f / sqrt(mean + eps);
  for (ulong i = 0; i < n; ++i) yr[i] = has_weight ? (xr[i] * scale) * w[i] : xr[i] * scale;
}

// In place over each of n_rows rows of n values.
__kernel void softmax_rows(__global float* x, ulong x_off, ulong n, ulong n_rows) {
  const ulong row = get_global_id(0);
  if (row >= n_rows) return;
  __global float* xr = x + x_off + row * n;
  float top = xr[0];
  for (ulong i = 1; i < n; ++i) top = xr[i] > top ? xr[i] : top;
  float sum = 0.0f;
  for (ulong i = 0; i < n; ++i) {
    xr[i] = exp_f32(xr[i] - top);
    sum += xr[i];
  }
  const float inv = 1.0f / sum;
  for (ulong i = 0; i < n; ++i) xr[i] *= inv;
}

// In place on [n_tokens][n_heads][head_dim]; one work-item per (token, head).
// cos_sin holds, per token, the cos and sin of each of the n_rot / 2 pairs as
// the CPU computes them (cpu::rope_cos_sin), so the rotation is the CPU's.
__kernel void rope(__global float* x, ulong x_off, const __global float* cos_sin, ulong n_tokens, ulong n_heads,
                   ulong head_dim, ulong n_rot, int neox) {
  const ulong id = get_global_id(0);
  if (id >= n_tokens * n_heads) return;
  const ulong t = id / n_heads;
  __global float* xh = x + x_off + id * head_dim;
  const ulong half_rot = n_rot / 2;
  const __global float* cs = cos_sin + t * half_rot * 2;
  for (ulong i = 0; i < half_rot; ++i) {
    const float c = cs[2 * i], s = cs[2 * i + 1];
    const ulong i0 = neox ? i : 2 * i;
    const ulong i1 = neox ? i + half_rot : 2 * i + 1;
    const float a = xh[i0], b = xh[i1];
    xh[i0] = a * c - b * s;
    xh[i1] = a * s + b * c;
  }
}
