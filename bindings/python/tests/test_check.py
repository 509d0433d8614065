from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, List

import pytest

import lifesign
from lifesign import ErrorCode, LifesignError, Report, Shape, State, Verdict
from support import VECTORS, ChildEmitter, child_env, poll_until

QUIET = 3600.0
CASES_FILE = VECTORS / "cases.json"


def _load_cases() -> List[Any]:
    try:
        with open(CASES_FILE, encoding="utf-8") as f:
            cases = json.load(f)
    except FileNotFoundError:
        return [pytest.param(None, id="cases.json-missing")]
    return [pytest.param(case, id=case["name"]) for case in cases]


# Every key a case, or its facts, may have: a key this runner does not know
# fails it rather than being skipped.
CASE_KEYS = {"name", "file", "max_age_ms", "expected_pid", "stall_ms", "verdict", "state", "shape", "updated_at_ms", "facts"}
FACTS_KEYS = {"now_ms", "mono_ms", "host", "boot_id", "pid_ns", "time_ns", "lock", "process", "process_start"}
JUDGED: "set[str]" = set()


def _judge_vector(case: "dict[str, Any]") -> Report:
    """A case with facts: its file's bytes (None when there is no file) under those facts."""
    facts = case["facts"]
    assert set(facts) <= FACTS_KEYS, "unknown facts: %s" % (set(facts) - FACTS_KEYS)
    try:
        record: "bytes | None" = (VECTORS / case["file"]).read_bytes()
    except FileNotFoundError:
        record = None
    JUDGED.add(case["name"])
    stall_ms = case["stall_ms"]
    return lifesign.judge(
        record,
        lifesign.Facts(**facts),
        max_age=case["max_age_ms"] / 1000.0,
        pid=case["expected_pid"],
        stall=stall_ms / 1000.0 if stall_ms else None,
    )


@pytest.mark.parametrize("case", _load_cases())
def test_shared_vector_gives_the_expected_verdict_state_and_shape(case: "dict[str, Any] | None") -> None:
    assert case is not None, "the shared test vectors are missing: %s" % CASES_FILE
    assert set(case) <= CASE_KEYS, "unknown keys: %s" % (set(case) - CASE_KEYS)
    path = VECTORS / case["file"]
    stall_ms = case["stall_ms"]
    if "facts" in case:
        report = _judge_vector(case)
    else:
        report = lifesign.check(
            path,
            max_age=case["max_age_ms"] / 1000.0,
            pid=case["expected_pid"],
            stall=stall_ms / 1000.0 if stall_ms else None,
        )
    assert report.verdict.value == case["verdict"]
    assert (report.state.value if report.state is not None else None) == case["state"]
    assert report.shape.value == case["shape"]
    if "updated_at_ms" in case:
        assert report.updated_at_ms == case["updated_at_ms"]


def test_every_facts_vector_was_judged() -> None:
    with open(CASES_FILE, encoding="utf-8") as f:
        want = {c["name"] for c in json.load(f) if "facts" in c}
    assert len(want) >= 60
    assert JUDGED == want


def test_judge_takes_bytes_or_none_and_refuses_bad_facts() -> None:
    record = b'{"v":1,"pid":4242,"state":"ready","seq":1,"updated_at_ms":1000}'
    report = lifesign.judge(record, lifesign.Facts(now_ms=1500, process=lifesign.ProcessState.RUNNING))
    assert (report.verdict, report.age) == (Verdict.ALIVE, 0.5)
    assert lifesign.judge(record, lifesign.Facts(now_ms=1500, process="exited")).verdict is Verdict.PROCESS_GONE
    assert lifesign.judge(None, lifesign.Facts()).verdict is Verdict.MISSING
    assert lifesign.judge(b"", lifesign.Facts()).verdict is Verdict.INVALID
    with pytest.raises(LifesignError, match="lock must be one of"):
        lifesign.judge(record, lifesign.Facts(lock="locked"))
    with pytest.raises(LifesignError, match="NUL"):
        lifesign.judge(record, lifesign.Facts(host="a\0b"))
    with pytest.raises(TypeError):
        lifesign.judge("text", lifesign.Facts())  # type: ignore[arg-type]


