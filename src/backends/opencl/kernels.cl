// Hearth's OpenCL C kernels (OpenCL C 1.2, no extensions: half values go
// through vload_half/vstore_half, which every device has). The numerics follow
// the CPU backend's scalar references: activations quantized per 32-element
// block with d = amax / 127 and q = nearest-even(x * 127 / amax), an exact
// integer dot per block scaled in float, rope angles by the same running
// product. The program is built with -cl-fp32-correctly-rounded-divide-sqrt,
// so a division rounds as the CPU's does.
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

// Each block format's term of a dot: one weight block (at wb) against one
// converted activation block (at ab), an exact integer dot scaled in float.

// q8_0 (34 bytes: half d, 32 int8) against q8_0.
static float block_q8_0(const __global uchar* wb, const __global uchar* ab) {
  const __global char* wq = (const __global char*)(wb + 2);
  const __global char* aq = (const __global char*)(ab + 2);
  int sumi = 0;
  for (int j = 0; j < QK; ++j) sumi += wq[j] * aq[j];
  return (float)sumi * (load_d(wb) * load_d(ab));
}

// q4_0 (18 bytes: half d, 16 bytes of nibbles, element j low and j+16 high) against q8_0.
static float block_q4_0(const __global uchar* wb, const __global uchar* ab) {
  const __global uchar* wq = wb + 2;
  const __global char* aq = (const __global char*)(ab + 2);
  int sumi = 0;
  for (int j = 0; j < QK / 2; ++j) {
    sumi += ((int)(wq[j] & 0x0f) - 8) * aq[j];
    sumi += ((int)(wq[j] >> 4) - 8) * aq[j + QK / 2];
  }
  return (float)sumi * (load_d(wb) * load_d(ab));
}

// q4_1 (20 bytes: half d, half m, 16 bytes of nibbles) against q8_1 (its s = d * sum(q) adds m).
static float block_q4_1(const __global uchar* wb, const __global uchar* ab) {
  const __global uchar* wq = wb + 4;
  const __global char* aq = (const __global char*)(ab + 4);
  int sumi = 0;
  for (int j = 0; j < QK / 2; ++j) {
    sumi += (int)(wq[j] & 0x0f) * aq[j];
    sumi += (int)(wq[j] >> 4) * aq[j + QK / 2];
  }
  return (float)sumi * (load_d(wb) * load_d(ab)) + load_d(wb + 2) * load_d(ab + 2);
}

// q5_0 (22 bytes: half d, 4 bytes of fifth bits, 16 bytes of nibbles) against q8_0.
static float block_q5_0(const __global uchar* wb, const __global uchar* ab) {
  const uint qh = (uint)wb[2] | (uint)wb[3] << 8 | (uint)wb[4] << 16 | (uint)wb[5] << 24;
  const __global uchar* wq = wb + 6;
  const __global char* aq = (const __global char*)(ab + 2);
  int sumi = 0;
  for (int j = 0; j < QK / 2; ++j) {
    const int q0 = (int)((wq[j] & 0x0f) | ((qh >> j) & 1) << 4) - 16;
    const int q1 = (int)((wq[j] >> 4) | ((qh >> (j + QK / 2)) & 1) << 4) - 16;
    sumi += q0 * aq[j] + q1 * aq[j + QK / 2];
  }
  return (float)sumi * (load_d(wb) * load_d(ab));
}

// A block-format matmul: each work-item sums its (row, token) pair's blocks in order.
#define BLOCK_MATMUL(name, w_bytes, a_bytes, block_dot)                                                     \
  __kernel void name(const __global uchar* w, const __global uchar* a, __global float* y, ulong y_off, ulong k, \
                     ulong n_out) {                                                                          \
    const ulong r = get_global_id(0), t = get_global_id(1);                                                  \
    if (r >= n_out) return;                                                                                  \
    const ulong nb = k / QK;                                                                                 \
    const __global uchar* wr = w + r * nb * w_bytes;                                                         \
    const __global uchar* ar = a + t * nb * a_bytes;                                                         \
    float sum = 0.0f;                                                                                        \
    for (ulong b = 0; b < nb; ++b) sum += block_dot(wr + b * w_bytes, ar + b * a_bytes);                     \
    y[y_off + t * n_out + r] = sum;                                                                          \
  }

BLOCK_MATMUL(matmul_q8_0, 34, 34, block_q8_0)
BLOCK_MATMUL(matmul_q4_0, 18, 34, block_q4_0)
BLOCK_MATMUL(matmul_q4_1, 20, 36, block_q4_1)
BLOCK_MATMUL(matmul_q5_0, 22, 34, block_q5_0)

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

static float silu1(float x) { return x / (1.0f + exp(-x)); }
static float gelu1(float x) {
  return 0.5f * x * (1.0f + tanh(0.79788456080286535587989211986876f * x * (1.0f + 0.044715f * x * x)));
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

// y = (x * s) * w, s = 1 / sqrt(mean(x^2) + eps); has_weight 0: y = x * s.
__kernel void rms_norm(const __global float* x, ulong x_off, const __global float* w, int has_weight,
                       __global float* y, ulong y_off, ulong n, ulong n_rows, float eps) {
  const ulong row = get_global_id(0);
  if (row >= n_rows) return;
  const __global float* xr = x + x_off + row * n;
  __global float* yr = y + y_off + row * n;
  float sum = 0.0f;
  for (ulong i = 0; i < n; ++i) sum += xr[i] * xr[i];
  const float mean = sum / (float)n;
  const float s = 1.0f / sqrt(mean + eps);
  for (ulong i = 0; i < n; ++i) yr[i] = has_weight ? (xr[i] * s) * w[i] : xr[i] * s;
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
    xr[i] = exp(xr[i] - top);
    sum += xr[i];
  }
  const float inv = 1.0f / sum;
  for (ulong i = 0; i < n; ++i) xr[i] *= inv;
}

// In place on [n_tokens][n_heads][head_dim]; one work-item per (token, head).
// The angle of pair i is position * ratio^i (a running product, as the CPU
// computes it) times freq_scale, divided by factors[i] when has_factors.
__kernel void rope(__global float* x, ulong x_off, const __global int* positions, const __global float* factors,
                   int has_factors, ulong n_tokens, ulong n_heads, ulong head_dim, ulong n_rot, float ratio,
                   float freq_scale, int neox) {
  const ulong id = get_global_id(0);
  if (id >= n_tokens * n_heads) return;
  const ulong t = id / n_heads;
  __global float* xh = x + x_off + id * head_dim;
  const ulong half_rot = n_rot / 2;
  float theta = (float)positions[t];
  for (ulong i = 0; i < half_rot; ++i) {
    const float angle = has_factors ? freq_scale * theta / factors[i] : freq_scale * theta;
    const float c = cos(angle), s = sin(angle);
    theta *= ratio;
    const ulong i0 = neox ? i : 2 * i;
    const ulong i1 = neox ? i + half_rot : 2 * i + 1;
    const float a = xh[i0], b = xh[i1];
    xh[i0] = a * c - b * s;
    xh[i1] = a * s + b * c;
  }
}
