"""A snippet run in a child process whose address space (``RLIMIT_AS``) is capped at what the
process maps after its imports and a warm-up call, plus some headroom: an allocation the engine
cannot make then fails for sure (without the cap, Linux's overcommit may grant it and kill the
process later). Measured after ``import torch`` too, whose CUDA builds map gigabytes at import.

The child reports, as one JSON line: the exception the big call raised (or ``ok``), its message,
and whether a small call afterwards worked (the interpreter survived)."""
import json
import subprocess
import sys
import textwrap

CHILD = r'''
import json, resource, sys
{setup}
def vm_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")
before = vm_bytes()
soft, hard = resource.getrlimit(resource.RLIMIT_AS)
resource.setrlimit(resource.RLIMIT_AS, (before + {headroom}, hard))
result = {{"vm_before": before}}
try:
{body}
    result["outcome"] = "ok"
except BaseException as e:  # pyo3's PanicException is a BaseException
    result["outcome"] = type(e).__name__
    result["mro"] = [c.__name__ for c in type(e).__mro__]
    result["message"] = str(e)
try:
{after}
    result["after"] = "ok"
except BaseException as e:
    result["after"] = type(e).__name__ + ": " + str(e)
print("RESULT " + json.dumps(result), flush=True)
'''


def run_capped(setup, body, after, headroom=256 << 20, timeout=300):
    """Runs ``setup`` (imports, a warm-up call), caps the address space at its VmSize plus
    ``headroom`` bytes, runs ``body`` and then ``after``; returns ``(returncode, result, stderr)``
    with ``result`` the child's report (``None`` if it died before reporting)."""
    indent = lambda s: textwrap.indent(textwrap.dedent(s), "    ")
    src = CHILD.format(setup=textwrap.dedent(setup), headroom=int(headroom), body=indent(body),
                       after=indent(after))
    p = subprocess.run([sys.executable, "-c", src], capture_output=True, text=True,
                       timeout=timeout)
    result = None
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
    return p.returncode, result, p.stderr


def assert_memory_error(rc, result, stderr, bytes_asked):
    """The child raised ``MemoryError`` naming ``bytes_asked``, survived, and exited cleanly."""
    assert rc == 0 and result is not None, f"the child died (rc {rc}): {stderr[-2000:]}"
    assert result["outcome"] == "MemoryError", result
    assert f"cannot allocate {bytes_asked} bytes" in result["message"], result
    assert result["after"] == "ok", result