def test_shared_vectors_cover_every_verdict_but_missing_and_every_shape() -> None:
    # "missing" needs no file; test_missing_file_gives_missing_with_no_state covers it.
    with open(CASES_FILE, encoding="utf-8") as f:
        cases = json.load(f)
    assert {c["verdict"] for c in cases} >= {v.value for v in Verdict} - {"missing"}
    assert {c["shape"] for c in cases} >= {s.value for s in Shape}


def test_report_is_a_frozen_dataclass(hb_path: Path) -> None:
    import dataclasses

    report = lifesign.check(hb_path)
    assert dataclasses.is_dataclass(report)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.seq = 5  # type: ignore[misc]


def test_missing_file_gives_missing_with_no_state(hb_path: Path) -> None:
    report = lifesign.check(hb_path)
    assert report.verdict is Verdict.MISSING
    assert report.state is None
    assert report.shape is Shape.NONE
    assert report.detail.strip(), "an invalid file carries its reason"
    assert not report.alive
    assert lifesign.is_alive(hb_path) is False


def test_garbage_file_gives_invalid(hb_path: Path) -> None:
    hb_path.write_text("this is not a heartbeat")
    report = lifesign.check(hb_path)
    assert report.verdict is Verdict.INVALID
    assert report.state is None
    assert report.shape is Shape.NONE


def test_live_emitter_gives_alive_and_is_alive(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET) as hb:
        hb.set_state(State.READY, "serving")
        report = lifesign.check(hb_path, pid=os.getpid())
        assert report.verdict is Verdict.ALIVE
        assert report.alive
        assert report.state is State.READY
        assert report.message == "serving"
        assert report.age >= 0
        assert report.updated_at_ms > 0
        assert lifesign.is_alive(hb_path) is True
        assert lifesign.is_alive(hb_path, max_age=3600) is True


def test_other_expected_pid_gives_pid_mismatch(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET):
        report = lifesign.check(hb_path, pid=1)
        assert report.verdict is Verdict.PID_MISMATCH
        assert report.pid == os.getpid()


def test_old_heartbeat_of_a_live_process_gives_stale(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET):
        report = poll_until(
            lambda: _if(lifesign.check(hb_path, max_age=0.001), Verdict.STALE), "a stale verdict"
        )
        assert report.max_age == 0.001
        assert report.age > 0.001
        assert lifesign.is_alive(hb_path, max_age=0.001) is False


def test_old_progress_gives_stalled_only_with_stall(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET) as hb:
        hb.progress()
        hb.beat()
        report = poll_until(
            lambda: _if(lifesign.check(hb_path, max_age=QUIET, stall=0.001), Verdict.STALLED),
            "a stalled verdict",
        )
        assert report.progress == 1
        assert report.progress_age is not None and report.progress_age > 0.001
        assert lifesign.check(hb_path, max_age=QUIET).verdict is Verdict.ALIVE


def test_stopped_emitter_gives_stopped(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET):
        pass
    report = lifesign.check(hb_path)
    assert report.verdict is Verdict.STOPPED
    assert report.state is State.STOPPED


def test_failed_state_gives_failed(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET) as hb:
        hb.set_state(State.FAILED, "cannot bind")
        report = lifesign.check(hb_path)
        assert report.verdict is Verdict.FAILED
        assert report.message == "cannot bind"


def test_heartbeat_of_a_dead_child_gives_process_gone(hb_path: Path) -> None:
    child = ChildEmitter(hb_path)
    try:
        assert lifesign.check(hb_path, pid=child.pid).verdict is Verdict.ALIVE
        child.send("exit")
        assert child.proc.wait() == 0
        report = lifesign.check(hb_path, pid=child.pid)
        assert report.verdict is Verdict.PROCESS_GONE
        assert report.pid == child.pid
    finally:
        child.close()


def _own_start_time() -> int:
    with open("/proc/self/stat", encoding="utf-8") as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


