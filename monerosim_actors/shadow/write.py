"""Write a plan's files into OUT, all or nothing; read them back for ``run OUT``.

Everything is written into a fresh folder next to OUT and renamed into place at the end, so an
interrupted or failed ``gen`` never leaves a half-written OUT behind. A non-empty OUT is replaced
only with ``force``, and only when gen wrote it: it holds gen's marker (``generated.json``, the list
of the files gen wrote) and nothing besides those files and what runs and analyses add
(``shadow.data/``, ``shadow.log``, ``report/``). Anything else in it, a file of the user's, makes
``--force`` refuse the whole folder: it must never delete what the user meant to keep.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator

from monerosim_actors import __version__, defaults, wallet_cert
from monerosim_actors.shadow import config as shadow_config, shim as shadow_shim
from monerosim_actors.errors import OutputError
from monerosim_actors.plan.model import PLAN_VERSION, HostPlan, Plan, host_config, read_json_file
from monerosim_actors.randomx import share as randomx_share

log = logging.getLogger(__name__)


def write_output(plan: Plan, out_dir: str, *, force: bool = False) -> str:
    """Write ``shadow.yaml``, ``plan.json``, ``hosts/HOST.json``, ``network.gml`` (when the network
    is not Shadow's switch), the Shadow compatibility shim (when the plan preloads it) and the RandomX
    sharing library (when its monerods share RandomX) into ``out_dir``; return its absolute path. The
    libraries are built (or found in their cache), and the shared RandomX files written where they
    are missing (:func:`monerosim_actors.randomx.share.ensure`), before anything is written.

    ``out_dir`` must be the folder the plan was built for (its paths are baked into the files).
    Nothing a backend chooses at run time (the local backend's time scale and addresses) goes in.

    Raises:
        OutputError: OUT is not empty (without ``force``), is not a folder, or cannot be written.
        PreloadBuildError: a library the plan preloads cannot be compiled.
        RandomxFilesError: the shared RandomX files cannot be written.
        ValueError: the plan was built for another folder (a programming error).
    """
    out = os.path.abspath(out_dir)
    _check_built_for(plan, out)
    _check_replaceable(out, force)
    shim = shadow_shim.build() if plan.shadow_compat_shim else None
    randomx = randomx_share.build() if plan.randomx != "private" else None
    certificates = wallet_cert.build() if _has_wallets(plan) else None
    ensure_randomx_files(plan)
    parent = os.path.dirname(out)
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.", suffix=".tmp", dir=parent)
    except OSError as e:
        raise OutputError(f"cannot create {parent}: {e.strerror or e}") from None
    try:
        _write_files(plan, out, tmp)
        if shim is not None:
            shutil.copyfile(shim, os.path.join(tmp, defaults.SHIM_FILE))
        if randomx is not None:
            shutil.copyfile(randomx, os.path.join(tmp, defaults.RANDOMX_FILE))
        if certificates is not None:
            shutil.copyfile(certificates, os.path.join(tmp, defaults.WALLET_CERT_FILE))
        _write_marker(tmp)
        _move_into_place(tmp, out)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"cannot write {out}: {e}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def read_output(out_dir: str) -> Plan:
    """The plan of a folder :func:`write_output` wrote, once it is checked to hold everything
    either backend needs to run it.

    Raises:
        OutputError: naming the folder and what it lacks (or what is wrong with it).
    """
    out = os.path.abspath(out_dir)
    if not os.path.isdir(out):
        raise OutputError(f"{out} is not a folder")
    missing = [name for name in (defaults.PLAN_FILE, defaults.SHADOW_FILE)
               if not os.path.isfile(os.path.join(out, name))]
    if not os.path.isdir(os.path.join(out, defaults.HOSTS_DIR)):
        missing.append(defaults.HOSTS_DIR + "/")
    if missing:
        raise OutputError(f"{out} is not a folder `monerosim-actors gen` wrote: it has no {' and no '.join(missing)} "
                          "(write one with `monerosim-actors gen CONFIG -o OUT`, or give `run` the scenario file)")
    try:
        plan = read_json_file(Plan, os.path.join(out, defaults.PLAN_FILE))
    except ValueError as e:
        raise OutputError(f"{e}: generate {out} again") from None
    try:
        _check_built_for(plan, out)
    except ValueError as e:
        raise OutputError(f"{e}: generate it again where it is") from None
    lacking = [os.path.join(defaults.HOSTS_DIR, f"{h.name}.json") for h in plan.hosts
               if not os.path.isfile(os.path.join(out, defaults.HOSTS_DIR, f"{h.name}.json"))]
    if plan.shadow_compat_shim and not os.path.isfile(os.path.join(out, defaults.SHIM_FILE)):
        lacking.append(defaults.SHIM_FILE)
    if plan.randomx != "private" and not os.path.isfile(os.path.join(out, defaults.RANDOMX_FILE)):
        lacking.append(defaults.RANDOMX_FILE)
    if _has_wallets(plan) and not os.path.isfile(os.path.join(out, defaults.WALLET_CERT_FILE)):
        lacking.append(defaults.WALLET_CERT_FILE)
    if lacking:
        more = f" and {len(lacking) - 3} more" if len(lacking) > 3 else ""
        raise OutputError(f"{out} is incomplete: it has no {', '.join(lacking[:3])}{more}: generate it again")
    return plan


def _has_wallets(plan: Plan) -> bool:
    return any(h.wallet is not None for h in plan.hosts)


def ensure_randomx_files(plan: Plan) -> None:
    """The shared RandomX files the plan's monerods map, written where they are missing or invalid
    (gen, and each backend before it starts a run: a file deleted since, or another machine).

    Raises:
        PreloadBuildError, RandomxFilesError: see :func:`monerosim_actors.randomx.share.ensure`.
    """
    randomx_share.ensure(randomx_share.Kind[name.upper()] for name in plan.randomx_files)


def _check_built_for(plan: Plan, out: str) -> None:
    """The plan's processes name files in OUT; writing it elsewhere would point them at nothing."""
    expected = os.path.join(out, defaults.HOSTS_DIR, f"{plan.hosts[0].name}.json")
    if expected not in plan.hosts[0].processes[0].args:
        raise ValueError(f"the plan was built for another folder than {out}")


def _check_replaceable(out: str, force: bool) -> None:
    """OUT may be written: it does not exist, is empty, or (with ``force``) holds only gen's output."""
    if not os.path.lexists(out):
        return
    if not os.path.isdir(out) or os.path.islink(out):
        raise OutputError(f"{out} exists and is not a folder")
    if not os.listdir(out):
        return
    if not force:
        raise OutputError(f"{out} is not empty; choose another folder or pass --force to replace it")
    foreign = _not_written_by_gen(out, _files_gen_wrote(out))
    if foreign:
        more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        raise OutputError(f"{out} holds what gen did not write: {', '.join(foreign[:5])}{more}; --force replaces "
                          f"only gen's files and what runs add ({', '.join(defaults.RUN_OUTPUTS)}), so it will "
                          "not delete this folder: move those out of it, or choose another folder")


def _files_gen_wrote(out: str) -> set[str]:
    """The files (relative to OUT) gen's marker lists.

    Raises:
        OutputError: OUT has no marker (gen did not write it) or the marker is not gen's.
    """
    marker = os.path.join(out, defaults.GEN_MARKER_FILE)
    try:
        with open(marker, encoding="utf-8") as f:
            files = json.load(f)["files"]
    except FileNotFoundError:
        raise OutputError(f"{out} is not empty and has no {defaults.GEN_MARKER_FILE}: it is not a folder gen wrote "
                          "(or gen wrote it before it kept that list of its files), so --force will not "
                          "delete it; choose another folder, or move what you need out of it and remove it") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise OutputError(f"{marker} cannot be read as gen's list of files ({type(e).__name__}: {e}), so --force "
                          f"will not delete {out}; choose another folder or remove it yourself") from None
    if not isinstance(files, list) or not all(isinstance(name, str) for name in files):
        raise OutputError(f"{marker}: 'files' is not a list of file names, so --force will not delete {out}")
    return set(files)


def _not_written_by_gen(out: str, files: set[str]) -> list[str]:
    """What OUT holds besides gen's files, its marker, and what runs add (sorted, folders with a /)."""
    folders = {parent for name in files for parent in _parents(name)}
    expected = files | {defaults.GEN_MARKER_FILE}
    foreign = []
    for root, dirs, names in os.walk(out):
        rel = os.path.relpath(root, out)
        rel = "" if rel == "." else rel
        if not rel:
            dirs[:] = [d for d in dirs if d not in defaults.RUN_OUTPUTS]
            names = [n for n in names if n not in defaults.RUN_OUTPUTS]
        foreign += [os.path.join(rel, d) + "/" for d in dirs if os.path.join(rel, d) not in folders]
        dirs[:] = [d for d in dirs if os.path.join(rel, d) in folders]
        foreign += [os.path.join(rel, n) for n in names if os.path.join(rel, n) not in expected]
    return sorted(foreign)


def _parents(name: str) -> Iterator[str]:
    """The folders above a relative path, nearest first: ``a/b/c`` -> ``a/b``, ``a``."""
    while name := os.path.dirname(name):
        yield name


def _write_files(plan: Plan, out: str, tmp: str) -> None:
    """Every file, with OUT's paths inside but written under ``tmp``.

    Host configs are most of the work for big scenarios (10,000 JSON files), so above
    :data:`PARALLEL_MIN_HOSTS` hosts forked children (one per core but one) write them while this
    process writes ``plan.json`` and ``shadow.yaml``, which take about as long. The files are the
    same either way.
    """
    hosts_dir = os.path.join(tmp, defaults.HOSTS_DIR)
    os.mkdir(hosts_dir)
    workers = _workers(len(plan.hosts))
    children = []
    if workers > 1:
        slices = [plan.hosts[i::workers - 1] for i in range(workers - 1)]
        children = [_fork(lambda part=part: _write_host_configs(plan, part, hosts_dir))
                    for part in slices]
    try:
        _write(os.path.join(tmp, defaults.SHADOW_FILE), shadow_config.render(plan, out))
        _write(os.path.join(tmp, defaults.PLAN_FILE), plan.to_json())
        if plan.network.gml is not None:
            _write(os.path.join(tmp, defaults.GML_FILE), plan.network.gml)
        if not children:
            _write_host_configs(plan, plan.hosts, hosts_dir)
    finally:
        failed = [pid for pid in children if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0]
    if failed:
        raise OutputError(f"{len(failed)} of the processes writing host configs into {out} failed")


def _write_marker(tmp: str) -> None:
    """gen's marker, written last: every file under ``tmp``, which ``--force`` may later replace."""
    files = sorted(os.path.relpath(os.path.join(root, name), tmp)
                   for root, _, names in os.walk(tmp) for name in names)
    _write(os.path.join(tmp, defaults.GEN_MARKER_FILE),
           json.dumps({"written_by": f"monerosim-actors {__version__} gen", "plan_version": PLAN_VERSION,
                       "files": files}, indent=1) + "\n")


PARALLEL_MIN_HOSTS = 2000


def _workers(hosts: int) -> int:
    """How many processes write host configs: one, unless there are many hosts, several cores, and
    no other threads (forking a threaded process is unsafe)."""
    if hosts < PARALLEL_MIN_HOSTS or threading.active_count() > 1:
        return 1
    return max(1, min(os.cpu_count() or 1, 5))


def _fork(job: Callable[[], None]) -> int:
    """Run ``job`` in a forked child; its exit code says whether it worked."""
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        job()
    except BaseException as e:  # noqa: BLE001 - the child reports and exits, whatever happened
        print(f"monerosim-actors gen: writing host configs failed: {e}", file=sys.stderr, flush=True)
        code = 1
    os._exit(code)


def _write_host_configs(plan: Plan, hosts: tuple[HostPlan, ...], hosts_dir: str) -> None:
    for host in hosts:
        _write(os.path.join(hosts_dir, f"{host.name}.json"),
               host_config(plan, host).to_json())


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def _move_into_place(tmp: str, out: str) -> None:
    """Rename ``tmp`` to ``out``; an existing (checked) ``out`` is moved aside first, then deleted."""
    os.chmod(tmp, 0o755)
    if not os.path.lexists(out):
        os.rename(tmp, out)
        return
    old = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.", suffix=".old", dir=os.path.dirname(out))
    os.rmdir(old)
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except OSError:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
    log.debug("replaced the earlier output in %s", out)
