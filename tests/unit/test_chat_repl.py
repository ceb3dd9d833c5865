"""`recagent chat` driven as a person would in a terminal (pexpect): three turns with a
refinement and a like, quit, then resume the session in a new process."""

import os
import re
import shutil
import sys

import pexpect
import pytest


@pytest.fixture
def data_dir(ingested, tmp_path):
    target = tmp_path / "data"
    shutil.copytree(ingested.data_dir, target)
    return target


def spawn(args, data_dir, cache_dir):
    env = {**os.environ, "RECAGENT_DATA_DIR": str(data_dir), "RECAGENT_CACHE_DIR": str(cache_dir),
           "COLUMNS": "200", "TERM": "dumb"}
    env.pop("RECAGENT_BASE_URL", None)
    return pexpect.spawn(sys.executable, ["-m", "agent.cli", "chat", *args], env=env, encoding="utf-8", timeout=120,
                         dimensions=(50, 200))  # a wide terminal: lines are not wrapped


def test_three_turns_quit_and_resume(data_dir, cache_dir):
    chat = spawn(["--user", "user-18", "--no-llm", "--k", "3"], data_dir, cache_dir)
    chat.expect(r"session ([0-9a-f]{12})")
    session = chat.match.group(1)
    chat.expect("you> ")
    chat.sendline("something exciting")
    chat.expect(r"agent> Here are 3 picks")
    chat.expect("you> ")
    chat.sendline("no horror, something from the 90s")
    chat.expect("you> ")  # items print as they are written, then the answer's header and hint
    assert "without Horror" in chat.before
    listed = re.findall(r"^\s*\d\. .+ — (.+?)(?: ·|\r)", chat.before, re.MULTILINE)
    assert len(listed) == 3 and all(re.search(r"\(199\d\)", t) for t in listed), chat.before
    assert chat.before.index(listed[0]) < chat.before.index("agent> Here are")
    chat.sendline("like 1")
    chat.expect(r"Noted: you liked (.+?)\.\r")
    assert chat.match.group(1) == listed[0]
    chat.expect("you> ")
    chat.sendline("quit")
    chat.expect(f"bye: session {session} is saved")
    chat.expect(pexpect.EOF)

    again = spawn(["--session", session, "--no-llm", "--k", "3"], data_dir, cache_dir)
    again.expect(f"resumed session {session} \\(3 turns so far\\)")
    again.expect("you> ")
    again.sendline("more like #1")
    again.expect(r"agent> Here are 3 picks for you \(.*without Horror")  # the constraints survived the restart
    again.expect("you> ")
    again.sendline("the 12th one")
    again.expect("there is no #12")
    again.expect("you> ")
    again.sendeof()
    again.expect(pexpect.EOF)


def test_unknown_session_is_one_line(data_dir, cache_dir):
    chat = spawn(["--session", "nope", "--no-llm"], data_dir, cache_dir)
    chat.expect(pexpect.EOF)
    assert "no session 'nope'" in chat.before and "Traceback" not in chat.before