def test_a_kill_9_emitter_reads_process_gone_through_its_lifetime_lock(hb_path: Path) -> None:
    child = ChildEmitter(hb_path)
    try:
        record = json.loads(hb_path.read_bytes())
        assert "lock_ino" in record
        child.proc.kill()
        child.proc.wait()
        # As if the PID were reused within one clock tick: the record now
        # names a live process (this one) with its very start time, so only
        # the lock, released by the kernel at the kill, can tell.
        record["pid"] = os.getpid()
        record["pid_start"] = _own_start_time()
        tmp = hb_path.with_name(hb_path.name + ".new")
        tmp.write_text(json.dumps(record))
        os.replace(tmp, hb_path)
        assert lifesign.check(hb_path).verdict is Verdict.PROCESS_GONE
        del record["lock_ino"]
        tmp.write_text(json.dumps(record))
        os.replace(tmp, hb_path)
        assert lifesign.check(hb_path).verdict is Verdict.ALIVE
    finally:
        child.close()


def test_check_accepts_str_bytes_and_pathlike(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET):
        for p in (hb_path, str(hb_path), os.fsencode(str(hb_path))):
            assert lifesign.check(p).verdict is Verdict.ALIVE


def test_negative_expected_pid_is_refused_by_the_library(hb_path: Path) -> None:
    with pytest.raises(LifesignError) as info:
        lifesign.check(hb_path, pid=-5)
    assert info.value.code == ErrorCode.INVALID_ARGUMENT
    assert info.value.name == "LIFESIGN_ERR_INVALID_ARGUMENT"
    assert "-5" in info.value.message


def test_non_utf8_path_is_refused_by_the_library(tmp_path: Path) -> None:
    bad = os.fsencode(str(tmp_path)) + b"/\xfe.json"
    with pytest.raises(LifesignError) as info:
        lifesign.check(bad)
    assert info.value.code == ErrorCode.INVALID_ARGUMENT
    with pytest.raises(LifesignError):
        lifesign.is_alive(bad)


@pytest.mark.parametrize("kwargs", [{"max_age": -1}, {"stall": float("nan")}, {"pid": "12"}])
def test_check_rejects_bad_arguments(hb_path: Path, kwargs: "dict[str, Any]") -> None:
    with pytest.raises((ValueError, TypeError)):
        lifesign.check(hb_path, **kwargs)


def _if(report: Report, verdict: Verdict) -> "Report | None":
    return report if report.verdict is verdict else None


_OUT_OF_DESCRIPTORS = r"""
import errno, json, os, resource, sys
import lifesign
# Under a limit of 256 descriptors, so that running out is quick.
resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
path, none = sys.argv[1], sys.argv[2]
lifesign.check(path)  # the library is loaded before the descriptors run out
held = []
try:
    while True:
        held.append(os.open("/dev/null", os.O_RDONLY))
except OSError as e:
    assert e.errno == errno.EMFILE, e
out = {}
try:
    lifesign.check(path)
    out["check"] = "a verdict"
except lifesign.LifesignError as e:
    out["check"] = [int(e.code), e.name, e.message]
try:
    lifesign.is_alive(path)
    out["is_alive"] = "a verdict"
except lifesign.LifesignError as e:
    out["is_alive"] = e.name
out["missing"] = lifesign.check(none).verdict.value
for fd in held:
    os.close(fd)
print(json.dumps(out))
"""


def test_a_reader_out_of_descriptors_gets_an_error_not_a_verdict(hb_path: Path) -> None:
    import subprocess
    import sys

    child = ChildEmitter(hb_path)
    try:
        child.do("ready")
        res = subprocess.run(
            [sys.executable, "-c", _OUT_OF_DESCRIPTORS, str(hb_path), str(hb_path) + ".none"],
            capture_output=True,
            text=True,
            timeout=60,
            env=child_env(),
        )
    finally:
        child.close()
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    code, name, message = out["check"]
    assert code == ErrorCode.CANNOT_TELL and name == "LIFESIGN_ERR_CANNOT_TELL", out
    assert "Too many open files" in message
    assert out["is_alive"] == "LIFESIGN_ERR_CANNOT_TELL"
    assert out["missing"] == "missing"
