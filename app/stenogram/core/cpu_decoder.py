"""Whisper's text decoder in numpy, for the CPU backend only: one token step for many rows.

On a CPU, MLX's per-operation overhead (about a hundred small operations a step) and its
element-at-a-time ``exp`` made a decoder step of tiny.en cost 11 ms for one row and 24 ms for
three, of which the arithmetic is a small part. This runs the same decoder, weight for weight,
with numpy: its caches are preallocated and written in place, the cross-attention keys and
values are laid out once per audio (shared by that audio's beams), and the vocabulary
projection reads a (n_state, n_vocab) copy of the tied embedding. Where ``half_matrix``'s
kernel runs, every weight of a step is read in fp16 by it (the projection of 1-3 rows of
tiny.en 1.2 ms instead of numpy's 2.2-5.7; tiny.en's beam 5 over en_long 4.6 s -> 3.3 s);
elsewhere numpy's fp32 BLAS does the products. Where ``vector_kernels`` runs (AVX-512), the
attention is C too, reading each audio's keys and values in place through an index (a
15-row beam step of tiny.en 19.8 -> 12.5 ms). On a Mac the GPU runs MLX's own decoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from stenogram.core import half_matrix, vector_kernels
from stenogram.core.cpu_encoder import _gelu, _layer_norm, _linear, _norm, _np, _softmax_inplace
from stenogram.core.cpu_threads import single_threaded_blas
from stenogram.core.half_matrix import HalfMatrix
from stenogram.core.row_padding import padding_mask, row_pads, unpadded_positions

CACHE_GROWTH = 128  # self-attention cache positions added at a time

Weights = np.ndarray | HalfMatrix  # (n_in, n_out): x @ weights
Projection = Weights  # (n_state, n_vocab): the tied embedding, transposed


class _Block:
    """One decoder block's weights, read as ``x @ weights``: fp16 copies for ``half_matrix``'s
    kernel where it runs, else views of MLX's own arrays, transposed (no copies); the
    self-attention's query, key and value side by side either way (one product a step)."""

    def __init__(self, block: Any, half: bool, kernels: bool) -> None:
        attn, cross = block.attn, block.cross_attn
        self.n_head = attn.n_head
        n_state = attn.query.weight.shape[0]
        self.kernels = kernels  # attention by vector_kernels (the keys of the audio in its layout)
        # Whisper scales queries and keys by d^-1/4 each; queries alone by d^-1/2 here
        self.scale = np.float32((n_state // self.n_head) ** -0.5)

        # MLX's layers whose weights are held here as fp16 copies (none without the kernel)
        self.copied_layers: list[Any] = []

        def weights(matrix: np.ndarray, *layers: Any) -> Weights:
            if not half:
                return matrix
            self.copied_layers.extend(layers)
            return HalfMatrix(matrix)

        def linear(layer: Any) -> tuple[Weights, np.ndarray]:
            matrix, bias = _linear(layer)
            return weights(matrix, layer), bias

        self.ln1 = _norm(block.attn_ln)
        qkv = np.concatenate([_np(attn.query.weight).T, _np(attn.key.weight).T, _np(attn.value.weight).T], axis=1)
        self.qkv = weights(qkv, attn.query, attn.key, attn.value)
        zeros = np.zeros(n_state, dtype=np.float32)
        self.qkv_bias = np.concatenate([_np(attn.query.bias), zeros, _np(attn.value.bias)])
        self.out = linear(attn.out)
        self.ln2 = _norm(block.cross_attn_ln)
        self.cross_q, self.cross_out = linear(cross.query), linear(cross.out)
        # keys and values of the audio: once per audio, over all its frames (numpy's BLAS)
        self.cross_k, self.cross_v = _np(cross.key.weight).T, _linear(cross.value)
        self.ln3 = _norm(block.mlp_ln)
        self.mlp1, self.mlp2 = linear(block.mlp1), linear(block.mlp2)

    def queries(self, x: np.ndarray, weights: tuple[Weights, np.ndarray]) -> np.ndarray:
        q = x @ weights[0]
        q += weights[1]
        q *= self.scale
        return q

    def cross_keys_values(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keys (audio, head, d, frames), or in ``vector_kernels.tiled_keys``'s layout, and values
        (audio, head, frames, d) of the audio."""
        n_audio, n_frames, n_state = features.shape
        d = n_state // self.n_head
        keys = (features @ self.cross_k).reshape(n_audio, n_frames, self.n_head, d)
        values = (features @ self.cross_v[0] + self.cross_v[1]).reshape(n_audio, n_frames, self.n_head, d)
        values = np.ascontiguousarray(values.transpose(0, 2, 1, 3))
        if self.kernels:
            return vector_kernels.tiled_keys(keys), values
        return np.ascontiguousarray(keys.transpose(0, 2, 3, 1)), values


class NumpyDecoder:
    """The text decoder of a loaded mlx_whisper model, on numpy over (mostly shared) weights."""

    def __init__(self, decoder: Any) -> None:
        # (n_state, n_vocab): the projection's layout, also read for lookups (by columns)
        self.projection = _projection(decoder.token_embedding)
        self.positions = _np(decoder.positional_embedding)
        # every product of a step in fp16 through our kernel, or all in numpy's BLAS
        self.half = half_matrix.available()
        # the attention and its softmax in C too, where those kernels run (heads of their width)
        head_dims = {b.attn.query.weight.shape[0] // b.attn.n_head for b in decoder.blocks}
        self.kernels = vector_kernels.available() and head_dims == {vector_kernels.HEAD_DIM}
        self.blocks = [_Block(b, self.half, self.kernels) for b in decoder.blocks]
        self.ln = _norm(decoder.ln)
        self.n_ctx = len(self.positions)

    def session(self) -> DecoderSession:
        return DecoderSession(self)

    def release_mlx_copies(self) -> None:
        """Frees MLX's fp32 weights of the layers this decoder holds in fp16 itself: every
        decode on a CPU runtime reads ours, and MLX's would be 30 MB (tiny) to 88 MB (base)
        never read. The cross-attention keys' and values' weights stay (ours are views of
        them), as do biases and norms. MLX's decoder cannot run afterwards: a shape error,
        not a wrong answer."""
        import mlx.core as mx

        for block in self.blocks:
            for layer in block.copied_layers:
                layer.weight = mx.zeros((0, layer.weight.shape[1]), dtype=layer.weight.dtype)


class DecoderSession:
    """The caches of one decoding run: rows of tokens over the audios they listen to.

    Rows come in groups of ``group`` per audio (the beams of a beam search; one row per audio
    for greedy decoding), in audio order.
    """

    def __init__(self, decoder: NumpyDecoder) -> None:
        self.decoder = decoder
        self.group = 1
        self.length = 0
        # When a list: each layer's cross-attention scores (audio, head, token, frame) are
        # appended to it, before their softmax (the word aligner reads them)
        self.cross_scores: list[np.ndarray] | None = None
        self._self_kv: list[tuple[np.ndarray, np.ndarray]] = []
        self._cross_kv: list[tuple[np.ndarray, np.ndarray]] = []
        # which audio of the caches each audio still decoding listens to (the kernels read
        # them in place; numpy's code compacts the caches instead)
        self._audios = np.zeros(0, dtype=np.int64)
        # each row's padding on the left (prompts of different lengths), or None: no padding
        self._pads: np.ndarray | None = None
        # Each audio's prompt, read by all its rows (its beams): keys and values per layer
        # (audio, head, position, d), ``_prefix_length`` positions; the rows' own caches
        # (``_self_kv``) hold the positions after it. A beam step then reads an audio's prompt
        # once for all its beams, and reordering beams copies only what they decoded.
        self._prefix_kv: list[tuple[np.ndarray, np.ndarray]] = []
        self._prefix_length = 0

    def start(self, tokens: np.ndarray, features: np.ndarray, positions: Sequence[int],
              cross_kv: list[tuple[np.ndarray, np.ndarray]] | None = None,
              pads: Sequence[int] | None = None) -> np.ndarray:
        """Read each audio's prompt (one row per audio); logits (audio, len(positions), vocab)
        at the prompt positions asked for. ``cross_kv``: the audios' cross-attention keys and
        values as another session computed them (``audio_keys_values``), not computed again.
        ``pads``: how many of each row's first tokens are padding, never read (the row's
        tokens are at the positions they would have alone)."""
        features = np.asarray(features, dtype=np.float32)
        if cross_kv is None:
            cross_kv = [block.cross_keys_values(features) for block in self.decoder.blocks]
        self._cross_kv = cross_kv
        self._audios = np.arange(len(features), dtype=np.int64)
        self._self_kv, self._prefix_kv = [], []
        self.group, self.length, self._prefix_length = 1, 0, 0
        self._pads = row_pads(pads)
        hidden = self._forward(np.asarray(tokens), headroom=0)
        # the prompt's caches become the audios' shared prefix (its keys tiled for the kernels,
        # as the audio's are); the rows' own caches start empty
        self._prefix_kv, self._self_kv = self._self_kv, []
        if self.decoder.kernels:
            self._prefix_kv = [(vector_kernels.tiled_keys(k[:, :, : self.length].transpose(0, 2, 1, 3)), v)
                               for k, v in self._prefix_kv]
        self._prefix_length = self.length
        return self._project(hidden[:, list(positions)])

    def audio_keys_values(self, audio: int) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """Audio ``audio``'s (as given to ``start``) cross-attention keys and values, each
        layer's, as views for another session's ``start``; None once they have been compacted
        (numpy's code drops audios that leave by moving the others)."""
        if not self.decoder.kernels:
            return None
        return [(k[audio : audio + 1], v[audio : audio + 1]) for k, v in self._cross_kv]

    def step(self, last_tokens: np.ndarray) -> np.ndarray:
        """Logits (rows, vocab) for the token after ``last_tokens`` (rows,)."""
        hidden = self._forward(np.asarray(last_tokens).reshape(-1, 1))
        return self._project(hidden)[:, 0]

    def repeat_rows(self, group: int) -> None:
        """Each row becomes ``group`` identical rows (the beams of an audio, before they differ)."""
        if self.length == self._prefix_length:  # nothing of their own yet: caches come with a step
            self._self_kv = []
        self._self_kv = [(np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)) for k, v in self._self_kv]
        if self._pads is not None:
            self._pads = np.repeat(self._pads, group)
        self.group *= group

    def select(self, rows: Sequence[int] | None, audios: Sequence[int] | None = None) -> None:
        """Keep (and reorder) the self-attention caches of ``rows``, and the audios ``audios``
        (positions among the audios still decoding); None keeps them all as they are."""
        if rows is not None:
            index = np.asarray(rows, dtype=np.intp)
            if self._pads is not None:
                self._pads = self._pads[index]
            own = self.length - self._prefix_length
            self._self_kv = [(_moved(k, index, own), _moved(v, index, own)) for k, v in self._self_kv]
        if audios is not None:
            index = np.asarray(audios, dtype=np.intp)
            if self.decoder.kernels:
                self._audios = self._audios[index]
            else:
                self._cross_kv = [(_moved(k, index), _moved(v, index)) for k, v in self._cross_kv]
                self._prefix_kv = [(_moved(k, index), _moved(v, index)) for k, v in self._prefix_kv]
                self._audios = np.arange(len(index), dtype=np.int64)

    def _forward(self, tokens: np.ndarray, headroom: int = CACHE_GROWTH) -> np.ndarray:
        if not self.decoder.half:
            return self._layers(tokens, headroom)
        # The kernel's products run on our threads; numpy's few left (attention) on one
        # thread each: OpenBLAS's own threads would spin between them, holding the cores.
        with single_threaded_blas():
            return self._layers(tokens, headroom)

    def _layers(self, tokens: np.ndarray, headroom: int) -> np.ndarray:
        n_rows, n_new = tokens.shape
        start = self.length
        if start + n_new > self.decoder.n_ctx:
            raise ValueError(f"{start + n_new} tokens are more than the decoder's {self.decoder.n_ctx}")
        if self._prefix_length and n_new != 1:
            raise ValueError("after the prompt, tokens come one a step")
        x = embedding_rows(self.decoder.projection, tokens) + self._positions(start, n_new)
        self._reserve(n_rows, start - self._prefix_length + n_new, headroom)
        prefixes = self._prefix_kv or [None] * len(self.decoder.blocks)
        for block, self_kv, prefix_kv, cross_kv in zip(self.decoder.blocks, self._self_kv, prefixes, self._cross_kv,
                                                       strict=True):
            x = x + self._self_attention(block, _layer_norm(x, *block.ln1), self_kv, prefix_kv, start)
            x = x + self._cross_attention(block, _layer_norm(x, *block.ln2), cross_kv)
            hidden = _layer_norm(x, *block.ln3) @ block.mlp1[0]
            hidden += block.mlp1[1]
            x = x + _gelu(hidden) @ block.mlp2[0] + block.mlp2[1]
        self.length = start + n_new
        return _layer_norm(x, *self.decoder.ln)

    def _positions(self, start: int, n_new: int) -> np.ndarray:
        """Positional embeddings of cache positions [start, start + n_new): a padded row's
        tokens at the positions they would have without its padding."""
        if self._pads is None:
            return self.decoder.positions[start : start + n_new]
        return self.decoder.positions[unpadded_positions(self._pads, start, n_new)]

    def _self_attention(self, block: _Block, x: np.ndarray, kv: tuple[np.ndarray, np.ndarray],
                        prefix_kv: tuple[np.ndarray, np.ndarray] | None, start: int) -> np.ndarray:
        """Attention over the audio's prompt (``prefix_kv``, after ``start``) and the row's own
        tokens; ``start``: the first new token's position."""
        n_rows, n_new, n_state = x.shape
        heads, d = block.n_head, n_state // block.n_head

        qkv = (x @ block.qkv + block.qkv_bias).reshape(n_rows, n_new, 3, heads, d).transpose(2, 0, 3, 1, 4)
        keys, values = kv
        own_start = start - self._prefix_length
        own_end = own_start + n_new
        keys[:, :, own_start:own_end] = qkv[1]
        values[:, :, own_start:own_end] = qkv[2]
        queries = qkv[0] * block.scale
        if block.kernels and n_new == 1:
            prefix = None
            if prefix_kv is not None:
                prefix = vector_kernels.SharedPrefix(*prefix_kv, self._prefix_length, self._audios, self._pads)
            out = vector_kernels.self_attend(queries.reshape(n_rows, heads, d), keys, values, own_end, prefix)
            return out.reshape(n_rows, 1, n_state) @ block.out[0] + block.out[1]
        if prefix_kv is not None:
            out = self._attend_with_prefix(queries, keys[:, :, :own_end], values[:, :, :own_end], prefix_kv)
        else:
            scores = queries @ keys[:, :, :own_end].swapaxes(-1, -2)  # (rows, heads, new, end)
            if n_new > 1:  # a later token of the prompt sees no token after it
                scores += np.triu(np.full((n_new, own_end), -np.inf, dtype=np.float32), k=start + 1)
            if self._pads is not None:
                scores += padding_mask(self._pads, start, n_new)
            out = _softmax_inplace(scores) @ values[:, :, :own_end]
        out = out.transpose(0, 2, 1, 3).reshape(n_rows, n_new, n_state)
        return out @ block.out[0] + block.out[1]

    def _attend_with_prefix(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray,
                            prefix_kv: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """numpy's attention of one new token a row (queries (rows, heads, 1, d)) over its
        audio's prompt, then its own ``keys`` and ``values`` (rows, heads, n, d)."""
        n_rows, heads, _, d = queries.shape
        length = self._prefix_length
        n_audio = len(self._audios)  # numpy's code keeps the audios still decoding compacted
        prefix_keys, prefix_values = (p[:n_audio, :, :length] for p in prefix_kv)
        by_audio = queries.reshape(n_audio, self.group, heads, 1, d)
        shared = (by_audio @ prefix_keys[:, None].swapaxes(-1, -2)).reshape(n_rows, heads, 1, length)
        if self._pads is not None:  # a row's left padding is not read
            shared += padding_mask(self._pads, length, 1)[..., :length]
        weights = _softmax_inplace(np.concatenate([shared, queries @ keys.swapaxes(-1, -2)], axis=-1))
        from_prefix = weights[..., :length].reshape(n_audio, self.group, heads, 1, length) @ prefix_values[:, None]
        return from_prefix.reshape(n_rows, heads, 1, d) + weights[..., length:] @ values

    def _cross_attention(self, block: _Block, x: np.ndarray, kv: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        n_rows, n_new, n_state = x.shape
        heads, d = block.n_head, n_state // block.n_head
        keys, values = kv
        n_audio = len(self._audios)
        q = block.queries(x, block.cross_q).reshape(n_audio, self.group * n_new, heads, d)
        if block.kernels:
            out, raw = vector_kernels.cross_attend(q, keys, values, self._audios, self.cross_scores is not None)
            if raw is not None:
                self.cross_scores.append(raw)
            return out.reshape(n_rows, n_new, n_state) @ block.cross_out[0] + block.cross_out[1]
        scores = q.transpose(0, 2, 1, 3) @ keys  # (audio, heads, rows of it, frames)
        if self.cross_scores is not None:
            self.cross_scores.append(scores.copy())
        out = _softmax_inplace(scores) @ values
        out = out.transpose(0, 2, 1, 3).reshape(n_rows, n_new, n_state)
        return out @ block.cross_out[0] + block.cross_out[1]

    def _project(self, hidden: np.ndarray) -> np.ndarray:
        n_rows, n_positions, n_state = hidden.shape
        logits = np.ascontiguousarray(hidden).reshape(-1, n_state) @ self.decoder.projection
        return logits.reshape(n_rows, n_positions, -1)

    def _reserve(self, n_rows: int, length: int, headroom: int) -> None:
        """Own caches with room for ``length`` positions, and ``headroom`` more when they grow."""
        capacity = self._self_kv[0][0].shape[2] if self._self_kv else 0
        if self._self_kv and capacity >= length:
            return
        # room to grow from the start: regrowing a beam's caches copies them whole
        new_capacity = min(self.decoder.n_ctx, max(length, capacity) + headroom)
        n_state = self.decoder.projection.shape[0]
        own = self.length - self._prefix_length

        def grown(block: _Block, old: np.ndarray | None) -> np.ndarray:
            cache = np.empty((n_rows, block.n_head, new_capacity, n_state // block.n_head), dtype=np.float32)
            if old is not None:
                cache[:, :, :own] = old[:, :, :own]
            return cache

        olds = self._self_kv or [(None, None)] * len(self.decoder.blocks)
        self._self_kv = [(grown(b, k), grown(b, v)) for b, (k, v) in zip(self.decoder.blocks, olds, strict=True)]

def embedding_rows(projection: Projection, tokens: np.ndarray) -> np.ndarray:
    """The embeddings of ``tokens`` (any shape), (*tokens.shape, n_state), read as columns of
    the (n_state, n_vocab) projection."""
    if isinstance(projection, HalfMatrix):
        return projection.take_columns(tokens)
    return np.moveaxis(projection[:, tokens], 0, -1)


def projection_matrix(weight: np.ndarray) -> Projection:
    """The (n_vocab, n_state) embedding as the (n_state, n_vocab) projection: fp16 where the
    fp16 product runs here (``half_matrix``), else a contiguous fp32 copy."""
    if half_matrix.available():
        return HalfMatrix(weight.T)
    return np.ascontiguousarray(weight.T, dtype=np.float32)


def _projection(embedding: Any) -> Projection:
    """The runtime's shared projection (``vocab_projection``), else one of our own."""
    shared = getattr(embedding, "projection", None)
    if isinstance(shared, np.ndarray | HalfMatrix):
        return shared
    return projection_matrix(_np(embedding.weight))


def _moved(cache: np.ndarray, rows: np.ndarray, length: int | None = None) -> np.ndarray:
    """The cache with its rows ``rows`` (the first ``length`` positions of each, or all) as rows
    0, 1, ..., in place: only rows that change are copied, and nothing is allocated but the
    copied rows (a beam that extends its own row, or a window that keeps its place, costs
    nothing; a fresh cache of 30 beams was 47 MB of new pages a step)."""
    changed = np.flatnonzero(rows != np.arange(len(rows)))
    if changed.size:
        sources = rows[changed]  # read out first: a row may be both a source and a target
        if length is None:
            cache[changed] = cache[sources]
        else:
            cache[changed, :, :length] = cache[sources, :, :length]
    return cache[: len(rows)]

