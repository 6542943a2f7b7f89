"""Fast mode through the preloaded library gives light mode's hashes, also across a seed change.

A child Python loads librandomx with the library preloaded (as monerod runs) and ``MONEROSIM_RANDOMX_FAST``
set, and hashes one input with a VM made for the regtest key (fast, on the machine's shared dataset),
then after the VM is given a cache of a key with no shared dataset (the light VM that stands in),
then back on the regtest key. Another child, without the library, hashes the same input in plain
light mode with each key. The hashes must be the same, and the library must have said which mode it
used.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monerosim_actors.randomx import share

pytestmark = pytest.mark.skipif(not Path("/usr/lib/x86_64-linux-gnu", share.LIBRANDOMX).exists(),
                                reason="no librandomx.so.0 (Debian package librandomx0, which monerod needs too)")

OTHER_KEY = bytes(range(32))
CHILD = r"""
import ctypes, json, sys
ctypes.CDLL("librandomx.so.0", mode=ctypes.RTLD_GLOBAL)
rx = ctypes.CDLL(None)  # the global scope, as monerod binds its calls: the preloaded library first
rx.randomx_get_flags.restype = ctypes.c_int
rx.randomx_alloc_cache.restype = ctypes.c_void_p
rx.randomx_alloc_cache.argtypes = [ctypes.c_int]
rx.randomx_init_cache.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
rx.randomx_create_vm.restype = ctypes.c_void_p
rx.randomx_create_vm.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
rx.randomx_vm_set_cache.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
rx.randomx_calculate_hash.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p]
flags = rx.randomx_get_flags()
def cache(key):
    c = rx.randomx_alloc_cache(flags)
    rx.randomx_init_cache(c, key, len(key))
    return c
def digest(vm):
    out = ctypes.create_string_buffer(32)
    rx.randomx_calculate_hash(vm, b"monerosim" * 9, 81, out)
    return out.raw.hex()
regtest, other = cache(bytes.fromhex(sys.argv[1])), cache(bytes.fromhex(sys.argv[2]))
vm = rx.randomx_create_vm(flags, regtest, None)
hashes = [digest(vm)]
rx.randomx_vm_set_cache(vm, other)
hashes.append(digest(vm))
rx.randomx_vm_set_cache(vm, regtest)
hashes.append(digest(vm))
print(json.dumps(hashes))
"""


def _child(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CHILD, share.REGTEST_SEED_KEY.hex(), OTHER_KEY.hex()],
                          env=env, capture_output=True, text=True, timeout=600, check=True)


def test_fast_mode_and_its_light_stand_in_hash_as_plain_light_mode() -> None:
    share.ensure([share.Kind.CACHE, share.Kind.DATASET])
    plain = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", share.DIR_ENV, share.FAST_ENV)}
    expected = json.loads(_child(plain).stdout)
    fast = _child({**plain, **share.monerod_environment(str(share.build()), fast=True)})
    assert json.loads(fast.stdout) == expected
    assert expected[0] == expected[2] != expected[1]
    said = fast.stderr
    assert "fast mode on the dataset for key 418015bb" in said, said
    assert f"light mode for key {OTHER_KEY[:8].hex()}" in said, said
    assert "filling a private cache" in said, "the other key has no shared cache: it is filled privately"
