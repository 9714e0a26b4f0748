// int64.js lets the harness read int64 outputs of ARG_MAX / ARG_MIN.
//
// tfjs-tflite's model runner cannot read int64 tensors: their dataType is
// reported as "unknown" and data() returns undefined. The DeepLab models
// end in ARG_MAX with output_type INT64. narrowArgOutputs edits a copy of
// the model's flatbuffer in place (one byte each): where a graph output is
// an int64 tensor written by ARG_MAX or ARG_MIN, the operator's
// output_type and the tensor's type become INT32. The class indices TFLite
// computes are the same (they are far below 2^31); run.js widens them back
// to int64 bytes, so callers see the model's declared dtype. An int64
// output written by any other operator is refused.
'use strict';

const INT32 = 2;
const INT64 = 4;
const ARG_MAX = 56;
const ARG_MIN = 79;

// Table reads a flatbuffer table at byte offset pos of buf.
class Table {
  constructor(buf, pos) {
    this.buf = buf;
    this.pos = pos;
    this.vt = pos - buf.readInt32LE(pos);
    this.vtLen = buf.readUInt16LE(this.vt);
  }
  // field returns the absolute offset of field i, or 0 when absent.
  field(i) {
    const o = 4 + 2 * i;
    if (o >= this.vtLen) return 0;
    const rel = this.buf.readUInt16LE(this.vt + o);
    return rel === 0 ? 0 : this.pos + rel;
  }
  table(i) {
    const f = this.field(i);
    return f ? new Table(this.buf, f + this.buf.readUInt32LE(f)) : null;
  }
  // vector returns [start, length] of vector field i, or [0, 0].
  vector(i) {
    const f = this.field(i);
    if (!f) return [0, 0];
    const v = f + this.buf.readUInt32LE(f);
    return [v + 4, this.buf.readUInt32LE(v)];
  }
  tables(i) {
    const [start, n] = this.vector(i);
    const out = [];
    for (let k = 0; k < n; k++) {
      const e = start + 4 * k;
      out.push(new Table(this.buf, e + this.buf.readUInt32LE(e)));
    }
    return out;
  }
  ints(i) {
    const [start, n] = this.vector(i);
    const out = [];
    for (let k = 0; k < n; k++) out.push(this.buf.readInt32LE(start + 4 * k));
    return out;
  }
  u8(i, dflt) {
    const f = this.field(i);
    return f ? this.buf.readUInt8(f) : dflt;
  }
  i32(i, dflt) {
    const f = this.field(i);
    return f ? this.buf.readInt32LE(f) : dflt;
  }
  u32(i, dflt) {
    const f = this.field(i);
    return f ? this.buf.readUInt32LE(f) : dflt;
  }
  string(i) {
    const [start, n] = this.vector(i);
    return n ? this.buf.toString('utf8', start, start + n) : '';
  }
}

// narrowArgOutputs edits buf (a Buffer holding a .tflite file) and returns
// the names of the graph outputs it narrowed (subgraph 0, the one the
// interpreter runs). It throws on an int64 output it cannot narrow. A
// buffer it cannot walk is left alone, for TFLite's loader to judge.
function narrowArgOutputs(buf) {
  if (buf.length < 8 || buf.toString('latin1', 4, 8) !== 'TFL3') return [];
  let plan;
  try {
    plan = findArgOutputs(buf);
  } catch (e) {
    if (e instanceof RangeError) return [];
    throw e;
  }
  for (const p of plan) {
    buf.writeUInt8(INT32, p.option);
    buf.writeUInt8(INT32, p.type);
  }
  return plan.map((p) => p.name);
}

// findArgOutputs returns, for each int64 graph output, its name and the
// offsets of its ARG_MAX/ARG_MIN output_type and of its tensor type.
function findArgOutputs(buf) {
  const model = new Table(buf, buf.readUInt32LE(0));
  const codes = model.tables(1).map((c) => Math.max(c.u8(0, 0), c.i32(3, 0)));
  const sub = model.tables(2)[0];
  if (!sub) throw new Error('the model has no subgraph');
  const tensors = sub.tables(0);
  const ops = sub.tables(3);
  const plan = [];
  for (const t of sub.ints(2)) {
    const tensor = tensors[t];
    if (!tensor || tensor.u8(1, 0) !== INT64) continue;
    const name = tensor.string(3);
    const op = ops.find((o) => o.ints(2).includes(t));
    const code = op ? codes[op.u32(0, 0)] : -1;
    if (code !== ARG_MAX && code !== ARG_MIN) {
      throw new Error(`output ${name} is int64, which tfjs-tflite cannot read, and is not written by ARG_MAX or ARG_MIN`);
    }
    const opts = op.table(4);
    const f = opts && opts.field(0);
    if (!f || buf.readUInt8(f) !== INT64) {
      throw new Error(`output ${name}: its ARG_MAX/ARG_MIN options do not say output_type INT64`);
    }
    plan.push({ name, option: f, type: tensor.field(1) });
  }
  return plan;
}

module.exports = { narrowArgOutputs };
