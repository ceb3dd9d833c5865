"""Rewrite a .gguf file's tensors of one quantization type in another, the rest byte for byte.

Qwen2.5-0.5B's rows are 896 wide, which k-quants (256-wide blocks) cannot cut, so its "Q4_K_M"
file holds most weights as Q5_0, which llama.cpp's CPU backend multiplies without the repacked
AVX2 kernels it has for Q4_0. The same weights as Q4_0 read a prompt about 1.8 times as fast and
generate about 1.3 times as fast on 2 cores (docs/explanations.md, "A faster file of the same
model"). Done once, at `recagent model pull`, with gguf-py's reference quantizer (numpy)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def requantize(src: Path, dst: Path, from_type: str, to_type: str,
               progress: Callable[[int], None] | None = None) -> None:
    """Write `src` to `dst` with every weight matrix of type `from_type` (e.g. "Q5_0") dequantized
    and quantized again as `to_type` (e.g. "Q4_0"); metadata and other tensors are copied unchanged,
    but for the file-type field, which would no longer be true. `progress` gets the bytes of
    the source's bytes as they are read."""
    import gguf
    import numpy as np
    from gguf import GGMLQuantizationType as Q

    source, target = Q[from_type], Q[to_type]
    reader = gguf.GGUFReader(src)
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    writer = gguf.GGUFWriter(dst, arch)
    for field in reader.fields.values():
        if field.name in (gguf.Keys.General.ARCHITECTURE, gguf.Keys.General.FILE_TYPE) or field.name.startswith("GGUF."):
            continue  # the writer adds the architecture and the GGUF.* header itself
        sub_type = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), field.types[0], sub_type=sub_type)

    def converted(tensor) -> bool:  # the token embeddings are a table read a row per token: no speed to gain
        return tensor.tensor_type == source and tensor.name != "token_embd.weight"

    for t in reader.tensors:
        if converted(t):
            shape = gguf.quants.quant_shape_to_byte_shape(tuple(int(n) for n in reversed(t.shape)), target)
            writer.add_tensor_info(t.name, shape, np.dtype(np.uint8), int(np.prod(shape)), target)
        else:
            writer.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    reported = 0
    for t in reader.tensors:
        data = gguf.quants.quantize(gguf.quants.dequantize(t.data, source), target) if converted(t) else t.data
        writer.write_tensor_data(data, tensor_endianess=reader.endianess)
        reported += int(t.n_bytes)
        if progress:
            progress(int(t.n_bytes))
    writer.close()
    if progress:
        progress(Path(src).stat().st_size - reported)  # the header and metadata: the whole file is read

