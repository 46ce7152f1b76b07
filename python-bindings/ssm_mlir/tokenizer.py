"""A checkpoint's tokenizer: text to token ids and back."""
import os

import numpy as np

from . import _ssm_mlir


class Tokenizer:
    """The byte-level BPE tokenizer of a Hugging Face checkpoint's
    tokenizer.json (Mamba's: GPT-NeoX's), in C++ (docs/tokenizer.md).

        tok = Tokenizer.from_pretrained("path/to/checkpoint")  # or the file
        ids = tok.encode("Mamba is a")     # [list of ints]
        tok.decode(lm.generate(ids, 20))   # the prompt and what followed

    encode gives the ids of `tokenizers`' Tokenizer.encode with the special
    tokens of its post-processor (transformers' `tokenizer(text).input_ids`);
    decode gives the text of ids, invalid UTF-8 (a character cut between
    tokens) as U+FFFD. A tokenizer.json of another kind raises
    ssm_mlir.Error naming the field."""

    def __init__(self, core, path):
        self._core = core
        self.path = path

    @classmethod
    def from_pretrained(cls, path):
        path = os.fspath(path)
        file = os.path.join(path, "tokenizer.json") if os.path.isdir(
            path) else path
        return cls(_ssm_mlir.Tokenizer.load(file), file)

    @property
    def vocab_size(self):
        """One more than the largest token id."""
        return self._core.vocab_size

    def token_to_id(self, token):
        """The id of a token (byte-level form, or an added token as
        written), or None."""
        i = self._core.token_id(token)
        return None if i < 0 else i

    def encode(self, text):
        """The token ids of a string, a list of ints."""
        if not isinstance(text, str):
            raise TypeError("encode takes a str, got %s" % type(text).__name__)
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as e:
            # A lone surrogate has no UTF-8.
            raise ValueError("encode: the text has no UTF-8 form (%s)" % e) \
                from None
        return self._core.encode(data)

    def decode(self, ids, skip_special_tokens=False):
        """The text of token ids (a sequence or a 1-D integer array)."""
        a = np.asarray(ids)
        if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
            raise ValueError("decode takes a 1-D sequence of token ids, got "
                             "shape %s dtype %s" % (a.shape, a.dtype))
        return self._core.decode([int(i) for i in a], skip_special_tokens)

    def __repr__(self):
        return "<ssm_mlir.Tokenizer %s, %d tokens>" % (self.path,
                                                       self.vocab_size)
